"""Snapshots of each screen, so none drifts unnoticed. Update with --snapshot-update."""

from __future__ import annotations

from typing import Any

from triage.core.board.service import Board
from triage.storage.columns import BoardColumn
from triage.storage.models import OutboxEntry, OutboxState, Ticket
from triage.tui.app import TriageApp


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


def test_board_80x24(snap_compare: Any, app: TriageApp) -> None:
    assert snap_compare(app, terminal_size=(80, 24), press=["l", "l"])


def test_board_100x30(snap_compare: Any, app: TriageApp) -> None:
    assert snap_compare(app, terminal_size=(100, 30), press=["l"])


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


# -- changes not yet in Jira -------------------------------------------------------------------


def _with_changes(board: Board) -> str:
    """A move in conflict with Jira, a comment waiting and a failed move; the conflict's key."""
    from sqlmodel import Session, select

    todo = board.load().columns[BoardColumn.TODO]
    key, waiting, failing = todo[0].key, todo[1].key, todo[2].key
    accepted = "the client accepted on the phone"  # Ready To Deploy skips PO Review: override
    board.move(key, BoardColumn.READY_TO_DEPLOY, override_reason=accepted)
    board.comment(waiting, "Reproduced on dev")
    board.move(failing, BoardColumn.READY_TO_DEPLOY, override_reason=accepted)
    with Session(board.engine) as session:
        for entry in session.exec(select(OutboxEntry)):
            if entry.ticket_key == key:
                entry.state = OutboxState.CONFLICT
                entry.payload = {**entry.payload, "remote_status": "In Progress"}
                entry.last_error = f"Jira shows {key} in 'In Progress', not 'To Do'"
            elif entry.ticket_key == failing:
                entry.state = OutboxState.FAILED
                entry.last_error = (
                    "Jira's workflow has no transition from 'To Do' to Ready To Deploy"
                )
            session.add(entry)
        session.commit()
    return key


def test_card_in_conflict(snap_compare: Any, app: TriageApp) -> None:
    key = _with_changes(app.board)

    async def go_to_card(pilot: Any) -> None:
        await pilot.pause()
        assert app.board_screen is not None
        app.board_screen.jump_to(key)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(160, 48), run_before=go_to_card)


def test_ticket_in_conflict(snap_compare: Any, app: TriageApp) -> None:
    key = _with_changes(app.board)

    async def open_ticket(pilot: Any) -> None:
        await pilot.pause()
        app.action_open_ticket(key)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 36), run_before=open_ticket)
