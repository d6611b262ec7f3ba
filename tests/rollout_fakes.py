"""Support for the rollout tests: a fleet in the cache, a clock, and a recording `SiteWork`.

The fleet goes in through storage.security as a refresh and a feed poll would write it; the
fake work records every call, counts how many sites (and per engine) are inside a step at
once, and takes per-site behaviours (no fix, a failing step, a slow step).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from triage.core.jobs.reporting import Reporter
from triage.core.security.site_update import Audit, NoFix, UpdateFailed
from triage.core.sites.inventory import Environment, Inventory, Site
from triage.storage import outbox
from triage.storage import rollouts as store
from triage.storage import security as rows
from triage.storage.models import Advisory, SiteLock, SitePackage

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
CORE = "drupal/core"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def engine_url(number: int) -> str:
    """The docker_host of engine `number`."""
    return f"tcp://engine-{number}:2375"


def make_site(site_id: str, package: str = "", engine: int = 0) -> Site:
    """A site whose dev and test environments run on engine `number`."""

    def env(name: str) -> Environment:
        return Environment(
            docker_host=engine_url(engine), web_container=f"{site_id}-{name}-web",
            db_container=f"{site_id}-{name}-db", url=f"http://{site_id}.{name}.example",
        )  # fmt: skip

    return Site(
        id=site_id, name=f"Site {site_id}", client=site_id.split("-")[0], package=package,
        repo=f"/remotes/{site_id}.git", checkout=f"/checkouts/{site_id}",
        envs={"dev": env("dev"), "test": env("test"), "prod": env("prod")},
    )  # fmt: skip


def inventory_of(sites: Iterable[Site]) -> Inventory:
    """An inventory of these sites."""
    return Inventory(sites={site.id: site for site in sites})


def save_fleet(engine: Engine, versions: dict[str, str], package: str = CORE) -> None:
    """What each site's composer.lock pins of `package`, as a fleet refresh records it."""
    with Session(engine) as session:
        for site, version in versions.items():
            lock = SiteLock(site=site, ref="main", commit="c0ffee" * 6 + "abcd", read_at=T0)
            pins = [SitePackage(site=site, ref="main", name=package, version=version)]
            rows.save_lock(session, lock, pins)
        session.commit()


def save_advisory(
    engine: Engine, advisory_id: str, affected: str, severity: str = "critical",
    package: str = CORE, kind: str = "advisory",
) -> Advisory:  # fmt: skip
    """An advisory in the cache, as a feed poll records it."""
    advisory = Advisory(id=advisory_id, package=package, affected=affected, severity=severity,
                        kind=kind, source="test", reported_at=T0)  # fmt: skip
    rows.save_advisories(engine, [advisory.model_copy()])
    return advisory


def adopt_all(engine: Engine, first: int = 100) -> dict[str, str]:
    """Give every placeholder ticket of the rollouts a Jira key, as a push does; old → new."""
    renamed: dict[str, str] = {}
    placeholders = [r.ticket_key for r in store.rollouts(engine)]
    placeholders += [r.ticket_key for r in store.site_rows(engine)]
    for number, key in enumerate(k for k in placeholders if k and k.startswith("NEW-")):
        renamed[key] = f"SUP-{first + number}"
        outbox.adopt_created(engine, key, renamed[key], str(first + number))
    return renamed


def lock_with(version: str, package: str = CORE) -> str:
    """A composer.lock pinning `package` at `version`."""
    return json.dumps({"packages": [{"name": package, "version": version}]})


@dataclass
class Behaviour:
    """What the fake does for one site."""

    no_fix: bool = False
    """composer update refuses (Composer's reason)."""
    keeps: str = ""
    """composer update leaves the package at this (still affected) version."""
    fail_at: str = ""
    """This step raises UpdateFailed (while `failures` lasts)."""
    failures: int = 1
    slow: float = 0.0
    """Seconds the clone step takes."""


@dataclass
class Recorder:
    """Every call of every fake work, and how many sites were inside a step at once."""

    engines: dict[str, str]
    """Site → its engine."""
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    new_version: str = "10.4.9"
    step_seconds: float = 0.0
    calls: list[tuple[str, str]] = field(default_factory=list)
    active: Counter[str] = field(default_factory=Counter)
    peak: int = 0
    peak_engine: Counter[str] = field(default_factory=Counter)
    gate: int = 0
    """The first `gate` clones wait (bounded) until `gate_size` sites were in a step at once."""
    gate_size: int = 0
    lock: threading.Condition = field(default_factory=threading.Condition)

    def steps_of(self, site: str) -> list[str]:
        """The calls made for one site, in order."""
        with self.lock:
            return [step for who, step in self.calls if who == site]

    def starts(self) -> list[str]:
        """The sites in the order their first step ran."""
        with self.lock:
            return [who for who, step in self.calls if step == "open_branch"]

    def enter(self, site: str, step: str) -> None:
        engine = self.engines[site]
        with self.lock:
            self.calls.append((site, step))
            self.active[engine] += 1
            self.peak = max(self.peak, self.active.total())
            self.peak_engine[engine] = max(self.peak_engine[engine], self.active[engine])
            self.lock.notify_all()
            if step == "clone_prod" and self.gate > 0:
                self.gate -= 1
                waited = self.lock.wait_for(lambda: self.peak >= self.gate_size, timeout=10)
                assert waited, "the scheduler never filled its slots"

    def leave(self, site: str) -> None:
        with self.lock:
            self.active[self.engines[site]] -= 1
            self.lock.notify_all()


class FakeWork:
    """A `SiteWork` that records its calls and does what each site's behaviour says."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder
        self.closed = False

    def _do(self, site: Site, step: str) -> Behaviour:
        behaviour = self.recorder.behaviours.get(site.id, Behaviour())
        self.recorder.enter(site.id, step)
        try:
            seconds = self.recorder.step_seconds
            if step == "clone_prod":
                seconds += behaviour.slow
            if seconds:
                time.sleep(seconds)
            if behaviour.fail_at == step and behaviour.failures > 0:
                behaviour.failures -= 1
                raise UpdateFailed(f"{step} failed on {site.id}: the smoke check answered 500")
        finally:
            self.recorder.leave(site.id)
        return behaviour

    def open_branch(self, site: Site, branch: str, reporter: Reporter) -> None:
        self._do(site, "open_branch")

    def composer_update(
        self, site: Site, branch: str, packages: list[str], reporter: Reporter
    ) -> dict[str, str]:
        behaviour = self._do(site, "composer_update")
        if behaviour.no_fix:
            raise NoFix("drupal/core 10.4.9 requires php >=8.3 but your php version is 8.1")
        version = behaviour.keeps or self.recorder.new_version
        return {"composer.json": "{}", "composer.lock": lock_with(version, packages[0])}

    def commit(
        self, site: Site, branch: str, files: dict[str, str], message: str, reporter: Reporter
    ) -> None:
        self._do(site, "commit")

    def audit(self, site: Site, reporter: Reporter) -> Audit:
        self._do(site, "audit")
        return Audit(0, "No security vulnerability advisories found.")

    def push(self, site: Site, branch: str, reporter: Reporter) -> str:
        self._do(site, "push")
        return "0123456789abcdef"

    def clone_prod(self, site: Site, env: str, reporter: Reporter) -> None:
        self._do(site, "clone_prod")

    def deploy_test(self, site: Site, branch: str, reporter: Reporter) -> list[str]:
        self._do(site, "deploy_test")
        return ["smoke: 1 checks passed"]

    def release(self, site: Site, branch: str, key: str, reporter: Reporter) -> str:
        self._do(site, "release")
        return f"Security update deployed to production of {site.id}."

    def close(self) -> None:
        self.closed = True
