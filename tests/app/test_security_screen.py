"""The security and fleet screens: advisories with their rollout's progress, sites × steps, keys.

A real SQLite cache holds what `triage fleet refresh` and the feeds would have written
(storage.security) and a rollout in mid-course (storage.rollouts); the keys go through the
real core (start_rollout, RolloutScheduler with its job runner), with a stand-in for the
git and Docker work of a site's update.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select
from textual.widgets import DataTable, Input, ListView, ProgressBar, Static

from triage.core.board.service import Board
from triage.core.jobs.reporting import Reporter
from triage.core.security.scheduler import ClosableWork
from triage.core.security.site_update import Audit
from triage.core.security.site_work import DockerSiteWork
from triage.core.sites.inventory import Site
from triage.core.tracker.client import Credentials, JiraTracker
from triage.sandbox.agency import build_agency
from triage.sandbox.jira_server import JiraSandbox
from triage.storage import rollouts as store
from triage.storage import security as security_rows
from triage.storage.db import session_scope
from triage.storage.models import (
    Advisory,
    AuditEntry,
    JobState,
    OutboxEntry,
    OutboxKind,
    Rollout,
    RolloutSite,
    RolloutState,
    SiteLock,
    SitePackage,
)
from triage.storage.queries import set_meta
from triage.tui.app import TriageApp, make_app
from triage.tui.screens.fleet import FleetScreen, step_marks
from triage.tui.screens.help import HelpScreen
from triage.tui.screens.jobs import JobScreen
from triage.tui.screens.reason import ConfirmDialog, ReasonDialog
from triage.tui.screens.security import AdvisoryCard, SecurityScreen
from triage.tui.screens.ticket import TicketScreen

CORE = "SA-CORE-2025-007"
TOKEN = "SA-CONTRIB-2025-101"
#: site: (drupal/core, drupal/token)
SITES = {
    "acme-www": ("10.4.2", "1.13.0"),
    "globex-www": ("10.5.6", "1.15.0"),
    "hooli-blog": ("10.3.1", "1.14.0"),
    "initech-www": ("11.1.3", "1.15.1"),
    "umbrella-shop": ("10.4.9", ""),
}

# The real work of a site's update is a class whose instances the scheduler closes.
_REAL: Callable[[], ClosableWork] = lambda: DockerSiteWork()  # noqa: E731


def sites_toml(path: Path) -> Path:
    lines = []
    for site_id in SITES:
        lines += [
            f"[sites.{site_id}]",
            f'name = "{site_id}"',
            f'client = "{site_id.split("-")[0].title()} Inc"',
            'package = "Gold"',
            'repo = "/nowhere.git"',
            'checkout = "/nowhere"',
            f"[sites.{site_id}.envs.dev]",
            'web_container = "web"',
            'db_container = "db"',
            f"[sites.{site_id}.envs.test]",
            'web_container = "web"',
            'db_container = "db"',
            f'url = "https://test.{site_id}.example"',
            f"[sites.{site_id}.envs.prod]",
            'web_container = "web"',
            'db_container = "db"',
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def seed_fleet(board: Board) -> None:
    """The sites' locks and two advisories, as a fleet refresh and a feed poll leave them."""
    now = board.clock()
    with session_scope(board.engine) as session:
        for site, (core, token) in SITES.items():
            lock = SiteLock(site=site, ref="main", role="main", commit="c0ffee", read_at=now)
            pins = [SitePackage(site=site, ref="main", name="drupal/core", version=core)]
            if token:
                pins.append(SitePackage(site=site, ref="main", name="drupal/token", version=token))
            security_rows.save_lock(session, lock, pins)
    security_rows.save_advisories(
        board.engine,
        [
            Advisory(
                id=CORE, package="drupal/core", severity="critical",
                affected=">= 8.0.0 <10.4.9 || >=10.5.0 <10.5.6 || >=11.0.0 <11.1.9",
                title="Drupal core - Critical - Access bypass", source="demo",
                reported_at=now - timedelta(days=8), updated=now,
            ),
            Advisory(
                id=TOKEN, package="drupal/token", severity="moderate", affected="<1.15.0",
                title="Token - Information disclosure", source="demo",
                reported_at=now - timedelta(days=40), updated=now,
            ),
        ],
    )  # fmt: skip


def seed_rollout(board: Board) -> list[str]:
    """The core advisory's rollout mid-course: tested, running, failed, queued, patched."""
    now = board.clock()
    keys = [card.key for cards in board.load().columns.values() for card in cards][:4]
    rows = [
        ("acme-www", RolloutState.TESTED, "report", "10.4.2", "10.4.9", keys[0], ""),
        ("hooli-blog", RolloutState.FAILED, "push", "10.3.1", "10.4.9", keys[1],
         "clone prod: the test database did not answer in 60 s"),
        ("initech-www", RolloutState.QUEUED, "", "11.1.3", "", keys[2], ""),
        ("umbrella-shop", RolloutState.QUEUED, "branch", "10.4.2", "", keys[3], ""),
        ("globex-www", RolloutState.PATCHED, "", "10.5.6", "", None, ""),
    ]  # fmt: skip
    rollout = Rollout(advisory_id=CORE, package="drupal/core", ticket_key=None,
                      severity="critical", started=now, actor="me")  # fmt: skip
    sites = [
        (
            RolloutSite(
                advisory_id=CORE, package="drupal/core", site=site, ticket_key=key, state=state,
                rank=rank, engine="local", stage="test", version=old, new_version=new,
                branch=f"{key}-{CORE}" if step else "", step=step, reason=reason, updated=now,
                job_id=None, attempts=1 if step else 0,
            ),
            None,
        )
        for rank, (site, state, step, old, new, key, reason) in enumerate(rows)
    ]  # fmt: skip
    store.start(board.engine, rollout, None, sites)
    return keys


class StandInWork:
    """A site's update work that touches nothing: composer "updates" to secure versions."""

    calls: list[str] = []

    def open_branch(self, site: Site, branch: str, reporter: Reporter) -> None:
        self.calls.append(f"branch {site.id}")

    def composer_update(
        self, site: Site, branch: str, packages: list[str], reporter: Reporter
    ) -> dict[str, str]:
        self.calls.append(f"update {site.id}")
        secure = {"drupal/core": "10.4.9", "drupal/token": "1.15.0"}
        lock = {"packages": [{"name": name, "version": v} for name, v in secure.items()]}
        return {"composer.json": "{}", "composer.lock": json.dumps(lock)}

    def commit(self, site: Site, branch: str, files: dict[str, str], message: str,
               reporter: Reporter) -> None:  # fmt: skip
        pass

    def audit(self, site: Site, reporter: Reporter) -> Audit:
        return Audit(0, "No security vulnerability advisories found.")

    def push(self, site: Site, branch: str, reporter: Reporter) -> str:
        return "0123abc"

    def clone_prod(self, site: Site, env: str, reporter: Reporter) -> None:
        self.calls.append(f"clone {site.id}")

    def deploy_test(self, site: Site, branch: str, reporter: Reporter) -> list[str]:
        return ["smoke checks passed", "tests passed"]

    def release(self, site: Site, branch: str, key: str, reporter: Reporter) -> str:
        raise AssertionError("the rollout of a Gold site stops on its test site")

    def close(self) -> None:
        pass


@pytest.fixture
def security_app(make_board: Callable[..., Board], tmp_path: Path) -> TriageApp:
    board = make_board(
        sites_file=str(sites_toml(tmp_path / "sites.toml")), jira={"projects": ["SUP"]}
    )
    seed_fleet(board)
    seed_rollout(board)
    app = make_app(board)
    StandInWork.calls = []
    app.site_work = StandInWork
    return app


async def settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def open_security(pilot: Any) -> None:
    await pilot.press("S")
    await settle(pilot)


async def open_fleet(pilot: Any) -> None:
    await open_security(pilot)
    await pilot.press("enter")
    await settle(pilot)


def site_state(app: TriageApp, site: str) -> RolloutSite:
    row = store.site_row(app.board.engine, (CORE, "drupal/core", site))
    assert row is not None
    return row


def test_security_160x48(snap_compare: Any, security_app: TriageApp) -> None:
    assert snap_compare(security_app, terminal_size=(160, 48), run_before=open_security)


def test_fleet_160x48(snap_compare: Any, security_app: TriageApp) -> None:
    assert snap_compare(security_app, terminal_size=(160, 48), run_before=open_fleet)


def test_the_real_work_is_a_closable_work() -> None:
    # mypy over the tests checks `_REAL`: DockerSiteWork must satisfy ClosableWork.
    assert callable(_REAL)


def said(app: TriageApp) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


def marks(*cells: str) -> list[str]:
    return list("".join(cells))


def test_a_step_mark_per_step_for_each_state() -> None:
    def row(state: RolloutState, step: str = "", stage: str = "test") -> store.SiteView:
        return store.SiteView(advisory_id=CORE, package="drupal/core", site="s", state=state,
                        step=step, stage=stage)  # fmt: skip

    assert step_marks(row(RolloutState.QUEUED)) == marks("·······–")
    assert step_marks(row(RolloutState.RUNNING, "audit")) == marks("✓✓✓▶···–")
    assert step_marks(row(RolloutState.FAILED, "push")) == marks("✓✓✓✓✗··–")
    assert step_marks(row(RolloutState.NO_FIX, "branch")) == marks("✓!––––––")
    assert step_marks(row(RolloutState.SKIPPED, "branch")) == marks("✓–––––––")
    assert step_marks(row(RolloutState.PATCHED)) == marks("––––––––")
    assert step_marks(row(RolloutState.WAITING, "report", "prod")) == marks("✓✓✓✓✓✓✓·")
    assert step_marks(row(RolloutState.DEPLOYED, "prod", "prod")) == marks("✓✓✓✓✓✓✓✓")


async def test_advisories_with_their_progress(security_app: TriageApp) -> None:
    async with security_app.run_test(size=(160, 48)) as pilot:
        await open_security(pilot)
        screen = security_app.screen
        assert isinstance(screen, SecurityScreen)
        assert [(e.advisory.id, e.affected, e.patched) for e in screen.entries] == [
            (CORE, 3, 2),  # the critical one first; umbrella-shop's lock said 10.4.9
            (TOKEN, 2, 2),
        ]
        core, token = screen.query(AdvisoryCard)
        bar = core.query_one(ProgressBar)
        assert bar.display and (bar.total, bar.progress) == (4, 2)  # tested + failed of 4
        counts = str(core.query_one(".advisory-counts", Static).render())
        assert "2/4 finished · 2 queued, 1 tested, 1 failed, 1 patched" in counts
        assert not token.query_one(ProgressBar).display
        offer = str(token.query_one(".advisory-counts", Static).render())
        assert offer.startswith("2 sites affected, 2 patched · u starts the rollout")


async def test_u_starts_the_rollout_after_a_yes(security_app: TriageApp) -> None:
    engine = security_app.board.engine
    async with security_app.run_test(size=(160, 48)) as pilot:
        await open_security(pilot)
        await pilot.press("j", "u")
        await pilot.pause()  # the question waits for an answer: no waiting for workers
        assert isinstance(security_app.screen, ConfirmDialog)
        await pilot.press("escape")  # no: nothing is created
        await settle(pilot)
        assert store.rollout(engine, TOKEN, "drupal/token") is None
        await pilot.press("u")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
        await settle(pilot)  # the screen reads the cache again
        screen = security_app.screen
        assert isinstance(screen, SecurityScreen)
        token = list(screen.query(AdvisoryCard))[1]
        bar = token.query_one(ProgressBar)
        assert bar.display and (bar.total, bar.progress) == (2, 0)
    rows = {row.site: row for row in store.site_rows(engine, TOKEN, "drupal/token")}
    assert {site: row.state for site, row in rows.items()} == {
        "acme-www": RolloutState.QUEUED,
        "hooli-blog": RolloutState.QUEUED,
        "globex-www": RolloutState.PATCHED,
        "initech-www": RolloutState.PATCHED,
    }
    assert all((rows[s].ticket_key or "").startswith("NEW-") for s in ("acme-www", "hooli-blog"))
    with Session(engine) as session:
        created = session.exec(select(OutboxEntry).where(OutboxEntry.kind == OutboxKind.CREATE))
        assert len(list(created)) == 3  # the parent and one per affected site
    assert "1 sites to update" not in said(security_app)
    assert "2 sites to update" in said(security_app)
    assert "No Jira is configured" in said(security_app)


async def test_r_runs_the_queued_sites_from_their_last_step(security_app: TriageApp) -> None:
    async with security_app.run_test(size=(160, 48)) as pilot:
        await open_security(pilot)
        await pilot.press("r")
        await settle(pilot)
        await settle(pilot)
        screen = security_app.screen
        assert isinstance(screen, SecurityScreen)
        core = next(iter(screen.query(AdvisoryCard)))
        assert (core.query_one(ProgressBar).total, core.query_one(ProgressBar).progress) == (4, 4)
    assert site_state(security_app, "initech-www").state is RolloutState.TESTED
    assert site_state(security_app, "umbrella-shop").state is RolloutState.TESTED
    assert site_state(security_app, "hooli-blog").state is RolloutState.FAILED  # not retried
    assert "branch initech-www" in StandInWork.calls
    assert "branch umbrella-shop" not in StandInWork.calls  # its branch step had finished
    assert "update umbrella-shop" in StandInWork.calls
    assert site_state(security_app, "umbrella-shop").job_id is not None
    assert "Rollout run: 2 sites started" in said(security_app)


async def test_fleet_retry_then_the_sites_job_log(security_app: TriageApp) -> None:
    async with security_app.run_test(size=(160, 48)) as pilot:
        await open_fleet(pilot)
        screen = security_app.screen
        assert isinstance(screen, FleetScreen)
        table = screen.query_one(DataTable)
        assert table.row_count == 5 and screen.current is not None
        assert [row.site for row in screen.rows][:2] == ["acme-www", "hooli-blog"]
        await pilot.press("R")  # acme-www is tested: not retried, and told why
        await settle(pilot)
        assert "acme-www is not failed, skipped or without a fix" in said(security_app)
        assert site_state(security_app, "acme-www").state is RolloutState.TESTED
        await pilot.press("j", "R")
        await settle(pilot)
        await settle(pilot)
        hooli = site_state(security_app, "hooli-blog")
        assert hooli.state is RolloutState.TESTED and hooli.attempts == 2
        assert "clone hooli-blog" in StandInWork.calls
        assert "update hooli-blog" not in StandInWork.calls  # it continued after push
        assert screen.current is not None and screen.current.site == "hooli-blog"
        assert screen.current.state is RolloutState.TESTED
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(security_app.screen, JobScreen)
        assert security_app.screen.job_id == hooli.job_id


async def test_fleet_skip_needs_a_reason_and_is_audited(security_app: TriageApp) -> None:
    engine = security_app.board.engine
    async with security_app.run_test(size=(160, 48)) as pilot:
        await open_fleet(pilot)
        await pilot.press("j", "j", "s")  # initech-www, queued
        await pilot.pause()
        assert isinstance(security_app.screen, ReasonDialog)
        await pilot.press("space", "enter")  # blank: refused, the dialog stays
        await pilot.pause()
        dialog = security_app.screen
        assert isinstance(dialog, ReasonDialog)
        assert "Type a reason" in str(dialog.query_one("#reason-error", Static).render())
        dialog.query_one(Input).value = "moving to a new host next week"
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(security_app.screen, FleetScreen)
        assert security_app.screen.current is not None
        assert security_app.screen.current.state is RolloutState.SKIPPED
    initech = site_state(security_app, "initech-www")
    assert (initech.state, initech.reason) == (
        RolloutState.SKIPPED,
        "moving to a new host next week",
    )
    with Session(engine) as session:
        audit = list(session.exec(select(AuditEntry).where(AuditEntry.action == "rollout-skip")))
    assert [(a.site, a.detail) for a in audit] == [
        ("initech-www", f"{CORE} drupal/core: moving to a new host next week")
    ]


async def test_fleet_opens_a_sites_ticket_and_names_itself_in_help(
    security_app: TriageApp,
) -> None:
    async with security_app.run_test(size=(160, 48)) as pilot:
        await open_fleet(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = security_app.screen
        assert isinstance(help_screen, HelpScreen)
        assert help_screen.screen_title == f"Fleet of {CORE}"
        ids = {binding_id for _, _, binding_id in help_screen.rows}
        assert {"fleet.job", "fleet.retry", "fleet.skip", "fleet.ticket"} <= ids
        await pilot.press("escape", "o")
        await pilot.pause()
        assert isinstance(security_app.screen, TicketScreen)
        assert security_app.screen.key == site_state(security_app, "acme-www").ticket_key
        await pilot.press("escape", "G", "o")  # globex-www was patched: no ticket
        await pilot.pause()
        assert isinstance(security_app.screen, FleetScreen)
        assert "no ticket in this rollout" in said(security_app)


async def test_the_palette_and_help_know_the_security_screen(security_app: TriageApp) -> None:
    async with security_app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        titles = [c.title for c in security_app.get_system_commands(security_app.screen)]
        assert "Security releases" in titles
        await open_security(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = security_app.screen
        assert isinstance(help_screen, HelpScreen)
        assert help_screen.screen_title == "Security releases"
        ids = {binding_id for _, _, binding_id in help_screen.rows}
        assert {"security.fleet", "security.start", "security.run"} <= ids


async def test_without_a_sites_inventory_r_says_so(
    make_board: Callable[..., Board], tmp_path: Path
) -> None:
    board = make_board(sites_file=str(tmp_path / "none.toml"))
    seed_fleet(board)
    with board.engine.begin() as connection:
        set_meta(connection, "workspace", "jira")  # a team's cache, not the demo
    app = make_app(board)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_security(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert f"no sites inventory at {tmp_path / 'none.toml'}" in said(app)
        assert isinstance(app.screen, SecurityScreen)


@pytest.mark.parametrize("key", ["r", "u"])
async def test_in_the_demo_without_sites_r_and_u_say_how_to_start_them(
    make_board: Callable[..., Board], tmp_path: Path, key: str
) -> None:
    board = make_board(sites_file=str(tmp_path / "none.toml"))  # a demo cache
    seed_fleet(board)
    app = make_app(board)
    async with app.run_test(size=(160, 48)) as pilot:
        await open_security(pilot)
        await pilot.press(key)
        await settle(pilot)
        assert "this demo has no sites to update" in said(app)
        assert "triage demo --sites 3" in said(app)
        assert isinstance(app.screen, SecurityScreen)  # u asks nothing first
        assert store.rollouts(board.engine) == []


def test_the_board_loads_none_of_the_rollout_machinery() -> None:
    probe = (
        "import json, sys, triage.tui.app; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith("
        "('triage.core.security', 'triage.tui.screens.security', 'triage.tui.screens.fleet')))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(done.stdout) == []


async def test_a_started_rollout_reaches_jira_then_its_sites_run(
    make_board: Callable[..., Board], tmp_path: Path
) -> None:
    board = make_board(
        sites_file=str(sites_toml(tmp_path / "sites.toml")), jira={"projects": ["SUP"]}
    )
    seed_fleet(board)
    now = board.clock()
    agency = build_agency(tickets=120, seed=3, now=now)
    me = next(p for p in agency.people if p.account_id == board.me.account_id)
    sandbox = JiraSandbox.from_agency(agency, flavour="cloud", user=me.email)
    sandbox.set_clock(lambda: now)
    sandbox.start()

    def tracker() -> JiraTracker:
        return JiraTracker(Credentials(sandbox.url, sandbox.token, sandbox.user), "cloud")

    app = make_app(board, tracker)
    StandInWork.calls = []
    app.site_work = StandInWork
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            await settle(pilot)
            await open_security(pilot)
            await pilot.press("j", "u")
            await pilot.pause()
            await pilot.press("y")
            for _ in range(4):  # the start, the push, the run, the screen reading again
                await settle(pilot)
    finally:
        sandbox.stop()
    rows = store.site_rows(board.engine, TOKEN, "drupal/token")
    updated = [row for row in rows if row.state is not RolloutState.PATCHED]
    assert [(row.site, row.state) for row in updated] == [
        ("acme-www", RolloutState.TESTED),
        ("hooli-blog", RolloutState.TESTED),
    ]
    assert all((row.ticket_key or "").startswith("SUP-") for row in updated)
    assert sandbox.calls["issue.post"] == 3  # the parent and one per affected site, once
    parent = store.rollout(board.engine, TOKEN, "drupal/token")
    assert parent is not None and (parent.ticket_key or "").startswith("SUP-")
    assert {"branch acme-www", "branch hooli-blog"} <= set(StandInWork.calls)


class GatedWork(StandInWork):
    """The stand-in, whose clone of prod waits for the test to open the gate."""

    gate = threading.Event()

    def clone_prod(self, site: Site, env: str, reporter: Reporter) -> None:
        for _ in range(400):  # 20 s at most
            reporter.check_cancelled()
            if self.gate.wait(0.05):
                return super().clone_prod(site, env, reporter)
        raise AssertionError("the test never opened the gate")


async def until_cloning(pilot: Any, app: TriageApp, *sites: str) -> None:
    """Wait (bounded) until these sites are in their clone step."""
    for _ in range(200):
        rows = [site_state(app, site) for site in sites]
        if all(row.state is RolloutState.RUNNING and row.step == "push" for row in rows):
            return
        await pilot.pause(0.05)
    raise AssertionError([(row.site, row.state, row.step) for row in rows])


@pytest.fixture
def gated_app(security_app: TriageApp) -> TriageApp:
    GatedWork.gate = threading.Event()
    security_app.site_work = GatedWork
    return security_app


async def test_a_retry_joins_the_run_going_on(gated_app: TriageApp) -> None:
    app = gated_app
    async with app.run_test(size=(160, 48)) as pilot:
        await open_security(pilot)
        await pilot.press("r")
        await until_cloning(pilot, app, "umbrella-shop")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("j", "R")  # hooli-blog failed in its clone: it joins the run
        await pilot.pause(0.3)
        # Both slots of the engine are busy (security.rollout.per_engine = 2): it waits.
        assert site_state(app, "hooli-blog").state is RolloutState.QUEUED
        assert "hooli-blog is queued again" in said(app)
        GatedWork.gate.set()
        await settle(pilot)
        await settle(pilot)
    for site in ("hooli-blog", "initech-www", "umbrella-shop"):
        assert site_state(app, site).state is RolloutState.TESTED, site
    assert said(app).count("Rollout run:") == 1
    assert "Rollout run: 3 sites started; 3 tested." in said(app)


async def test_quitting_during_a_rollout_asks_then_queues_the_running_sites(
    gated_app: TriageApp,
) -> None:
    app = gated_app
    async with app.run_test(size=(160, 48)) as pilot:
        await open_security(pilot)
        await pilot.press("r")
        await until_cloning(pilot, app, "initech-www", "umbrella-shop")
        await pilot.press("q")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("escape")  # no: the rollout goes on
        await pilot.pause()
        assert isinstance(app.screen, SecurityScreen) and app.is_running
        await pilot.press("q")
        await pilot.pause()
        await pilot.press("y")
        for _ in range(200):
            if not app.is_running:
                break
            await pilot.pause(0.05)
        assert not app.is_running
    for site in ("initech-www", "umbrella-shop"):
        row = site_state(app, site)
        assert (row.state, row.step) == (RolloutState.QUEUED, "push"), site
        assert row.reason.startswith("stopped when Triage quit")
        assert row.job_id is not None
        assert app.runner.job(row.job_id).state is JobState.CANCELLED
    assert not any(call.startswith("clone ") for call in GatedWork.calls)


async def test_a_bug_in_the_run_is_told_not_swallowed(
    security_app: TriageApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> Any:
        raise RuntimeError("a bug in the scheduler")

    monkeypatch.setattr(security_app, "scheduler", broken)
    async with security_app.run_test(size=(160, 48)) as pilot:
        await open_security(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert "security: RuntimeError: a bug in the scheduler" in said(security_app)
        assert not security_app.rollouts_busy()


async def test_an_advisory_from_a_feed_is_shown_as_text(security_app: TriageApp) -> None:
    hostile = Advisory(
        id="SA-[b]1[/b]", package="drupal/core", severity="high", affected="<10.4.9",
        title="Evil [/x] \x1b[31mred", source="feed",
    )  # fmt: skip
    security_rows.save_advisories(security_app.board.engine, [hostile])
    async with security_app.run_test(size=(160, 48)) as pilot:
        await open_security(pilot)
        screen = security_app.screen
        assert isinstance(screen, SecurityScreen)
        card = next(c for c in screen.query(AdvisoryCard) if c.entry.advisory.id == hostile.id)
        head = str(card.query_one(".advisory-head", Static).render())
        assert "SA-[b]1[/b]" in head and "Evil [/x] red" in head and "\x1b" not in head
        screen.query_one(ListView).index = list(screen.query(AdvisoryCard)).index(card)
        await pilot.press("u")
        await pilot.pause()
        dialog = security_app.screen
        assert isinstance(dialog, ConfirmDialog)
        assert "SA-[b]1[/b] (drupal/core)?" in str(dialog.query_one(".dialog-title").render())
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(security_app.screen, FleetScreen)
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(security_app.screen, HelpScreen)
        assert security_app.screen.screen_title == "Fleet of SA-\\[b]1\\[/b]"
