"""Changes to one ticket by the current user, checked by the workflow rules, made together.

`Board.changes(key)` opens one transaction on the ticket: a job that records a fact,
comments and moves the ticket pays one read and one commit, and what it changes is all on
record or none of it. Each move is checked against the ticket as the earlier changes in the
block left it (a fact recorded first can allow the move that follows).
"""

from __future__ import annotations

from triage.core.board.workflow import MoveCheck, check_move
from triage.core.redact import mask
from triage.core.tracker.identity import Identity
from triage.storage.changes import TicketChanges, TicketState
from triage.storage.columns import BoardColumn
from triage.storage.errors import TriageError


class MoveRefused(TriageError):
    """A move the workflow blocks, or that lacks the comment it needs."""

    def __init__(self, check: MoveCheck, message: str) -> None:
        super().__init__(message)
        self.check = check


class BoardChanges:
    """What a user may change on one ticket within `Board.changes`."""

    def __init__(self, change: TicketChanges, me: Identity) -> None:
        self._change, self._me = change, me

    @property
    def ticket(self) -> TicketState:
        """The ticket as the changes so far leave it."""
        return self._change.state

    def check(self, target: BoardColumn) -> MoveCheck:
        """What the workflow says about moving the ticket to `target` now."""
        return check_move(self._change.state, target, self._me.name)

    def facts(self, **facts: object) -> None:
        """Record facts about the ticket's work (they never go to Jira)."""
        self._change.facts(**facts)

    def has_comment(self, text: str, *, prefix: bool = False) -> bool:
        """Whether the ticket has (or queued) a comment with this text (or starting so)."""
        return self._change.has_comment(text, prefix=prefix)

    def comment(self, body: str) -> None:
        """Add a comment; an empty one is refused."""
        if not body.strip():
            raise TriageError("the comment is empty: type some text or press escape")
        self._change.comment(mask(body.strip()))

    def assign_to_me(self) -> None:
        """Assign the ticket to the current user."""
        self._change.assign((self._me.name, self._me.account_id))

    def move(
        self, target: BoardColumn, *, comment: str | None = None, override_reason: str | None = None
    ) -> None:
        """Move the ticket; MoveRefused when blocked (without override) or uncommented."""
        check = self.check(target)
        override_reason = (override_reason or "").strip() or None
        if not check.allowed and not (check.overridable and override_reason):
            raise MoveRefused(check, check.blocked or "the move is not allowed")
        if check.needs_comment and not (comment and comment.strip()):
            raise MoveRefused(check, f"a move to {target.value} needs a comment saying why")
        me = self._me
        # What is typed here goes to Jira and the audit log: never with a credential in it.
        self._change.move(
            target,
            comment=mask(comment.strip()) if comment else None,
            override_reason=mask(override_reason) if override_reason and not check.allowed
            else None,
            approved_by=me.name if check.records_approval else None,
            assign_to=(me.name, me.account_id) if check.assign_to_me else None,
        )  # fmt: skip
