"""Snapshots of each screen, so none drifts unnoticed. Update with --snapshot-update."""

from __future__ import annotations

from typing import Any

from core.board import Board
from storage.models import BoardColumn, Ticket
from tui.app import TriageApp


def _first_without_branch(board: Board, column: BoardColumn) -> str:
    from sqlmodel import Session

    with Session(board.engine) as session:
        for card in board.load().columns[column]:
            found = session.get(Ticket, card.key)
            if found is not None and not found.branch_ahead:
                return card.key
    raise AssertionError(f"the demo has no {column.value} ticket without a branch")


def test_board_120x36(snap_compare: Any, app: TriageApp) -> None:
    assert snap_compare(app, terminal_size=(120, 36))


def test_board_200x50(snap_compare: Any, app: TriageApp) -> None:
    assert snap_compare(app, terminal_size=(200, 50), press=["l", "l", "j"])


def test_board_filtered(snap_compare: Any, app: TriageApp) -> None:
    assert snap_compare(app, terminal_size=(160, 48), press=["slash", *"@me", "enter"])


def test_ticket_detail(snap_compare: Any, app: TriageApp) -> None:
    assert snap_compare(app, terminal_size=(120, 36), press=["l", "l", "enter"])


def test_help(snap_compare: Any, app: TriageApp) -> None:
    assert snap_compare(app, terminal_size=(120, 40), press=["question_mark"])


def test_blocked_move(snap_compare: Any, app: TriageApp) -> None:
    key = _first_without_branch(app.board, BoardColumn.FEEDBACK)

    async def go_to_card(pilot: Any) -> None:
        await pilot.pause()
        assert app.board_screen is not None
        app.board_screen.jump_to(key)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 36), run_before=go_to_card, press=["L"])


def test_move_picker(snap_compare: Any, app: TriageApp) -> None:
    assert snap_compare(app, terminal_size=(120, 36), press=["l", "l", "m"])
