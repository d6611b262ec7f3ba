"""Push out: replay the outbox to Jira, each change exactly once, in the order it was made.

Every step checks Jira first, so a replay after a crash finds work already done and only
marks it: a move whose issue already shows the target status is done; a comment Jira
already has (same text, by us, since the change was made) is adopted, not posted twice.
A move whose issue Jira shows somewhere the user never saw is a conflict: both states are
kept for the user to retry (move anyway), discard, or accept Jira's state.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.engine import Engine
from sqlmodel import Session

from triage.core.config import Settings
from triage.core.errors import NotFound
from triage.core.tracker import identity
from triage.core.tracker.client import (
    NewIssue,
    Tracker,
    TrackerForbidden,
    TrackerRejected,
    TrackerUnreachable,
)
from triage.core.tracker.mapping import StatusMapper, adf_text, parse_time, user_id, user_name
from triage.storage import outbox
from triage.storage.columns import BoardColumn
from triage.storage.intake import PLACEHOLDER
from triage.storage.models import OutboxEntry, OutboxKind, OutboxState, Ticket, utcnow
from triage.storage.outbox import adopt_created

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
    others: int = 0
    """Changes waiting that other members make and only they may send."""
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for `triage push` and the status area."""
        line = (
            f"push: {self.done} done, {self.conflicts} in conflict, {self.failed} failed, "
            f"{self.waiting} waiting"
        )
        if self.others:
            line += f", {self.others} waiting for other members to push"
        return line + (f" ({self.errors[-1]})" if self.errors else "")


def comparable(text: str) -> str:
    """A comment's text as both Jira flavours keep it, to know it again after a crash.

    Cloud drops blank paragraphs; Data Center turns CRLF into LF and collapses runs of
    blank lines; both lose trailing spaces.
    """
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _refused(entry: OutboxEntry, status: int, why: str) -> str:
    """What a refusal of one change says: Jira's reason, and how to settle it."""
    return (
        f"Jira refused this {entry.kind.value} on {entry.ticket_key} ({status}: {why}): "
        f"fix it in Jira, then `triage resolve {entry.id} retry`, or discard it"
    )


def _id(entry: OutboxEntry) -> int:
    assert entry.id is not None, "an outbox row read from the cache has an id"
    return entry.id


class _Heartbeat:
    """Renews the pusher's lease on a change every third of the lease while it is sent."""

    def __init__(self, pusher: Pusher, entry: OutboxEntry) -> None:
        self.pusher, self.entry_id = pusher, _id(entry)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name="outbox-lease", daemon=True)

    def _beat(self) -> None:
        pusher = self.pusher
        while not self.stop.wait(pusher.lease.total_seconds() / 3):
            until = pusher.clock() + pusher.lease
            if not outbox.renew_lease(pusher.engine, self.entry_id, pusher.owner, until):
                return

    def __enter__(self) -> _Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


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
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.tracker = tracker
        self.clock = clock
        self.identity = identity.current(engine, settings)
        self.statuses = StatusMapper(settings.jira.status_map)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease = timedelta(seconds=settings.jira.push_lease_seconds)
        self._created: dict[str, str] = {}
        """Placeholder key → the key Jira gave it, for later changes of the same run."""
        self._creator: IssueCreator | None = None

    def run(self) -> PushResult:
        """Push every change that is due and ours to send; stop early when Jira is unreachable."""
        result = PushResult()
        blocked: set[str] = set()
        due = outbox.any_due(self.engine, self.clock())
        authors = self.authors(due)
        if not due:
            result.waiting, result.others = outbox.waiting_counts(self.engine, authors)
            return result
        while (entry := self._claim(authors, blocked)) is not None:
            try:
                outcome, note = self._send(entry)
            except TrackerUnreachable as error:
                self._retry_later(entry, str(error))
                result.errors.append(str(error))
                break
            self._finish(entry, outcome, note)
            if outcome is _Outcome.DONE:
                result.done += 1
            else:
                # Later changes of this ticket wait for the user to settle this one.
                blocked.add(entry.ticket_key)
                if outcome is _Outcome.CONFLICT:
                    result.conflicts += 1
                else:
                    result.failed += 1
                    result.errors.append(note)
        result.waiting, result.others = outbox.waiting_counts(self.engine, authors)
        return result

    def authors(self, due: bool = True) -> list[str]:
        """The authors whose changes this pusher sends: the tracker's account.

        Asks Jira (`/myself`) once, while the cache does not know who the account is, and
        before sending for a token without a user name: such accounts share one cache key.
        """
        if self.identity.account_id is None or (due and not self.settings.jira.user):
            try:
                self.identity = identity.resolve(self.engine, self.settings, self.tracker)
            except TrackerUnreachable:
                pass  # its changes are tried, and back off, like any other
        return self.identity.authors()

    def _send(self, entry: OutboxEntry) -> tuple[_Outcome, str]:
        """Apply one claimed change, its lease renewed meanwhile; a refusal is its outcome."""
        try:
            with _Heartbeat(self, entry):
                return self._apply(entry)
        except TrackerForbidden as error:
            return _Outcome.FAILED, _refused(entry, 403, error.detail or "permission denied")
        except TrackerRejected as error:
            if error.status == 404:
                return _Outcome.FAILED, _refused(entry, 404, "it no longer exists in Jira")
            return _Outcome.FAILED, _refused(entry, error.status, str(error))
        except TrackerUnreachable:
            raise  # the caller schedules a retry, under this pusher's lease
        except BaseException:
            outbox.finish(self.engine, _id(entry), self.owner)  # let it go for the next push
            raise

    # -- reading and writing the outbox -------------------------------------------------------

    def _claim(self, authors: list[str], blocked: set[str]) -> OutboxEntry | None:
        return outbox.claim_next(
            self.engine,
            self.owner,
            now=self.clock(),
            lease=self.lease,
            authors=authors,
            skip=blocked,
        )

    def _retry_later(self, entry: OutboxEntry, error: str) -> None:
        attempts = entry.attempts + 1
        delay = min(timedelta(seconds=5 * 2 ** min(attempts, 10)), MAX_BACKOFF)
        outbox.finish(
            self.engine,
            _id(entry),
            self.owner,
            attempts=attempts,
            last_error=error,
            next_attempt_at=self.clock() + delay,
        )

    def _finish(self, entry: OutboxEntry, outcome: _Outcome, note: str) -> None:
        state = {
            _Outcome.DONE: OutboxState.DONE,
            _Outcome.CONFLICT: OutboxState.CONFLICT,
            _Outcome.FAILED: OutboxState.FAILED,
        }[outcome]
        outbox.finish(
            self.engine,
            _id(entry),
            self.owner,
            state=state,
            attempts=entry.attempts + 1,
            last_error=note or None,
            payload=entry.payload,
            finished=self.clock() if outcome is _Outcome.DONE else None,
        )

    # -- one change ---------------------------------------------------------------------------

    def _apply(self, entry: OutboxEntry) -> tuple[_Outcome, str]:
        if entry.kind is OutboxKind.CREATE:
            return self._create(entry)
        entry.ticket_key = self._created.get(entry.ticket_key, entry.ticket_key)
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
        why = str(payload.get("comment") or "")
        if self.statuses.column(remote) == target:
            if why:  # moved already (by us before a crash, or by someone): say why once
                self._comment(key, why, entry.created)
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
        # The why rides with the transition: Jira adds it only if the move happens.
        self.tracker.transition(key, str(transition["id"]), fields or None, why)
        if why:
            remote_id = self._find_comment(key, why, entry.created)
            if remote_id is not None:
                outbox.link_comment(self.engine, key, why, remote_id)
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
        outbox.link_comment(self.engine, key, body, remote_id)

    def _find_comment(self, key: str, body: str, since: datetime) -> str | None:
        name, account = self.identity.name, self.identity.account_id
        earliest = since - timedelta(minutes=5)
        wanted = comparable(body)
        for remote in self.tracker.comments(key):
            author = remote.get("author")
            mine = user_id(author) == account if account else user_name(author) == name
            if (
                mine
                and comparable(adf_text(remote.get("body"))) == wanted
                and parse_time(str(remote["created"])) >= earliest
            ):
                return str(remote["id"])
        return None

    def _assign(self, entry: OutboxEntry) -> tuple[_Outcome, str]:
        key, account = entry.ticket_key, entry.payload.get("account_id")
        if entry.payload.get("to_author") and self.identity.account_id:
            account = self.identity.account_id
        remote = self.tracker.issue(key, ["assignee"])["fields"].get("assignee")
        if user_id(remote) != account:
            self.tracker.assign(key, account)
        return _Outcome.DONE, ""

    # -- creating an issue, exactly once --------------------------------------------------------

    def _create(self, entry: OutboxEntry) -> tuple[_Outcome, str]:
        """Create the issue unless Jira already has one with its dedupe label; adopt its key."""
        payload = entry.payload
        dedupe = str(payload["dedupe"])
        found = self.tracker.keys(f'labels = "{dedupe}"')
        if found:
            key = found[0]
            jira_id = str(self.tracker.issue(key, ["labels"]).get("id", ""))
        else:
            made = self.tracker.create_issue(
                NewIssue(
                    project=str(payload["project"]),
                    issue_type=str(payload["issue_type"]),
                    summary=str(payload["summary"]),
                    description=str(payload.get("description") or ""),
                    priority=str(payload.get("priority") or ""),
                    labels=tuple(str(label) for label in payload.get("labels") or ()),
                    assignee=_assignee_ref(self.tracker.flavour, payload),
                )
            )
            key, jira_id = str(made["key"]), str(made.get("id", ""))
        adopt_created(self.engine, entry.ticket_key, key, jira_id)
        self._created[entry.ticket_key] = key
        entry.payload = {**payload, "key": key}
        entry.ticket_key = key
        return _Outcome.DONE, ""


def _assignee_ref(flavour: str, payload: dict[str, Any]) -> str | None:
    """The assignee as the tracker takes it: account id on Cloud, user name on Data Center."""
    if flavour == "cloud":
        return str(payload["account_id"]) if payload.get("account_id") else None
    name = payload.get("account_id") or payload.get("assignee")
    return str(name) if name else None


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
