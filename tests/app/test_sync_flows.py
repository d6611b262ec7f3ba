"""The board syncing with a real sandbox Jira on loopback, driven by keys as a user would."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from app_clock import FROZEN_NOW
from rich.console import Group
from rich.text import Text
from sqlmodel import Session, select
from textual.pilot import Pilot
from textual.widgets import Static

from triage.core.board.service import Board
from triage.core.tracker.client import Credentials, JiraTracker, Tracker
from triage.sandbox.agency import build_agency
from triage.sandbox.jira_server import JiraSandbox
from triage.storage.columns import BoardColumn
from triage.storage.models import OutboxEntry, OutboxKind, OutboxState, Ticket
from triage.tui.app import PUSH_DELAY, TriageApp, make_app
from triage.tui.screens.board import BoardScreen, StatusLine
from triage.tui.screens.dialogs import MovePicker
from triage.tui.screens.ticket import TicketScreen
from triage.tui.widgets.card_list import CARD_HEIGHT

JIRA = {"projects": ["SUP"]}


@dataclass
class World:
    """A demo board and the sandbox Jira that holds the same agency."""

    board: Board
    sandbox: JiraSandbox

    def tracker(self) -> JiraTracker:
        user = self.sandbox.user
        return JiraTracker(Credentials(self.sandbox.url, self.sandbox.token, user), "cloud")

    def app(self, factory: Callable[[], Tracker] | None = None) -> TriageApp:
        return make_app(self.board, factory or self.tracker)


@pytest.fixture
def world(make_board: Callable[..., Board]) -> Iterator[World]:
    board = make_board(jira=JIRA)
    agency = build_agency(tickets=120, seed=3, now=FROZEN_NOW)
    # Log in as the demo's "me", so Jira and the cache agree on who pushes.
    me = next(p for p in agency.people if p.account_id == board.me.account_id)
    sandbox = JiraSandbox.from_agency(agency, flavour="cloud", user=me.email)
    sandbox.set_clock(lambda: FROZEN_NOW)
    sandbox.start()
    try:
        yield World(board, sandbox)
    finally:
        sandbox.stop()


def screen(app: TriageApp) -> BoardScreen:
    assert app.board_screen is not None
    return app.board_screen


def status(app: TriageApp) -> str:
    return screen(app).query_one(StatusLine).render().plain


async def first_sync(app: TriageApp, pilot: Pilot[None]) -> None:
    """Wait for the sync the app starts after its first paint."""
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def settle(app: TriageApp, pilot: Pilot[None]) -> None:
    """Let a debounced push start, then wait for every worker and the messages they posted."""
    await pilot.pause(PUSH_DELAY + 0.2)
    await app.workers.wait_for_complete()
    await pilot.pause()


def stored(board: Board, key: str) -> Ticket:
    with Session(board.engine) as session:
        found = session.get(Ticket, key)
        assert found is not None
        return found


def moves(board: Board, key: str) -> list[OutboxEntry]:
    with Session(board.engine) as session:
        query = select(OutboxEntry).where(
            OutboxEntry.ticket_key == key, OutboxEntry.kind == OutboxKind.MOVE
        )
        return list(session.exec(query))


def card_head(app: TriageApp, key: str) -> str:
    """The first line of the card `key` as drawn (the card is made current first)."""
    assert screen(app).jump_to(key)
    cards = screen(app).board_view.current_list
    return cards.render_line((cards.cursor - cards.first) * CARD_HEIGHT).text


def changes_text(ticket_screen: TicketScreen) -> str:
    """What the ticket screen says about changes not yet in Jira."""
    content = ticket_screen.query_one("#ticket-changes", Static).content
    assert isinstance(content, Group)
    return "\n".join(part.plain for part in content.renderables if isinstance(part, Text))


def jira_status(sandbox: JiraSandbox, key: str) -> str:
    return str(sandbox.issue(key)["fields"]["status"]["name"])


def first_todo(board: Board) -> str:
    return board.load().columns[BoardColumn.TODO][0].key


async def move_to_ready(app: TriageApp, pilot: Pilot[None], key: str) -> None:
    """Move `key` to Ready To Deploy (no guard, no comment) with the move picker."""
    assert screen(app).jump_to(key)
    await pilot.press("m")
    await pilot.pause()
    assert isinstance(app.screen, MovePicker)
    await pilot.press("8")
    await pilot.pause()


async def test_first_sync_waits_for_the_first_paint(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    import textual._compositor as compositor

    painted: list[bool] = []
    render = compositor.Compositor.render_update

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        painted.append(True)
        return render(self, *args, **kwargs)

    monkeypatch.setattr(compositor.Compositor, "render_update", spy)
    connected_after_paint: list[bool] = []

    def factory() -> Tracker:
        connected_after_paint.append(bool(painted))
        return world.tracker()

    app = world.app(factory)
    async with app.run_test(size=(160, 48)) as pilot:
        await first_sync(app, pilot)
        assert connected_after_paint == [True]
        assert "synced just now" in status(app)


async def test_r_syncs_and_the_status_line_says_so(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(160, 48)) as pilot:
        await first_sync(app, pilot)
        assert "synced just now" in status(app)
        key = first_todo(world.board)
        world.sandbox.edit(key, summary="Renamed in Jira")
        before = world.sandbox.total_calls()
        world.sandbox.latency_ms = 100  # long enough to see the sync running
        await pilot.press("r")
        assert "syncing…" in status(app)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert world.sandbox.total_calls() > before
        assert "synced just now" in status(app)
        assert stored(world.board, key).summary == "Renamed in Jira"
        assert any(
            card.summary == "Renamed in Jira" for card in screen(app).data.columns[BoardColumn.TODO]
        )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_unreachable_jira_is_said_and_keys_keep_working(world: World) -> None:
    gate = threading.Event()
    url = f"http://127.0.0.1:{closed_port()}"

    def factory() -> Tracker:
        gate.wait(timeout=10)  # Jira "takes its time" until the test has pressed its keys
        return JiraTracker(Credentials(url, "token", "me@agency.example"), "cloud")

    app = world.app(factory)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert "syncing…" in status(app)
        cards = screen(app).board_view.current_list
        assert cards.cursor == 0
        await pilot.press("j", "j")
        assert cards.cursor == 2  # while the sync hangs
        gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        line = status(app)
        assert "Jira unreachable: " in line and "is not reachable" in line
        assert line.rstrip().endswith("— r to retry")
        await pilot.press("k")
        assert cards.cursor == 1


async def test_a_local_move_reaches_jira_shortly(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(160, 48)) as pilot:
        await first_sync(app, pilot)
        key = first_todo(world.board)
        await move_to_ready(app, pilot, key)
        assert "⟳" in card_head(app, key)
        assert "1 change waiting" in status(app)
        await settle(app, pilot)
        assert jira_status(world.sandbox, key) == "Ready To Deploy"
        assert [entry.state for entry in moves(world.board, key)] == [OutboxState.DONE]
        assert "⟳" not in card_head(app, key)
        assert "waiting" not in status(app)


async def make_conflict(world: World, app: TriageApp, pilot: Pilot[None]) -> str:
    """Someone moves a ticket in Jira while I move it here: my push meets their move."""
    await first_sync(app, pilot)
    key = first_todo(world.board)
    world.sandbox.edit(key, status="In Progress")
    await move_to_ready(app, pilot, key)
    await settle(app, pilot)
    # A sync after the conflict brings Jira's move in, and my move still shows over it.
    # Later work in Jira moves the watermark past Jira's move: no plain sync brings it again.
    later = world.board.load().columns[BoardColumn.TODO][1].key
    world.sandbox.edit(later, summary="Later work", at=FROZEN_NOW + timedelta(minutes=10))
    await pilot.press("r")
    await settle(app, pilot)
    assert stored(world.board, key).column is BoardColumn.READY_TO_DEPLOY
    return key


async def test_a_conflict_shows_on_the_card_and_the_ticket(world: World) -> None:
    app = world.app()
    async with app.run_test(size=(160, 48)) as pilot:
        key = await make_conflict(world, app, pilot)
        assert [entry.state for entry in moves(world.board, key)] == [OutboxState.CONFLICT]
        assert "⚠" in card_head(app, key)
        assert "1 conflict" in status(app)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TicketScreen)
        shown = changes_text(app.screen)
        assert "you moved it to Ready To Deploy" in shown and "Jira shows In Progress" in shown
        assert {"R", "D", "A"} <= set(app.screen.active_bindings)


@pytest.mark.parametrize(
    ("key_press", "column", "in_jira", "state"),
    [
        ("R", BoardColumn.READY_TO_DEPLOY, "Ready To Deploy", OutboxState.DONE),
        ("D", BoardColumn.IN_PROGRESS, "In Progress", OutboxState.DISCARDED),
        ("A", BoardColumn.IN_PROGRESS, "In Progress", OutboxState.DISCARDED),
    ],
    ids=["retry", "discard", "accept-jira"],
)
async def test_settling_a_conflict(
    world: World, key_press: str, column: BoardColumn, in_jira: str, state: OutboxState
) -> None:
    app = world.app()
    async with app.run_test(size=(160, 48)) as pilot:
        key = await make_conflict(world, app, pilot)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press(key_press)
        await settle(app, pilot)
        assert [entry.state for entry in moves(world.board, key)] == [state]
        assert stored(world.board, key).column is column
        assert jira_status(world.sandbox, key) == in_jira
        assert isinstance(app.screen, TicketScreen)
        assert not app.screen.query_one("#ticket-changes").display
        assert "R" not in app.screen.active_bindings
        await pilot.press("escape")
        await pilot.pause()
        head = card_head(app, key)
        assert "⚠" not in head and "⟳" not in head
        assert screen(app).current_card is not None
        assert screen(app).current_card.column is column  # type: ignore[union-attr]
        assert "conflict" not in status(app)


def test_accepting_jira_maps_its_status_by_the_config(make_board: Callable[..., Board]) -> None:
    from triage.core.tracker.push import Resolution

    board = make_board(jira={**JIRA, "status_map": {"Waiting for Vendor": "Feedback/Impediment"}})
    key = first_todo(board)
    board.move(key, BoardColumn.READY_TO_DEPLOY)
    with Session(board.engine) as session:
        entry = session.exec(select(OutboxEntry).where(OutboxEntry.ticket_key == key)).one()
        entry.state = OutboxState.CONFLICT
        entry.payload = {**entry.payload, "remote_status": "Waiting for Vendor"}
        session.add(entry)
        session.commit()
        entry_id = entry.id
    assert entry_id is not None
    board.resolve(entry_id, Resolution.ACCEPT_REMOTE)
    ticket = stored(board, key)
    assert ticket.jira_status == "Waiting for Vendor"
    assert ticket.column is BoardColumn.FEEDBACK
    assert board.card(key).sync_state == ""


async def test_without_jira_the_board_says_it_is_local(world: World) -> None:
    app = make_app(world.board)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert "local only: no Jira configured" in status(app)
        await pilot.press("r")
        await pilot.pause()
        assert not list(app.workers)
        assert world.sandbox.total_calls() == 0
