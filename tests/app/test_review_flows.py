"""Code review in the app, against the sandbox Jira and real git, driven by keys.

`R` on the board opens the review queue; `enter` the diff; `a` approves (after a confirm),
`s` sends back with a comment that quotes the cursor's file:line. The outbox carries the
comment and the move to the sandbox; a second cache that syncs learns the approval.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from app_clock import FROZEN_NOW
from review_repos import Repos, big_change, hermetic_git, make_repos, small_change, write_sites
from sqlmodel import Session, select
from textual.pilot import Pilot
from textual.widgets import DataTable, OptionList, TextArea

from triage.core.board.service import Board
from triage.core.tracker.client import Credentials, JiraTracker
from triage.core.tracker.sync import Sync
from triage.sandbox.agency import adf_to_text, build_agency
from triage.sandbox.jira_server import JiraSandbox
from triage.storage.columns import BoardColumn
from triage.storage.db import open_cache, sqlite_url
from triage.storage.models import OutboxEntry, OutboxKind, OutboxState, Ticket
from triage.tui.app import PUSH_DELAY, TriageApp, make_app
from triage.tui.screens.approve import ConfirmApprove
from triage.tui.screens.dialogs import CommentDialog
from triage.tui.screens.diff import DiffScreen
from triage.tui.screens.review import ReviewScreen
from triage.tui.widgets.diff_view import DiffView

JIRA = {"projects": ["SUP"]}
PUSHED = ("SUP-62", "SUP-117")


@pytest.fixture(autouse=True)
def _git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    hermetic_git(monkeypatch, tmp_path)


@dataclass
class World:
    """A demo board with its sites on a real remote, and the sandbox Jira of the same agency."""

    board: Board
    sandbox: JiraSandbox
    repos: Repos

    def tracker(self) -> JiraTracker:
        return JiraTracker(
            Credentials(self.sandbox.url, self.sandbox.token, self.sandbox.user), "cloud"
        )

    def app(self) -> TriageApp:
        return make_app(self.board, self.tracker)


def review_board(make_board: Callable[..., Board], tmp_path: Path, **jira: object) -> Board:
    """The demo board with a sites inventory whose Code Review tickets share one remote."""
    return make_board(jira=jira or JIRA, sites_file=str(tmp_path / "sites.toml"))


def push_branches(board: Board, repos: Repos, tmp_path: Path) -> None:
    in_review = board.load().columns[BoardColumn.CODE_REVIEW]
    sites = sorted({card.site for card in in_review if card.site})
    write_sites(tmp_path / "sites.toml", sites, repos, tmp_path / "checkout")
    for key in PUSHED:
        found = board.ticket(key)
        repos.push_branch(str(found.branch), small_change(key), f"{key}: {found.summary}", 2)
    big = board.ticket("SUP-110")
    repos.push_branch(str(big.branch), big_change(5_000), "SUP-110: a big change")


@pytest.fixture
def world(make_board: Callable[..., Board], tmp_path: Path) -> Iterator[World]:
    board = review_board(make_board, tmp_path)
    repos = make_repos(tmp_path)
    push_branches(board, repos, tmp_path)
    agency = build_agency(tickets=120, seed=3, now=FROZEN_NOW)
    me = next(p for p in agency.people if p.account_id == board.me.account_id)
    sandbox = JiraSandbox.from_agency(agency, flavour="cloud", user=me.email)
    sandbox.set_clock(lambda: FROZEN_NOW)
    sandbox.start()
    try:
        yield World(board, sandbox, repos)
    finally:
        sandbox.stop()


async def settle(app: TriageApp, pilot: Pilot[None], pause: float = 0.0) -> None:
    """Wait for every worker and the messages they posted (after `pause` seconds)."""
    await pilot.pause(pause)
    await app.workers.wait_for_complete()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def open_diff(app: TriageApp, pilot: Pilot[None], key: str) -> DiffScreen:
    """From the board: R, the row of `key`, enter; the diff with its first file read."""
    await settle(app, pilot)
    await pilot.press("R")
    await settle(app, pilot)
    assert isinstance(app.screen, ReviewScreen)
    table = app.screen.query_one(DataTable)
    table.move_cursor(row=[item.key for item in app.screen.items].index(key))
    await pilot.press("enter")
    await settle(app, pilot)
    assert isinstance(app.screen, DiffScreen)
    return app.screen


def stored(board: Board, key: str) -> Ticket:
    with Session(board.engine) as session:
        found = session.get(Ticket, key)
        assert found is not None
        return found


def outbox_of(board: Board, key: str) -> list[OutboxEntry]:
    with Session(board.engine) as session:
        return list(session.exec(select(OutboxEntry).where(OutboxEntry.ticket_key == key)))


def jira_comments(sandbox: JiraSandbox, key: str) -> list[str]:
    issue = sandbox.issue(key)
    return [adf_to_text(c["body"]) for c in issue["fields"]["comment"]["comments"]]


async def test_the_queue_lists_what_waits_for_me_oldest_first(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(app, pilot)
        await pilot.press("R")
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
        items = app.screen.items
        assert len(items) == 8 and [i.entered for i in items] == sorted(i.entered for i in items)
        table = app.screen.query_one(DataTable)
        row = table.get_row("SUP-62")
        assert str(row[2]) == "2 ahead, 2 files +10 −1"
        assert str(table.get_row("SUP-86")[2]) == "not pushed"
        await pilot.press("escape")
        assert not isinstance(app.screen, ReviewScreen)
        assert app.board_screen is not None and app.screen is app.board_screen


async def test_the_diff_jumps_between_files_and_hunks(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_diff(app, pilot, "SUP-110")
        view = screen.query_one(DiffView)
        files = screen.query_one("#diff-files", OptionList)
        assert view.path == "web/modules/custom/big/src/Part00.php"
        assert len(view.lines) == 506 and files.option_count == 11
        await pilot.press("right_square_bracket")
        await settle(app, pilot)
        assert view.path == "web/modules/custom/big/src/Part01.php"
        assert files.highlighted == 1
        await pilot.press("left_square_bracket")
        await settle(app, pilot)
        assert view.path.endswith("Part00.php")
        for _ in range(10):
            await pilot.press("n")
        await settle(app, pilot)
        assert view.path.endswith("logo.png") and view.note == "binary file: not shown"
        await pilot.press("p")
        await settle(app, pilot)
        await pilot.press("right_curly_bracket")
        assert view.current() is not None and view.current().kind == "hunk"  # type: ignore[union-attr]
        assert view.scroll_y == view.cursor == 5
        await pilot.press("G")
        assert view.cursor == len(view.lines) - 1 and view.scroll_y > 400


async def test_approve_posts_the_comment_moves_to_qa_and_teaches_a_second_cache(
    world: World, tmp_path: Path
) -> None:
    app = world.app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_diff(app, pilot, "SUP-117")
        head = screen.diff.item.head if screen.diff else None
        assert head is not None
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmApprove)
        await pilot.press("y")
        await settle(app, pilot)
        assert isinstance(app.screen, ReviewScreen)
        assert "SUP-117" not in [item.key for item in app.screen.items]
        ticket = stored(world.board, "SUP-117")
        assert ticket.column is BoardColumn.QA and ticket.approved_by == "Marek Nowak"
        said = f"Approved by Marek Nowak after review of {ticket.branch} at {head[:12]}"
        [move] = outbox_of(world.board, "SUP-117")
        assert move.kind is OutboxKind.MOVE and move.payload["comment"] == said
        await settle(app, pilot, PUSH_DELAY + 0.2)
        assert [e.state for e in outbox_of(world.board, "SUP-117")] == [OutboxState.DONE]
    assert world.sandbox.issue("SUP-117")["fields"]["status"]["name"] == "QA"
    assert said in jira_comments(world.sandbox, "SUP-117")
    # A teammate's cache learns the approval from Jira, so its QA guard lets the ticket by.
    teammate = open_cache(sqlite_url(tmp_path / "teammate.db"))
    Sync(teammate, world.board.settings, world.tracker()).run(full=True)
    with Session(teammate) as session:
        learned = session.get(Ticket, "SUP-117")
        assert learned is not None and learned.approved_by == "Marek Nowak"
    teammate.dispose()


async def test_send_back_quotes_the_line_and_moves_to_needs_work(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_diff(app, pilot, "SUP-62")
        view = screen.query_one(DiffView)
        await pilot.press("right_curly_bracket", "j", "j", "j", "j", "j")
        assert view.quote() == "web/modules/custom/site_fix/site_fix.module:12"
        await pilot.press("s")
        await pilot.pause()
        assert isinstance(app.screen, CommentDialog)
        area = app.screen.query_one(TextArea)
        assert area.text == "web/modules/custom/site_fix/site_fix.module:12: "
        area.insert("a doc block needs @return")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        said = "web/modules/custom/site_fix/site_fix.module:12: a doc block needs @return"
        ticket = stored(world.board, "SUP-62")
        assert ticket.column is BoardColumn.NEEDS_WORK and ticket.approved_by is None
        [move] = outbox_of(world.board, "SUP-62")
        assert move.payload == {**move.payload, "to": "Needs Work", "comment": said}
        await settle(app, pilot, PUSH_DELAY + 0.2)
    assert world.sandbox.issue("SUP-62")["fields"]["status"]["name"] == "Needs Work"
    assert said in jira_comments(world.sandbox, "SUP-62")


async def test_a_branch_not_pushed_says_so_and_cannot_be_approved(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_diff(app, pilot, "SUP-86")
        view = screen.query_one(DiffView)
        assert view.note.startswith("the branch SUP-86-cron-failing-on-northwind-nl is not pushed")
        await pilot.press("a")
        await settle(app, pilot)
        assert app.screen is screen  # nothing to confirm: it says why instead
        assert stored(world.board, "SUP-86").column is BoardColumn.CODE_REVIEW
        assert outbox_of(world.board, "SUP-86") == []
