"""The health screen: sites worst first, the board's "sites down", and an incident in one key.

The cache is seeded with states and results at fixed times (the board's clock is frozen), as the
`triage health --watch` service would have written them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from triage.core.board.service import Board
from triage.core.tracker.client import Credentials, JiraTracker
from triage.sandbox.agency import build_agency
from triage.sandbox.jira_server import JiraSandbox
from triage.storage.columns import BoardColumn
from triage.storage.models import (
    HealthResult,
    HealthState,
    OutboxEntry,
    OutboxKind,
    SiteHealth,
    Ticket,
)
from triage.tui.app import PUSH_DELAY, TriageApp, make_app
from triage.tui.screens.health import HealthScreen

SITES: dict[str, tuple[str, int | None, list[int | None], int | None, str, str]] = {
    # id: (state, status, ms series, tls days, check, reason, minutes in state, fails, flapping)
    "globex-www": ("down", 503, [120, 130, 125, None, None, None], 60, "http", "HTTP 503 on /"),
    "initech-www": (
        "down",
        None,
        [300, 280, None, None, None],
        12,
        "http",
        "GET /: no answer in time (timeout)",
    ),
    "hooli-blog": (
        "degraded",
        200,
        [90, 95, 2600, 2900, 3100],
        5,
        "tls",
        "TLS certificate ends in 5 days; answered in 3100 ms (over 2000)",
    ),
    "umbrella-shop": ("up", 200, [80, 82, 79, 85, 81, 90, 88], 200, "", ""),
}


def sites_toml(path: Path) -> Path:
    lines = []
    for site_id in SITES:
        name = site_id.split("-")[0].title()
        lines += [
            f"[sites.{site_id}]",
            f'name = "{name} website"',
            f'client = "{name} Inc"',
            'package = "Gold"',
            'repo = "/nowhere.git"',
            'checkout = "/nowhere"',
            f"[sites.{site_id}.envs.prod]",
            'web_container = "web"',
            'db_container = "db"',
            f'url = "https://www.{site_id}.example"',
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def seed_health(board: Board) -> None:
    now = board.clock()
    with Session(board.engine) as session:
        for index, (site, (state, status, series, tls, check, reason)) in enumerate(SITES.items()):
            since = now - timedelta(minutes=58 + 97 * index)
            for step, ms in enumerate(series):
                at = now - timedelta(minutes=len(series) - step)
                level = "fail" if ms is None else ("warn" if check == "tls" else "ok")
                session.add(
                    HealthResult(
                        site=site,
                        env="prod",
                        at=at,
                        url=f"https://www.{site}.example",
                        level=level,
                        status=None if ms is None else status,
                        ms=ms,
                        tls_days=tls,
                        check=check if level != "ok" else "",
                        reason=reason if level != "ok" else "",
                    )
                )
            fails = sum(1 for ms in series[-3:] if ms is None)
            session.add(
                SiteHealth(
                    site=site,
                    env="prod",
                    url=f"https://www.{site}.example",
                    state=HealthState(state),
                    since=since,
                    fails=fails,
                    checked=now,
                    status=status,
                    ms=series[-1],
                    tls_days=tls,
                    check=check,
                    reason=reason,
                )
            )
        session.commit()


@pytest.fixture
def health_app(make_board: Callable[..., Board], tmp_path: Path) -> TriageApp:
    board = make_board(
        sites_file=str(sites_toml(tmp_path / "sites.toml")), jira={"projects": ["SUP"]}
    )
    seed_health(board)
    return make_app(board)


async def open_health(pilot: Any) -> None:
    await pilot.press("O")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_health_80x24(snap_compare: Any, health_app: TriageApp) -> None:
    assert snap_compare(health_app, terminal_size=(80, 24), run_before=open_health)


def test_health_160x48(snap_compare: Any, health_app: TriageApp) -> None:
    assert snap_compare(health_app, terminal_size=(160, 48), run_before=open_health)


async def test_board_header_counts_sites_down(health_app: TriageApp) -> None:
    async with health_app.run_test(size=(160, 40)) as pilot:
        await health_app.workers.wait_for_complete()
        await pilot.pause()
        assert health_app.board_screen is not None
        header = str(health_app.board_screen.query_one("#status-line").render())
        assert "2 sites down" in header


async def test_incident_in_one_key_then_a_comment(health_app: TriageApp) -> None:
    board = health_app.board
    async with health_app.run_test(size=(160, 40)) as pilot:
        await pilot.press("O")
        await health_app.workers.wait_for_complete()
        await pilot.pause()
        screen = health_app.screen
        assert isinstance(screen, HealthScreen)
        assert [row.health.site for row in screen.rows] == [
            "globex-www",
            "initech-www",
            "hooli-blog",
            "umbrella-shop",
        ]
        await pilot.press("i")
        await pilot.pause()
        await pilot.press("i")
        await pilot.pause()
        await pilot.press("G")  # the healthy site, last: nothing to report
        await pilot.press("i")
        await pilot.pause()

    with Session(board.engine) as session:
        entries = list(session.exec(select(OutboxEntry).order_by(OutboxEntry.id)))  # type: ignore[arg-type]
        incidents = list(session.exec(select(Ticket).where(Ticket.key.startswith("NEW-"))))
    (ticket,) = incidents
    assert ticket.site == "globex-www" and ticket.issue_type == "Incident"
    assert (
        ticket.summary == "[Gold] Globex Inc: www.globex-www.example down, HTTP 503 since 08:02 UTC"
    )
    assert ticket.column is BoardColumn.TODO and ticket.severity == "Highest"
    assert [e.kind for e in entries] == [OutboxKind.CREATE, OutboxKind.COMMENT]
    assert entries[1].ticket_key == ticket.key
    assert board.load().columns[BoardColumn.TODO][0].key == ticket.key


async def test_incident_reaches_jira_and_the_card_takes_its_key(
    make_board: Callable[..., Board], tmp_path: Path
) -> None:
    board = make_board(
        sites_file=str(sites_toml(tmp_path / "sites.toml")), jira={"projects": ["SUP"]}
    )
    seed_health(board)
    now = board.clock()
    agency = build_agency(tickets=120, seed=3, now=now)
    me = next(p for p in agency.people if p.account_id == board.me.account_id)
    sandbox = JiraSandbox.from_agency(agency, flavour="cloud", user=me.email)
    sandbox.set_clock(lambda: now)
    sandbox.start()

    def tracker() -> JiraTracker:
        return JiraTracker(Credentials(sandbox.url, sandbox.token, sandbox.user), "cloud")

    app = make_app(board, tracker)
    try:
        async with app.run_test(size=(160, 40)) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.press("O")
            await app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.press("i", "escape")
            for _ in range(2):  # the push, then the board read again
                await pilot.pause(PUSH_DELAY + 0.2)
                await app.workers.wait_for_complete()
                await pilot.pause()
            assert app.board_screen is not None
            top = app.board_screen.data.columns[BoardColumn.TODO][0]
    finally:
        sandbox.stop()
    assert sandbox.calls["issue.post"] == 1
    assert top.key.startswith("SUP-") and top.summary.startswith("[Gold] Globex Inc: ")
    assert sandbox.issue(top.key)["fields"]["summary"] == top.summary
    with Session(board.engine) as session:
        assert not list(session.exec(select(Ticket).where(Ticket.key.startswith("NEW-"))))


async def test_check_now_runs_a_round_and_shows_it(
    make_board: Callable[..., Board], tmp_path: Path
) -> None:
    sites = tmp_path / "sites.toml"
    sites.write_text(
        '[sites.closed]\nname = "Closed"\nclient = "Closed Inc"\nrepo = "/r.git"\n'
        'checkout = "/c"\n[sites.closed.envs.prod]\nweb_container = "w"\ndb_container = "d"\n'
        'url = "http://127.0.0.1:1"\n',
        encoding="utf-8",
    )
    board = make_board(sites_file=str(sites), health={"retry_seconds": 0.05})
    app = make_app(board)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.press("O")
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, HealthScreen) and screen.rows == []
        await pilot.press("r")
        await app.workers.wait_for_complete()  # the round, in a child process
        await pilot.pause()
        await app.workers.wait_for_complete()  # the screen reading the cache again
        await pilot.pause()
        assert [(row.health.site, row.state) for row in screen.rows] == [("closed", "down")]
        assert screen.rows[0].health.reason == "GET /: no connection"
