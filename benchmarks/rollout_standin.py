"""The rollout benchmark's fleet: N sites on a few engines, and an engine stand-in.

The stand-in is a `SiteWork` whose steps sleep fixed times (10-60 ms, times a scale; every
tenth site's clone of prod takes 500 ms more, and those sites are served first), so the
figures measure Triage's orchestration and bookkeeping, not Docker. The fleet is a real
SQLite cache with each site's composer.lock read, one critical advisory, and the rollout
started with its tickets given Jira keys (as a push would).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from sqlmodel import Session

from triage.core.board.service import Board
from triage.core.config import load_settings
from triage.core.jobs.reporting import Reporter
from triage.core.security.rollout import start_rollout
from triage.core.security.site_update import Audit
from triage.core.sites.inventory import Environment, Inventory, Site
from triage.storage import outbox
from triage.storage import rollouts as store
from triage.storage import security as rows
from triage.storage.db import open_cache, sqlite_url
from triage.storage.models import Advisory, SiteLock, SitePackage

SA = "SA-CORE-2026-BENCH"
CORE = "drupal/core"
STEP_MS = {"open_branch": 10, "composer_update": 60, "commit": 10, "audit": 30, "push": 20,
           "clone_prod": 50, "deploy_test": 60}  # fmt: skip
LONG_CLONE_MS = 500
"""Added to the clone of every tenth site (a bigger database)."""
PACKAGES = ("Platinum", "Gold", "Silver")
LOCK = json.dumps({"packages": [{"name": CORE, "version": "10.4.9"}]})


def long_clone(site_id: str) -> bool:
    """Every tenth site has a bigger database."""
    return int(site_id[-3:]) % 10 == 0


def step_ms(site_id: str, step: str, scale: float) -> float:
    """How long the stand-in takes for one step of one site, its times multiplied by `scale`."""
    extra = LONG_CLONE_MS if step == "clone_prod" and long_clone(site_id) else 0
    return (STEP_MS[step] + extra) * scale


def durations_of(inventory: Inventory, scale: float) -> dict[str, float]:
    """Each site's work in seconds: the sum of its steps."""
    return {site: sum(step_ms(site, step, scale) for step in STEP_MS) / 1000
            for site in inventory.sites}  # fmt: skip


class StandIn:
    """An engine stand-in: every step sleeps its fixed time (times `scale`)."""

    scale: ClassVar[float] = 1.0

    def _sleep(self, site: Site, step: str) -> None:
        time.sleep(step_ms(site.id, step, self.scale) / 1000)

    def all_steps(self, site: Site) -> None:
        """Every step, one after another (the baseline's job)."""
        for step in STEP_MS:
            self._sleep(site, step)

    def open_branch(self, site: Site, branch: str, reporter: Reporter) -> None:
        self._sleep(site, "open_branch")

    def composer_update(
        self, site: Site, branch: str, packages: list[str], reporter: Reporter
    ) -> dict[str, str]:
        self._sleep(site, "composer_update")
        return {"composer.json": "{}", "composer.lock": LOCK}

    def commit(
        self, site: Site, branch: str, files: dict[str, str], message: str, reporter: Reporter
    ) -> None:
        self._sleep(site, "commit")

    def audit(self, site: Site, reporter: Reporter) -> Audit:
        self._sleep(site, "audit")
        return Audit(0, "No security vulnerability advisories found.")

    def push(self, site: Site, branch: str, reporter: Reporter) -> str:
        self._sleep(site, "push")
        return "0" * 40

    def clone_prod(self, site: Site, env: str, reporter: Reporter) -> None:
        self._sleep(site, "clone_prod")

    def deploy_test(self, site: Site, branch: str, reporter: Reporter) -> list[str]:
        self._sleep(site, "deploy_test")
        return ["smoke: 1 checks passed"]

    def release(self, site: Site, branch: str, key: str, reporter: Reporter) -> str:
        return "not used: the benchmark's sites stop on their test site"

    def close(self) -> None:
        return None


@dataclass
class Fleet:
    """A started rollout, its tickets in Jira, ready to run."""

    board: Board
    inventory: Inventory
    start_seconds: float


def _site(number: int, engines: int) -> Site:
    site_id = f"site-{number:03}"
    host = f"tcp://engine-{number % engines}:2375"
    envs = {
        name: Environment(docker_host=host, web_container=f"{site_id}-{name}-web",
                          db_container=f"{site_id}-{name}-db", url=f"http://{site_id}.{name}")
        for name in ("dev", "test", "prod")
    }  # fmt: skip
    # The sites with a long clone are Platinum, so they are served first (no long tail).
    package = PACKAGES[0] if long_clone(site_id) else PACKAGES[1 + number % 2]
    return Site(id=site_id, name=site_id, client=f"client{number}",
                package=package, repo=f"/remotes/{site_id}.git",
                checkout=f"/checkouts/{site_id}", envs=envs)  # fmt: skip


def make_fleet(
    folder: Path, sites: int, engines: int, max_parallel: int, per_engine: int, start: bool = True
) -> Fleet:
    """A cache in `folder` with the fleet read, the advisory known and the rollout started."""
    rollout = {"max_parallel": max_parallel, "per_engine": per_engine,
               "package_order": list(PACKAGES)}  # fmt: skip
    settings = load_settings(folder / "absent.toml", data_dir=str(folder),
                             jira={"projects": ["SUP"]}, security={"rollout": rollout})  # fmt: skip
    engine = open_cache(sqlite_url(folder / "cache.db"))
    board = Board(engine, settings)
    inventory = Inventory(sites={s.id: s for s in (_site(n, engines) for n in range(sites))})
    with Session(engine) as session:
        for site_id in inventory.sites:
            lock = SiteLock(site=site_id, ref="main", commit="c" * 40)
            pins = [SitePackage(site=site_id, ref="main", name=CORE, version="10.4.8")]
            rows.save_lock(session, lock, pins)
        session.commit()
    rows.save_advisories(engine, [Advisory(id=SA, package=CORE, affected="<10.4.9",
                                           severity="critical")])  # fmt: skip
    if not start:
        return Fleet(board, inventory, 0.0)
    began = time.perf_counter()
    start_rollout(board, inventory, settings.security.rollout, SA)
    took = time.perf_counter() - began
    placeholders = [r.ticket_key for r in [*store.rollouts(engine), *store.site_rows(engine)]]
    for number, key in enumerate(k for k in placeholders if k):
        outbox.adopt_created(engine, key, f"SUP-{1000 + number}", str(1000 + number))
    return Fleet(board, inventory, took)
