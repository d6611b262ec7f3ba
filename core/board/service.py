"""The board's service: the cards per column, and the moves, comments and assignments on them.

Every change is checked by the workflow rules, then committed to the cache with its outbox
row before this returns, so what the screen shows as done is durable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine
from sqlmodel import Session

from triage.core.board.changes import BoardChanges
from triage.core.board.workflow import MoveCheck, check_move
from triage.core.config import Settings
from triage.core.errors import NotFound
from triage.core.tracker import identity
from triage.core.tracker.identity import Identity
from triage.storage import changes, queries
from triage.storage.columns import BoardColumn
from triage.storage.models import Comment, OutboxEntry, OutboxState, StatusChange, Ticket, utcnow
from triage.storage.queries import CardRow

if TYPE_CHECKING:
    from triage.core.tracker.push import Resolution

Clock = Callable[[], datetime]


@dataclass
class TicketDetail:
    """Everything the ticket screen shows."""

    ticket: Ticket
    comments: list[Comment]
    history: list[StatusChange]
    pending: list[OutboxEntry]

    @property
    def conflict(self) -> OutboxEntry | None:
        """The first change of this ticket in conflict with Jira, if any."""
        return next((e for e in self.pending if e.state is OutboxState.CONFLICT), None)


@dataclass
class BoardData:
    """The cards of the board, grouped by column and sorted, as loaded from the cache."""

    columns: dict[BoardColumn, list[CardRow]] = field(default_factory=dict)
    unmapped: list[CardRow] = field(default_factory=list)

    @property
    def total(self) -> int:
        """How many cards the board holds."""
        return sum(len(cards) for cards in self.columns.values()) + len(self.unmapped)


def sort_key(card: CardRow) -> tuple[int, float, str]:
    """Board order within a column: severity first, then most recently updated."""
    return (card.severity_rank, -card.updated.timestamp(), card.key)


class Board:
    """The board's operations on the cache, for the TUI and the command line alike."""

    def __init__(self, engine: Engine, settings: Settings, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self._me: Identity | None = None

    @property
    def me(self) -> Identity:
        """The current user: the configured Jira account, as Jira named it (see `identity`)."""
        if self._me is None:
            self._me = identity.current(self.engine, self.settings)
        return self._me

    def done_since(self) -> datetime:
        """Done shows tickets updated after this moment."""
        return self.clock() - timedelta(days=self.settings.board.done_window_days)

    def load(self) -> BoardData:
        """Read the cards the board shows, grouped by column, in board order."""
        data = BoardData(columns={column: [] for column in BoardColumn})
        for card in queries.card_rows(self.engine, self.done_since()):
            if card.column is None:
                data.unmapped.append(card)
            else:
                data.columns[card.column].append(card)
        return data

    def ticket(self, key: str) -> Ticket:
        """One cached ticket; NotFound if the cache has no such key."""
        with Session(self.engine) as session:
            found = queries.get_ticket(session, key.upper())
        if found is None:
            raise NotFound(f"ticket {key} is not in the cache: check the key or run `triage sync`")
        return found

    def card(self, key: str) -> CardRow:
        """The card of one ticket."""
        key = key.upper()
        with Session(self.engine) as session:
            found = queries.card_row(session, key)
        if found is None:
            raise NotFound(f"ticket {key} is not in the cache: check the key or run `triage sync`")
        return found

    def cards(self, keys: Iterable[str]) -> list[CardRow]:
        """The cards of these tickets, leaving out keys the cache no longer has."""
        with Session(self.engine) as session:
            found = (queries.card_row(session, key.upper()) for key in keys)
            return [card for card in found if card is not None]

    def detail(self, key: str) -> TicketDetail:
        """The ticket with its comments, moves and changes not yet in Jira."""
        key = key.upper()
        with Session(self.engine) as session:
            ticket = queries.get_ticket(session, key)
            if ticket is None:
                raise NotFound(f"ticket {key} is not in the cache: check the key")
            return TicketDetail(
                ticket,
                queries.comments_of(session, key),
                queries.history_of(session, key),
                queries.pending_changes(session, key),
            )

    def check(self, key: str, target: BoardColumn) -> MoveCheck:
        """What the workflow says about moving `key` to `target` now."""
        return check_move(self.ticket(key.upper()), target, self.me.name)

    @contextmanager
    def changes(self, key: str) -> Iterator[BoardChanges]:
        """Changes to one ticket by the current user, committed together when the block ends.

        NotFound if the cache has no such key; nothing is written if the block raises.
        """
        key, me = key.upper(), self.me
        try:
            with changes.changes(self.engine, key, actor=me.name, author_id=me.author_id,
                                 at=self.clock()) as change:  # fmt: skip
                yield BoardChanges(change, me)
        except changes.UnknownTicket as missing:
            raise NotFound(str(missing)) from None

    def move(
        self,
        key: str,
        target: BoardColumn,
        *,
        comment: str | None = None,
        override_reason: str | None = None,
    ) -> CardRow:
        """Move a ticket, durably; MoveRefused when blocked (without override) or uncommented."""
        with self.changes(key) as change:
            change.move(target, comment=comment, override_reason=override_reason)
        return self.card(key)

    def comment(self, key: str, body: str) -> CardRow:
        """Add a comment, durably; an empty one is refused."""
        with self.changes(key) as change:
            change.comment(body)
        return self.card(key)

    def assign_to_me(self, key: str) -> CardRow:
        """Assign a ticket to the current user, durably."""
        with self.changes(key) as change:
            change.assign_to_me()
        return self.card(key)

    def resolve(self, entry_id: int, how: Resolution) -> OutboxEntry:
        """Settle a change in conflict; accept-remote maps Jira's status by the config."""
        # Imported here: the push machinery is not needed to paint the board.
        from triage.core.tracker.mapping import StatusMapper
        from triage.core.tracker.push import resolve_conflict

        return resolve_conflict(
            self.engine, entry_id, how, StatusMapper(self.settings.jira.status_map)
        )

    def keys_with_open_changes(self) -> list[str]:
        """Tickets with changes pending, failed or in conflict."""
        with Session(self.engine) as session:
            return sorted({entry.ticket_key for entry in queries.pending_changes(session)})

    def open_changes(self) -> dict[OutboxState, int]:
        """How many changes are pending, failed or in conflict."""
        return queries.open_change_counts(self.engine)
