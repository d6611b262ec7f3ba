"""The rules of moving a ticket between the nine columns: one pure function, no I/O.

The guards read the facts Triage recorded about the ticket (its branch, the review
approval, the test site, the production deploy); a blocked move says why, and only a
deliberate, recorded override gets past a guard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from triage.storage.columns import BoardColumn

#: Columns a ticket may only enter with a comment saying why.
NEEDS_COMMENT = frozenset({BoardColumn.NEEDS_WORK, BoardColumn.FEEDBACK})


class TicketFacts(Protocol):
    """What the rules read of a ticket; `storage.models.Ticket` has all of it."""

    @property
    def column(self) -> BoardColumn | None: ...
    @property
    def assignee(self) -> str | None: ...
    @property
    def branch_ahead(self) -> int | None: ...
    @property
    def approved_by(self) -> str | None: ...
    @property
    def test_site_passed(self) -> bool: ...
    @property
    def prod_deploy_passed(self) -> bool: ...


@dataclass(frozen=True)
class MoveCheck:
    """The verdict on one move: allowed, or blocked with a reason; and what comes with it."""

    target: BoardColumn
    blocked: str | None = None
    """Why the move is refused; None when it may go ahead."""
    overridable: bool = False
    """Whether a deliberate override (confirmed, audited) may push past `blocked`."""
    needs_comment: bool = False
    """Whether the move must carry a comment saying why."""
    assign_to_me: bool = False
    """Whether the move also assigns the ticket to the actor."""
    records_approval: bool = False
    """Whether the move records the actor's review approval."""
    offers: tuple[str, ...] = ()
    """Follow-up actions worth offering once moved."""

    @property
    def allowed(self) -> bool:
        """True when the move may go ahead without an override."""
        return self.blocked is None


def neighbour(column: BoardColumn, step: int) -> BoardColumn | None:
    """The column `step` places right (positive) or left (negative), or None past the edge."""
    index = column.position + step
    columns = list(BoardColumn)
    return columns[index] if 0 <= index < len(columns) else None


def check_move(ticket: TicketFacts, target: BoardColumn, actor: str) -> MoveCheck:
    """Decide whether `actor` may move `ticket` to `target`, per DESIGN.md's status table."""
    if ticket.column == target:
        return MoveCheck(target, blocked=f"the ticket is already in {target.value}")
    needs_comment = target in NEEDS_COMMENT
    if target is BoardColumn.IN_PROGRESS:
        return MoveCheck(
            target,
            assign_to_me=not ticket.assignee,
            offers=("open the ticket's branch", "clone prod to dev"),
        )
    if target is BoardColumn.CODE_REVIEW and not (ticket.branch_ahead or 0) > 0:
        return _guard(target, "its branch is not pushed ahead of main: open the branch and push")
    if target is BoardColumn.QA:
        return _review_guard(ticket, target, actor)
    if target is BoardColumn.PO_REVIEW and not ticket.test_site_passed:
        return _guard(target, "no test site built from its branch has passed its smoke checks")
    if target is BoardColumn.DONE and not ticket.prod_deploy_passed:
        return _guard(target, "no production deploy of it has succeeded")
    return MoveCheck(target, needs_comment=needs_comment)


def _guard(target: BoardColumn, reason: str) -> MoveCheck:
    return MoveCheck(target, blocked=f"cannot move to {target.value}: {reason}", overridable=True)


def _review_guard(ticket: TicketFacts, target: BoardColumn, actor: str) -> MoveCheck:
    """QA needs an approval by someone other than the assignee; a reviewer's move is one."""
    if ticket.approved_by and ticket.approved_by != ticket.assignee:
        return MoveCheck(target)
    if ticket.column is BoardColumn.CODE_REVIEW and actor != ticket.assignee:
        return MoveCheck(target, records_approval=True)
    if ticket.column is BoardColumn.CODE_REVIEW:
        return _guard(target, "you are its assignee; the review must be approved by someone else")
    return _guard(target, "no review approval by someone other than the assignee is recorded")
