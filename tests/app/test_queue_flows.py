"""The SLA queue in the app against a real sandbox Jira: `Q` opens it, `n` takes the next."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from app_clock import FROZEN_NOW
from sqlmodel import Session, select
from textual.pilot import Pilot
from textual.widgets import Label, OptionList, Static

from triage.core.board.service import Board
from triage.core.sla.queue import TAKE_FROM, Queue
from triage.core.tracker.client import Credentials, JiraTracker
from triage.sandbox.agency import build_agency
from triage.sandbox.jira_server import JiraSandbox
from triage.storage.columns import BoardColumn
from triage.storage.models import OutboxEntry, OutboxState, Ticket
from triage.tui.app import PUSH_DELAY, TriageApp, make_app
from triage.tui.screens.actions import ActionPanel
from triage.tui.screens.board import StatusLine
from triage.tui.screens.queue import QueueScreen, QueueTable
from triage.tui.screens.ticket import TicketScreen


@pytest.fixture
def sandbox(
    make_board: Callable[..., Board], tmp_path: Path
) -> Iterator[tuple[Board, JiraSandbox]]:
    """A demo board, the sandbox Jira holding the same agency, and a sites inventory."""
    sites = tmp_path / "sites.toml"
    board = make_board(jira={"projects": ["SUP"]}, sites_file=str(sites))
    top = next(
        item
        for item in Queue(board.engine, board.settings, lambda: FROZEN_NOW, {}).items()
        if item.assignee is None and item.column in TAKE_FROM
    )
    site = board.ticket(top.key).site
    sites.write_text(
        f"""
[sites.{site}]
name = "The site of the top ticket"
client = "A client"
repo = "{tmp_path / "remote.git"}"
checkout = "{tmp_path / "checkout"}"

[sites.{site}.envs.prod]
web_container = "site-prod-web"
db_container = "site-prod-db"

[sites.{site}.envs.dev]
web_container = "site-dev-web"
db_container = "site-dev-db"
""",
        encoding="utf-8",
    )
    agency = build_agency(tickets=120, seed=3, now=FROZEN_NOW)
    me = next(p for p in agency.people if p.account_id == board.me.account_id)
    jira = JiraSandbox.from_agency(agency, flavour="cloud", user=me.email)
    jira.set_clock(lambda: FROZEN_NOW)
    jira.start()
    try:
        yield board, jira
    finally:
        jira.stop()


def app_on(board: Board, jira: JiraSandbox) -> TriageApp:
    def tracker() -> JiraTracker:
        return JiraTracker(Credentials(jira.url, jira.token, jira.user), "cloud")

    return make_app(board, tracker)


async def until(pilot: Pilot[None], condition: Callable[[], bool]) -> None:
    """Let the app run until `condition` holds; at most five seconds."""
    for _ in range(50):
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError("the app did not get there within five seconds")


async def settled(app: TriageApp, pilot: Pilot[None], wait: float = 0.0) -> None:
    await pilot.pause(wait)
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_take_next_assigns_moves_offers_the_branch_and_jira_gets_it(
    sandbox: tuple[Board, JiraSandbox],
) -> None:
    board, jira = sandbox
    app = app_on(board, jira)
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(app, pilot)  # the first sync, then the ranking it starts
        assert app.ranking is not None and app.board_screen is not None
        status = app.board_screen.query_one(StatusLine).render().plain
        assert f"{app.ranking.breached:,} breached" in status
        await pilot.press("Q")
        await settled(app, pilot)
        assert isinstance(app.screen, QueueScreen)
        top = next(i for i in app.ranking.items if i.assignee is None and i.column in TAKE_FROM)
        table = app.screen.query_one(QueueTable)
        assert table.row_count == len(app.ranking.items)
        assert str(app.screen.query_one("#queue-why", Static).content).startswith(
            f"{app.ranking.items[0].key} #1: "
        )

        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ActionPanel))

        # The action panel offers the branch and the dev clone of the ticket taken.
        assert isinstance(app.screen, ActionPanel)
        offered = app.screen.query_one(OptionList)
        labels = [str(offered.get_option_at_index(i).prompt) for i in range(offered.option_count)]
        assert any("Open branch" in label for label in labels)
        assert any("Clone prod → dev" in label for label in labels)
        assert top.key in str(app.screen.query_one(Label).content)
        await pilot.press("escape")
        await pilot.pause()
        ticket = board.ticket(top.key)
        assert (ticket.column, ticket.assignee) == (BoardColumn.IN_PROGRESS, board.me.name)

        # The outbox carries the move and the assignment to Jira.
        await settled(app, pilot, PUSH_DELAY + 0.3)
        with Session(board.engine) as session:
            entries = session.exec(select(OutboxEntry).where(OutboxEntry.ticket_key == top.key))
            states = sorted((e.kind.value, e.state) for e in entries)
        assert states == [("assign", OutboxState.DONE), ("move", OutboxState.DONE)]
        fields = jira.issue(top.key)["fields"]
        assert fields["status"]["name"] == "In Progress"
        assert fields["assignee"]["accountId"] == board.me.account_id

        # The queue shows the ticket held now, and the ticket screen says why it sits there.
        assert app.ranking.by_key[top.key].assignee == board.me.name
        await pilot.press("escape")
        app.action_open_ticket(top.key)
        await pilot.pause()
        assert isinstance(app.screen, TicketScreen)
        why = str(app.screen.query_one("#ticket-queue", Static).content)
        assert why.startswith(f"#{app.ranking.by_key[top.key].rank} in the queue: ")


async def test_cards_show_time_left_and_filters_read_the_queue(
    make_board: Callable[..., Board],
) -> None:
    board = make_board()
    app = make_app(board)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        screen = app.board_screen
        assert screen is not None and app.ranking is not None
        breached = next(i for i in app.ranking.items if i.state == "breached")
        assert screen.jump_to(breached.key)
        cards = screen.board_view.current_list
        head = cards.render_line((cards.cursor - cards.first) * 5).text
        assert f"{breached.key} -" in head
        await pilot.press("slash", *"sla:breached", "enter")
        await pilot.pause()
        shown = {c.key for view in screen.board_view.views for c in view.cards.cards}
        assert shown == {i.key for i in app.ranking.items if i.state == "breached"}
        assert f"{app.ranking.breached:,} breached" in screen.query_one(StatusLine).render().plain


async def test_take_next_with_nothing_free_says_so(make_board: Callable[..., Board]) -> None:
    board = make_board()
    with Session(board.engine) as session:
        for ticket in session.exec(select(Ticket)):
            ticket.assignee = ticket.assignee or "Someone Else"
            session.add(ticket)
        session.commit()
    app = make_app(board)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("Q")
        await pilot.pause()
        await pilot.press("n")
        await settled(app, pilot)
        assert isinstance(app.screen, QueueScreen)
        assert any("free to take" in n.message for n in app._notifications)
