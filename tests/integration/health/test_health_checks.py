"""Health checks against real HTTP and TLS servers on loopback, kept in SQLite and PostgreSQL.

Sites: a healthy one, one that answers 503, a slow one, one without the expected text, one
that flaps, and a TLS one whose certificate (from a trustme CA) ends in 5 days.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import trustme
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from triage.core.config import HealthSettings
from triage.core.health.monitor import HealthMonitor
from triage.core.health.report import overview
from triage.core.sites.inventory import Inventory
from triage.storage import health as store
from triage.storage.models import HealthResult, HealthState, Job, JobState, JobStep

OK_PAGE = "<html><title>Acme</title>Welcome to Acme</html>"


def inventory(sites: dict[str, str], **env_extra: Any) -> Inventory:
    """An inventory of sites id → prod URL, each expecting 200 with "Welcome"."""
    data = {
        "sites": {
            site_id: {
                "name": f"{site_id.title()} site",
                "client": f"{site_id.title()} Corp",
                "package": "Gold",
                "repo": "/nowhere.git",
                "checkout": "/nowhere",
                "envs": {
                    "prod": {
                        "web_container": f"{site_id}-web",
                        "db_container": f"{site_id}-db",
                        "url": url,
                        "smoke": [{"path": "/", "status": 200, "contains": "Welcome"}],
                        **env_extra,
                    }
                },
            }
            for site_id, url in sites.items()
        }
    }
    found = Inventory.model_validate(data)
    for site_id, site in found.sites.items():
        site.id = site_id
    return found


def settings(**values: Any) -> HealthSettings:
    base: dict[str, Any] = {"retry_seconds": 0.01, "timeout_seconds": 2.0, "slow_ms": 250}
    return HealthSettings(**{**base, **values})


def healthy(_: int) -> tuple[int, str, float]:
    return 200, OK_PAGE, 0.0


def broken(_: int) -> tuple[int, str, float]:
    return 503, "Service Unavailable", 0.0


def slow(_: int) -> tuple[int, str, float]:
    return 200, OK_PAGE, 0.4


def wrong_text(_: int) -> tuple[int, str, float]:
    return 200, "<html>Database error</html>", 0.0


def states_by_site(engine: Engine) -> dict[str, Any]:
    return {h.site: h for h in store.states(engine)}


def test_one_round_tells_each_kind_of_site(
    engine: Engine,
    site_server: Callable[..., Any],
    tls_ca: tuple[trustme.CA, Path],
    tls_context: Callable[..., Any],
) -> None:
    ca, ca_file = tls_ca
    servers = {
        "ok": site_server(healthy),
        "down": site_server(broken),
        "slow": site_server(slow),
        "text": site_server(wrong_text),
        "tls": site_server(healthy, tls_context(ca, 5.5)),
    }
    monitor = HealthMonitor(
        engine,
        settings(ca_file=ca_file),
        inventory({name: server.url for name, server in servers.items()}),
    )

    rows = {h.site: h for h in asyncio.run(monitor.round())}

    assert rows["ok"].state is HealthState.UP and rows["ok"].status == 200
    assert rows["down"].state is HealthState.DOWN and rows["down"].status == 503
    assert rows["down"].reason == "HTTP 503 on /"
    # Down only after three failures in a row: the round re-checked it twice, soon.
    assert servers["down"].hits == 3 and servers["ok"].hits == 1
    assert rows["slow"].state is HealthState.DEGRADED and rows["slow"].check == "slow"
    assert rows["text"].state is HealthState.DOWN and rows["text"].check == "text"
    assert rows["tls"].state is HealthState.DEGRADED and rows["tls"].tls_days == 5
    assert rows["tls"].reason == "TLS certificate ends in 5 days"
    assert rows["ok"].tls_days is None
    # Shared through the cache: another reader sees the same states, worst first.
    shown = overview(engine)
    assert [row.health.site for row in shown][:2] == ["down", "text"]
    assert shown[-1].health.site == "ok" and len(shown[0].recent) == 3
    as_json = {row.health.site: row.as_json() for row in shown}
    assert as_json["down"] == {
        "site": "down",
        "env": "prod",
        "url": servers["down"].url,
        "state": "down",
        "status": 503,
        "ms": as_json["down"]["ms"],
        "tls_days": None,
        "reason": "HTTP 503 on /",
    }
    assert as_json["tls"]["state"] == "degraded" and as_json["ok"]["state"] == "up"


def test_untrusted_certificate_is_a_failure(
    engine: Engine, site_server: Callable[..., Any], tls_context: Callable[..., Any]
) -> None:
    server = site_server(healthy, tls_context(trustme.CA(), 60))
    monitor = HealthMonitor(engine, settings(), inventory({"tls": server.url}))
    (health,) = asyncio.run(monitor.round())
    assert health.state is HealthState.DOWN
    assert health.reason.startswith("GET /: TLS certificate not valid")


def test_down_after_three_failures_up_after_two_answers(
    engine: Engine, site_server: Callable[..., Any]
) -> None:
    script = [200, 503, 503, 503, 200, 200, 200]
    server = site_server(lambda n: (script[n - 1], OK_PAGE, 0.0))
    monitor = HealthMonitor(engine, settings(), inventory({"acme": server.url}))
    seen = []
    for _ in script:
        (health,) = asyncio.run(monitor.round(confirm=False))
        seen.append((health.state.value, health.fails))
    assert seen == [
        ("up", 0),
        ("up", 1),
        ("up", 2),
        ("down", 3),
        ("down", 0),
        ("up", 0),
        ("up", 0),
    ]


def test_a_site_that_keeps_changing_is_flapping_not_down(
    engine: Engine, site_server: Callable[..., Any]
) -> None:
    server = site_server(lambda n: (200 if n % 2 else 503, OK_PAGE, 0.0))
    monitor = HealthMonitor(engine, settings(), inventory({"flappy": server.url}))
    for _ in range(6):
        (health,) = asyncio.run(monitor.round(confirm=False))
    assert health.flapping and health.state is not HealthState.DOWN
    (row,) = overview(engine)
    assert row.state == "flapping" and row.as_json()["state"] == "degraded"


def test_no_alarm_while_triage_deploys_with_maintenance_on(
    engine: Engine, site_server: Callable[..., Any]
) -> None:
    server = site_server(broken)
    monitor = HealthMonitor(engine, settings(), inventory({"acme": server.url}))
    with Session(engine) as session:
        job = Job(kind="deploy", site="acme", env="prod", state=JobState.RUNNING)
        session.add(job)
        session.commit()
        session.add(JobStep(job_id=job.id or 0, position=3, name="maintenance on"))
        session.commit()
        job_id = job.id
    for _ in range(4):
        (health,) = asyncio.run(monitor.round())
    assert health.state is not HealthState.DOWN and health.maintenance
    assert store.down_count(engine) == 0
    (row,) = overview(engine)
    assert row.state == "maintenance" and row.as_json()["reason"].startswith("maintenance: ")
    # The deploy ends, the site still fails: now it goes down.
    with Session(engine) as session:
        finished = session.get(Job, job_id)
        assert finished is not None
        finished.state = JobState.FAILED
        session.add(finished)
        session.commit()
    (health,) = asyncio.run(monitor.round())
    assert health.state is HealthState.DOWN and store.down_count(engine) == 1


def test_old_results_are_pruned(engine: Engine) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session:
        for age in range(30):
            session.add(HealthResult(site="a", env="prod", at=now - timedelta(days=age)))
        for index in range(30):
            session.add(HealthResult(site="b", env="prod", at=now - timedelta(minutes=index)))
        session.commit()
    removed = store.prune(engine, now - timedelta(days=7, hours=1), keep_per_site=20)
    with Session(engine) as session:
        kept = session.exec(select(HealthResult)).all()
    a = sorted(r.at for r in kept if r.site == "a")
    assert removed == 22 + 10
    assert len(a) == 8 and min(a) >= now - timedelta(days=7, hours=1)
    assert len([r for r in kept if r.site == "b"]) == 20


def test_watch_retries_a_failing_site_soon_and_spreads_the_others(
    engine: Engine, site_server: Callable[..., Any]
) -> None:
    failing, fine = site_server(broken), site_server(healthy)
    sites = {"a-down": failing.url, "b-fine": fine.url, "c-fine": fine.url}
    monitor = HealthMonitor(
        engine, settings(interval_seconds=60, retry_seconds=0.05), inventory(sites)
    )
    changes: list[Any] = []

    async def until_down() -> int:
        stop = asyncio.Event()

        def seen(batch: list[Any]) -> None:
            changes.extend(batch)
            if any(c.after is HealthState.DOWN for c in batch):
                stop.set()

        watching = asyncio.create_task(monitor.watch(stop, seen))
        await asyncio.wait_for(asyncio.shield(stop.wait()), timeout=20)
        return await watching

    checks = asyncio.run(until_down())
    assert checks == 3 and failing.hits == 3
    # The others start 20 s and 40 s into the 60 s interval: not yet.
    assert fine.hits == 0
    assert [(c.site, c.after) for c in changes] == [("a-down", HealthState.DOWN)]
