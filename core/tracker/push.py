"""Push out: replay the outbox to Jira, each change exactly once, in the order it was made.

Every step checks Jira first, so a replay after a crash finds work already done and only
marks it: a move whose issue already shows the target status is done; a comment Jira
already has (same text, by us, since the change was made) is adopted, not posted twice.
A move whose issue Jira shows somewhere the user never saw is a conflict: both states are
kept for the user to retry (move anyway), discard, or accept Jira's state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from triage.core.config import Settings
from triage.core.errors import NotFound
from triage.core.tracker.client import (
    Tracker,
    TrackerAuthError,
    TrackerRejected,
    TrackerUnreachable,
)
from triage.core.tracker.mapping import StatusMapper, adf_text, parse_time, user_id, user_name
from triage.storage.columns import BoardColumn
from triage.storage.intake import PLACEHOLDER
from triage.storage.models import (
    Comment,
    OutboxEntry,
    OutboxKind,
    OutboxState,
    Ticket,
    table_of,
    utcnow,
)

if TYPE_CHECKING:
    from triage.core.intake.create import IssueCreator

MAX_BACKOFF = timedelta(minutes=10)


class Resolution(StrEnum):
    """How the user settles a conflict."""

    RETRY = "retry"
    """Apply my change anyway, from wherever Jira has the issue now."""
    DISCARD = "discard"
    """Drop my change; the next sync brings Jira's state."""
    ACCEPT_REMOTE = "accept-remote"
    """Drop my change and show Jira's state now."""


@dataclass
class PushResult:
    """What one push did."""

    done: int = 0
    conflicts: int = 0
    failed: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for `triage push` and the status area."""
        line = (
            f"push: {self.done} done, {self.conflicts} in conflict, {self.failed} failed, "
            f"{self.waiting} waiting"
        )
        return line + (f" ({self.errors[-1]})" if self.errors else "")


class _Outcome(StrEnum):
    DONE = "done"
    CONFLICT = "conflict"
    FAILED = "failed"


class Pusher:
    """Replays pending outbox rows against a tracker."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        tracker: Tracker,
        me: tuple[str, str | None],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.tracker = tracker
        self.me = me
        self.clock = clock
        self.statuses = StatusMapper(settings.jira.status_map)
        self._creator: IssueCreator | None = None
        self._created: dict[str, str] = {}
        """Placeholder key of a ticket created in this push -> its Jira key."""

    def run(self) -> PushResult:
        """Push every change that is due; stop early when Jira is unreachable."""
        result = PushResult()
        blocked: set[str] = set()
        now = self.clock()
        for entry in self._pending():
            entry.ticket_key = self._created.get(entry.ticket_key, entry.ticket_key)
            if entry.ticket_key in blocked or (
                entry.next_attempt_at is not None and entry.next_attempt_at > now
            ):
                # Later changes of a ticket wait for its earlier ones, also while those back off.
                blocked.add(entry.ticket_key)
                result.waiting += 1
                continue
            try:
                outcome, note = self._apply(entry)
            except TrackerUnreachable as error:
                self._retry_later(entry, str(error))
                result.waiting += 1
                result.errors.append(str(error))
                break
            except TrackerAuthError:
                raise
            except TrackerRejected as error:
                outcome, note = _Outcome.FAILED, str(error)
                if error.status == 404:
                    note = f"{entry.ticket_key} no longer exists in Jira"
            self._finish(entry, outcome, note)
            if outcome is _Outcome.DONE:
                result.done += 1
            else:
                blocked.add(entry.ticket_key)
                if outcome is _Outcome.CONFLICT:
                    result.conflicts += 1
                else:
                    result.failed += 1
                    result.errors.append(note)
        return result

    # -- reading and writing the outbox -------------------------------------------------------

    def _pending(self) -> list[OutboxEntry]:
        with Session(self.engine) as session:
            query = (
                select(OutboxEntry)
                .where(OutboxEntry.state == OutboxState.PENDING)
                .order_by(col(OutboxEntry.id))
            )
            return list(session.exec(query))

    def _retry_later(self, entry: OutboxEntry, error: str) -> None:
        attempts = entry.attempts + 1
        delay = min(timedelta(seconds=5 * 2 ** min(attempts, 10)), MAX_BACKOFF)
        self._update(
            entry.id, attempts=attempts, last_error=error, next_attempt_at=self.clock() + delay
        )

    def _finish(self, entry: OutboxEntry, outcome: _Outcome, note: str) -> None:
        state = {
            _Outcome.DONE: OutboxState.DONE,
            _Outcome.CONFLICT: OutboxState.CONFLICT,
            _Outcome.FAILED: OutboxState.FAILED,
        }[outcome]
        self._update(
            entry.id,
            state=state,
            attempts=entry.attempts + 1,
            last_error=note or None,
            payload=entry.payload,
            finished=self.clock() if outcome is _Outcome.DONE else None,
        )

    def _update(self, entry_id: int | None, **values: Any) -> None:
        outbox = table_of(OutboxEntry)
        with self.engine.begin() as connection:
            connection.execute(sa.update(outbox).where(outbox.c.id == entry_id).values(values))

    # -- one change ---------------------------------------------------------------------------

    def _apply(self, entry: OutboxEntry) -> tuple[_Outcome, str]:
        if entry.kind is OutboxKind.CREATE_ISSUE:
            return self._create_issue(entry)
        if entry.ticket_key.startswith(PLACEHOLDER):
            return _Outcome.FAILED, "its new ticket was not created in Jira: retry that first"
        if entry.kind is OutboxKind.MOVE:
            return self._move(entry)
        if entry.kind is OutboxKind.COMMENT:
            self._comment(entry.ticket_key, str(entry.payload["body"]), entry.created)
            return _Outcome.DONE, ""
        return self._assign(entry)

    def _create_issue(self, entry: OutboxEntry) -> tuple[_Outcome, str]:
        from triage.core.intake.create import IssueCreator

        if self._creator is None:
            self._creator = IssueCreator(self.engine, self.settings, cast(Any, self.tracker))
        self._created[entry.ticket_key] = self._creator.push(entry)
        return _Outcome.DONE, ""

    def _move(self, entry: OutboxEntry) -> tuple[_Outcome, str]:
        key, payload = entry.ticket_key, entry.payload
        target = BoardColumn(payload["to"])
        remote = self.tracker.issue(key, ["status"])["fields"]["status"]["name"]
        if payload.get("comment"):
            self._comment(key, str(payload["comment"]), entry.created)
        if self.statuses.column(remote) == target:
            return _Outcome.DONE, ""
        expected = str(payload.get("from_status") or "")
        if remote.casefold() != expected.casefold() and not payload.get("force"):
            payload["remote_status"] = remote
            return _Outcome.CONFLICT, (
                f"Jira shows {key} in {remote!r}, not {expected!r} where you moved it from: "
                "retry (move anyway), discard, or accept Jira's"
            )
        transition = self._transition_to(key, target)
        if transition is None:
            return _Outcome.FAILED, (
                f"Jira's workflow has no transition from {remote!r} to a status of "
                f"{target.value}: move it in Jira, or map that status in jira.status_map"
            )
        fields, missing = self._transition_fields(transition)
        if missing:
            return _Outcome.FAILED, (
                f"the transition to {transition['to']['name']!r} needs {', '.join(missing)}: "
                "move it in Jira"
            )
        self.tracker.transition(key, str(transition["id"]), fields or None)
        return _Outcome.DONE, ""

    def _transition_to(self, key: str, target: BoardColumn) -> dict[str, Any] | None:
        for transition in self.tracker.transitions(key):
            if self.statuses.column(str(transition["to"]["name"])) == target:
                return transition
        return None

    def _transition_fields(self, transition: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
        fields: dict[str, Any] = {}
        missing: list[str] = []
        for field_id, meta in (transition.get("fields") or {}).items():
            if not meta.get("required") or meta.get("hasDefaultValue"):
                continue
            if field_id == "resolution":
                fields["resolution"] = {"name": self.settings.jira.resolution}
            else:
                missing.append(str(meta.get("name") or field_id))
        return fields, missing

    def _comment(self, key: str, body: str, since: datetime) -> None:
        """Post `body` unless Jira already has it from us since `since`; link the local row."""
        existing = self._find_comment(key, body, since)
        remote_id = existing or str(self.tracker.add_comment(key, body)["id"])
        comment = table_of(Comment)
        with self.engine.begin() as connection:
            row = connection.execute(
                sa.select(comment.c.id)
                .where(
                    comment.c.ticket_key == key,
                    comment.c.body == body,
                    comment.c.remote_id.is_(None),
                )
                .order_by(comment.c.id)
                .limit(1)
            ).first()
            taken = connection.execute(
                sa.select(comment.c.id).where(
                    comment.c.ticket_key == key, comment.c.remote_id == remote_id
                )
            ).first()
            if row is not None and taken is None:
                connection.execute(
                    sa.update(comment).where(comment.c.id == row[0]).values(remote_id=remote_id)
                )

    def _find_comment(self, key: str, body: str, since: datetime) -> str | None:
        name, account = self.me
        earliest = since - timedelta(minutes=5)
        for remote in self.tracker.comments(key):
            author = remote.get("author")
            mine = user_id(author) == account if account else user_name(author) == name
            if (
                mine
                and adf_text(remote.get("body")).strip() == body.strip()
                and parse_time(str(remote["created"])) >= earliest
            ):
                return str(remote["id"])
        return None

    def _assign(self, entry: OutboxEntry) -> tuple[_Outcome, str]:
        key, account = entry.ticket_key, entry.payload.get("account_id")
        remote = self.tracker.issue(key, ["assignee"])["fields"].get("assignee")
        if user_id(remote) != account:
            self.tracker.assign(key, account)
        return _Outcome.DONE, ""


def resolve_conflict(
    engine: Engine, entry_id: int, how: Resolution, statuses: StatusMapper | None = None
) -> OutboxEntry:
    """Settle a conflicted (or failed) change: try again, drop it, or take Jira's state.

    `statuses` maps Jira's status to a column for accept-remote: pass the config's
    (`StatusMapper(settings.jira.status_map)`); without it only column-named statuses map.
    """
    with Session(engine) as session:
        entry = session.get(OutboxEntry, entry_id)
        settled = (OutboxState.CONFLICT, OutboxState.FAILED)
        if entry is None or entry.state not in settled:
            raise NotFound(
                f"change {entry_id} is not in conflict or failed: see `triage ls` for them"
            )
        if how is Resolution.RETRY:
            entry.payload = {**entry.payload, "force": True}
            entry.state = OutboxState.PENDING
            entry.next_attempt_at = None
        else:
            entry.state = OutboxState.DISCARDED
            entry.finished = utcnow()
            remote = entry.payload.get("remote_status")
            ticket = session.get(Ticket, entry.ticket_key)
            if how is Resolution.ACCEPT_REMOTE and remote and ticket is not None:
                ticket.jira_status = str(remote)
                ticket.column = (statuses or StatusMapper()).column(str(remote))
                session.add(ticket)
        session.add(entry)
        session.commit()
        session.refresh(entry)
        return entry
