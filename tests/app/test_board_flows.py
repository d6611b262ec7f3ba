"""The key flows of the board, driven by keys as a user would, checked on screen and in cache."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session, select
from textual.widgets import Input

from triage.core.board.service import Board
from triage.storage.columns import BoardColumn
from triage.storage.models import AuditEntry, Comment, OutboxEntry, OutboxKind, Ticket
from triage.tui.app import TriageApp, make_app
from triage.tui.screens.board import BoardScreen
from triage.tui.screens.dialogs import BlockedMoveDialog, CommentDialog, MovePicker
from triage.tui.screens.help import HelpScreen
from triage.tui.screens.ticket import TicketScreen


def board_screen(app: TriageApp) -> BoardScreen:
    assert app.board_screen is not None
    return app.board_screen


def keys_in(app: TriageApp, column: BoardColumn) -> list[str]:
    return [card.key for card in board_screen(app).board_view.view(column).cards.cards]


def ticket(board: Board, key: str) -> Ticket:
    with Session(board.engine) as session:
        found = session.get(Ticket, key)
        assert found is not None
        return found


def outbox(board: Board, key: str) -> list[OutboxEntry]:
    with Session(board.engine) as session:
        return list(session.exec(select(OutboxEntry).where(OutboxEntry.ticket_key == key)))


async def test_board_shows_nine_titled_columns_with_counts(app: TriageApp) -> None:
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        views = board_screen(app).board_view.views
        assert [v.column.value for v in views] == [
            "To Do",
            "Needs Work",
            "In Progress",
            "Feedback/Impediment",
            "Code Review",
            "QA",
            "PO Review",
            "Ready To Deploy",
            "Done",
        ]
        for view in views:
            assert view.title_widget.count_text == str(len(view.cards.cards))
        assert sum(len(v.cards.cards) for v in views) == board_screen(app).data.total


async def test_narrow_board_keeps_the_focused_column_wide(app: TriageApp) -> None:
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        views = board_screen(app).board_view.views
        assert views[0].size.width >= 36
        assert all(v.collapsed for v in views[1:])
        await pilot.press("l", "l")
        await pilot.pause()
        assert not views[2].collapsed and views[2].size.width >= 36
        assert views[0].collapsed


async def test_shift_l_moves_the_card_to_the_next_column_and_the_cache(app: TriageApp) -> None:
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        card = board_screen(app).current_card
        assert card is not None and card.column is BoardColumn.TODO
        await pilot.press("L")
        await pilot.pause()
        # To Do → Needs Work asks why: nothing moves until it is answered.
        assert isinstance(app.screen, CommentDialog)
        assert card.key in keys_in(app, BoardColumn.TODO)
        await pilot.press(*"waiting for logs")
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert card.key in keys_in(app, BoardColumn.NEEDS_WORK)
        assert card.key not in keys_in(app, BoardColumn.TODO)
        assert board_screen(app).current_card is not None
        assert board_screen(app).current_card.key == card.key  # type: ignore[union-attr]
    stored = ticket(app.board, card.key)
    assert stored.column is BoardColumn.NEEDS_WORK
    kinds = [entry.kind for entry in outbox(app.board, card.key)]
    assert OutboxKind.MOVE in kinds


async def test_blocked_move_shows_its_reason_and_moves_nothing(app: TriageApp) -> None:
    board = app.board
    key = next(
        c.key
        for c in board.load().columns[BoardColumn.FEEDBACK]
        if not ticket(board, c.key).branch_ahead
    )
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        assert board_screen(app).jump_to(key)
        await pilot.press("L")
        await pilot.pause()
        assert isinstance(app.screen, BlockedMoveDialog)
        reason = str(app.screen.query_one("#blocked-reason").render())
        assert "not pushed ahead of main" in reason
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert key in keys_in(app, BoardColumn.FEEDBACK)
    assert ticket(board, key).column is BoardColumn.FEEDBACK
    assert outbox(board, key) == []


async def test_override_is_deliberate_and_audited(app: TriageApp) -> None:
    board = app.board
    key = next(
        c.key
        for c in board.load().columns[BoardColumn.FEEDBACK]
        if not ticket(board, c.key).branch_ahead
    )
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        board_screen(app).jump_to(key)
        await pilot.press("L")
        await pilot.pause()
        await pilot.press("o")  # focuses the reason first; nothing moves yet
        await pilot.pause()
        assert isinstance(app.screen, BlockedMoveDialog)
        await pilot.press(*"pair-reviewed on call", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert key in keys_in(app, BoardColumn.CODE_REVIEW)
    with Session(board.engine) as session:
        audit = list(session.exec(select(AuditEntry).where(AuditEntry.ticket_key == key)))
    assert [a.action for a in audit] == ["override-move"]
    assert "pair-reviewed on call" in audit[0].detail


async def test_move_picker_moves_to_any_column(app: TriageApp) -> None:
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        card = board_screen(app).current_card
        assert card is not None
        await pilot.press("m")
        await pilot.pause()
        assert isinstance(app.screen, MovePicker)
        await pilot.press("8")  # Ready To Deploy has no guard
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert card.key in keys_in(app, BoardColumn.READY_TO_DEPLOY)
    assert ticket(app.board, card.key).column is BoardColumn.READY_TO_DEPLOY


async def test_filter_narrows_every_column(app: TriageApp) -> None:
    me = app.board.me.name
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        await pilot.press("slash", "@", "m", "e")
        await pilot.pause()
        shown = [c for v in board_screen(app).board_view.views for c in v.cards.cards]
        assert shown and all(card.assignee == me for card in shown)
        site = shown[0].site
        assert site is not None
        filter_input = app.screen.query_one("#filter", Input)
        filter_input.value = f"site:{site}"
        await pilot.pause()
        shown = [c for v in board_screen(app).board_view.views for c in v.cards.cards]
        assert shown and all(card.site == site for card in shown)
        await pilot.press("escape")
        await pilot.pause()
        shown = [c for v in board_screen(app).board_view.views for c in v.cards.cards]
        assert len(shown) == board_screen(app).data.total


async def test_comment_is_stored_and_queued(app: TriageApp) -> None:
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        card = board_screen(app).current_card
        assert card is not None
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, CommentDialog)
        await pilot.press("ctrl+s")  # empty: refused, dialog stays
        await pilot.pause()
        assert isinstance(app.screen, CommentDialog)
        await pilot.press(*"Reproduced on dev", "ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, BoardScreen)
    with Session(app.board.engine) as session:
        comments = session.exec(select(Comment).where(Comment.ticket_key == card.key)).all()
    assert "Reproduced on dev" in [c.body for c in comments]
    assert OutboxKind.COMMENT in [e.kind for e in outbox(app.board, card.key)]


async def test_assign_to_me(app: TriageApp) -> None:
    board = app.board
    unassigned = next(c for c in board.load().columns[BoardColumn.TODO] if not c.assignee)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        board_screen(app).jump_to(unassigned.key)
        await pilot.press("a")
        await pilot.pause()
        assert board_screen(app).current_card is not None
        assert board_screen(app).current_card.assignee == board.me.name  # type: ignore[union-attr]
    assert ticket(board, unassigned.key).assignee == board.me.name
    assert [e.kind for e in outbox(board, unassigned.key)] == [OutboxKind.ASSIGN]


async def test_enter_opens_the_ticket_and_escape_returns(app: TriageApp) -> None:
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        card = board_screen(app).current_card
        assert card is not None
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TicketScreen) and app.screen.key == card.key
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, BoardScreen)


async def test_help_lists_every_binding_with_its_description(app: TriageApp) -> None:
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        descriptions = {row[1] for row in app.screen.rows}
        for wanted in ("Move left", "Move right", "Move…", "Open", "Filter", "Comment", "Quit"):
            assert wanted in descriptions
        assert all(row[0] for row in app.screen.rows)


async def test_keys_can_be_remapped_from_the_config(make_board: Callable[..., Board]) -> None:
    board = make_board(keys={"board.move_right": "ctrl+right"})
    app = make_app(board)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        card = board_screen(app).current_card
        assert card is not None
        await pilot.press("L")  # no longer bound
        await pilot.pause()
        assert isinstance(app.screen, BoardScreen)
        await pilot.press("ctrl+right")
        await pilot.pause()
        assert isinstance(app.screen, CommentDialog)  # To Do → Needs Work asks why


async def test_g_and_shift_g_jump_to_top_and_bottom(app: TriageApp) -> None:
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        cards = board_screen(app).board_view.views[0].cards
        await pilot.press("G")
        assert cards.cursor == len(cards.cards) - 1
        await pilot.press("g")
        assert cards.cursor == 0
        await pilot.press("j", "j", "k")
        assert cards.cursor == 1
