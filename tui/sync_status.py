"""Where the cache stands with Jira: what the status line says, and what the workers report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from textual.message import Message

from triage.core.board.service import BoardData
from triage.core.redact import mask
from triage.storage.models import OutboxState
from triage.storage.queries import CardRow
from triage.tui.safe_text import line

if TYPE_CHECKING:
    from triage.core.tracker.push import PushResult
    from triage.core.tracker.sync import SyncResult

Changes = dict[OutboxState, int]
"""How many changes wait for Jira, are in conflict, or failed."""


@dataclass(frozen=True)
class SyncStatus:
    """What the status line tells about Jira."""

    connected: bool
    """Whether a Jira is configured at all."""
    running: bool = False
    synced_at: datetime | None = None
    error: str | None = None
    unreachable: bool = False
    """Whether the error is Jira not answering (rather than refusing)."""
    changes: Changes | None = None


def ago(moment: datetime, now: datetime) -> str:
    """How long ago `moment` was, in the fewest words: "just now", "3 min ago", "2 h ago"."""
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} days ago"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


SEPARATOR = ("  ·  ", "ok")


def describe(status: SyncStatus, now: datetime) -> list[tuple[str, str]]:
    """The status line's words about Jira, each with its look (a StatusLine component).

    A long sentence is the one part with the look "error"; the line shortens only that.
    """
    parts: list[tuple[str, str]] = []
    if not status.connected:
        parts.append(("local only: no Jira configured", "local"))
    elif status.running:
        parts.append(("syncing…", "busy"))
    elif status.error:
        label = "Jira unreachable" if status.unreachable else "sync failed"
        # The sentence may quote Jira or its URL: one clean line, no credential.
        parts.append((f"{label}: {line(mask(status.error)).rstrip('.')}", "error"))
        parts.append((" — r to retry", "hint"))
    elif status.synced_at is not None:
        parts.append((f"synced {ago(status.synced_at, now)}", "ok"))
    else:
        parts.append(("not synced yet — r to sync", "ok"))
    changes = status.changes or {}
    waiting = changes.get(OutboxState.PENDING, 0)
    conflicts = changes.get(OutboxState.CONFLICT, 0)
    failed = changes.get(OutboxState.FAILED, 0)
    if waiting:
        parts += [SEPARATOR, (f"{_plural(waiting, 'change')} waiting", "waiting")]
    if conflicts:
        parts += [SEPARATOR, (_plural(conflicts, "conflict"), "conflict")]
    if failed:
        parts += [SEPARATOR, (f"{failed} failed", "conflict")]
    return parts


class FirstCardsStored(Message):
    """The first page of a sync into an empty cache is stored: the board can show it."""

    def __init__(self, data: BoardData) -> None:
        super().__init__()
        self.data = data


class SyncFinished(Message):
    """A round with Jira ended: changes pushed, the cache synced, the cards read again.

    `data` is None when the round changed nothing the board shows.
    """

    def __init__(
        self,
        synced: SyncResult,
        pushed: PushResult,
        data: BoardData | None,
        synced_at: datetime | None,
        changes: Changes,
    ) -> None:
        super().__init__()
        self.synced = synced
        self.pushed = pushed
        self.data = data
        self.synced_at = synced_at
        self.changes = changes


class SyncFailed(Message):
    """A round with Jira could not reach it, or Jira refused it; `message` says why."""

    def __init__(self, message: str, unreachable: bool, changes: Changes | None) -> None:
        super().__init__()
        self.message = message
        self.unreachable = unreachable
        self.changes = changes


class PushFinished(Message):
    """Waiting changes went to Jira (or could not); the cards of their tickets come along."""

    def __init__(self, pushed: PushResult, cards: list[CardRow], changes: Changes) -> None:
        super().__init__()
        self.pushed = pushed
        self.cards = cards
        self.changes = changes
