"""The app's background work with Jira: sync on a timer and on `r`, push soon after changes.

Workers run one `core.workspace` function in a thread and post what happened; only the
message handlers here touch widgets, so no key ever waits for Jira.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from triage.core.board.service import Board
from triage.storage import queries
from triage.storage.errors import StorageError, TriageError
from triage.storage.models import OutboxState
from triage.tui.screens.board import BoardScreen
from triage.tui.screens.ticket import TicketScreen
from triage.tui.sync_status import (
    FirstCardsStored,
    PushFinished,
    SyncFailed,
    SyncFinished,
    SyncStatus,
)

if TYPE_CHECKING:
    from triage.core.tracker.client import Tracker
    from triage.core.tracker.sync import SyncProgress

TrackerFactory = Callable[[], "Tracker"]
"""Connects to Jira; called in a worker thread, never before the first paint."""

PUSH_DELAY = 1.0
"""Seconds after the last local change before it is pushed; more changes restart the wait."""


class JiraSyncApp(App[None]):
    """An app over a board that keeps its cache in step with Jira in the background."""

    def __init__(self, board: Board, tracker_factory: TrackerFactory | None = None) -> None:
        super().__init__()
        self.board = board
        self.board_screen: BoardScreen | None = None
        self.tracker_factory = tracker_factory
        self.sync_status = SyncStatus(connected=tracker_factory is not None)
        self._tracker: Tracker | None = None
        # Sync and push workers take turns with Jira and the outbox; the UI never waits on it.
        self._jira_lock = threading.Lock()
        self._push_timer: Timer | None = None

    def load_sync_status(self) -> SyncStatus:
        """Where the cache stood with Jira when it was last closed: read once, at start."""
        self.sync_status = replace(
            self.sync_status, synced_at=_synced_at(self.board), changes=self.board.open_changes()
        )
        return self.sync_status

    def on_mount(self) -> None:
        if self.tracker_factory is not None:
            # After the first frame: opening the board never waits for the network.
            self.call_after_refresh(self._start_syncing)

    def _start_syncing(self) -> None:
        minutes = self.board.settings.jira.sync_interval_minutes
        self.set_interval(minutes * 60, self.start_sync, name="background sync")
        self.start_sync()

    def action_sync(self) -> None:
        """Sync now (the `r` key)."""
        if self.tracker_factory is None:
            self.notify(
                "No Jira is configured: set [jira] url in the config file (see `triage config`).",
                severity="warning",
            )
        elif self._sync_running():
            self.notify("A sync is already running.")
        else:
            self.start_sync()

    def start_sync(self, refetch: tuple[str, ...] = ()) -> None:
        """Sync in the background unless a sync runs; `refetch` tickets are fetched again too."""
        if self.tracker_factory is None or (self._sync_running() and not refetch):
            return
        self.show_status(running=True)
        self.sync_with_jira(refetch)

    def _sync_running(self) -> bool:
        return any(w.group == "sync" and not w.is_finished for w in self.workers)

    def push_soon(self) -> None:
        """Push local changes a moment after the last one, without waiting for the next sync."""
        if self.tracker_factory is None:
            return
        if self._push_timer is not None:
            self._push_timer.stop()
        self._push_timer = self.set_timer(PUSH_DELAY, self.push_changes, name="push soon")

    def _connect(self) -> Tracker:
        """The tracker, connected on first use; call with the Jira lock held."""
        assert self.tracker_factory is not None
        if self._tracker is None:
            self._tracker = self.tracker_factory()
        return self._tracker

    @work(thread=True, exclusive=True, group="sync", exit_on_error=False)
    def sync_with_jira(self, refetch: tuple[str, ...] = ()) -> None:
        """Push, sync, and read the board again, off the UI thread; post what happened."""
        from triage.core.tracker.client import TrackerError, TrackerUnreachable
        from triage.core.tracker.rounds import sync_and_push

        board = self.board
        shown = self.board_screen.data.total if self.board_screen is not None else 0
        stored = 0

        def first_cards(progress: SyncProgress) -> None:
            # An empty board shows the first pages as soon as they are in the cache.
            nonlocal shown, stored
            if not shown and progress.stored > stored:
                stored = progress.stored
                data = board.load()
                shown = data.total
                self.post_message(FirstCardsStored(data))

        try:
            with self._jira_lock:
                tracker = self._connect()
                synced, pushed = sync_and_push(
                    board.engine,
                    board.settings,
                    tracker,
                    refetch=refetch,
                    clock=board.clock,
                    progress=first_cards,
                )
            counts = (synced.fetched, synced.deleted, pushed.done, pushed.conflicts, pushed.failed)
            # Read the board again only when the round changed something it shows.
            data = board.load() if refetch or any(counts) else None
            message: SyncFinished | SyncFailed = SyncFinished(
                synced, pushed, data, _synced_at(board), board.open_changes()
            )
        except TriageError as error:
            if isinstance(error, TrackerError):
                self._tracker = None  # connect afresh next time
            unreachable = isinstance(error, TrackerUnreachable)
            message = SyncFailed(str(error), unreachable, _changes_or_none(board))
        self.post_message(message)

    @work(thread=True, exclusive=True, group="push", exit_on_error=False)
    def push_changes(self) -> None:
        """Push the outbox, off the UI thread; post the cards whose changes moved on."""
        from triage.core.tracker.client import TrackerError, TrackerUnreachable
        from triage.core.tracker.rounds import push_outbox

        board = self.board
        try:
            with self._jira_lock:
                keys = board.keys_with_open_changes()
                pushed = push_outbox(
                    board.engine, board.settings, self._connect(), clock=board.clock
                )
            cards = board.cards(keys)
            message: PushFinished | SyncFailed = PushFinished(pushed, cards, board.open_changes())
        except TriageError as error:
            if isinstance(error, TrackerError):
                self._tracker = None
            unreachable = isinstance(error, TrackerUnreachable)
            message = SyncFailed(str(error), unreachable, _changes_or_none(board))
        self.post_message(message)

    @on(FirstCardsStored)
    def show_first_cards(self, event: FirstCardsStored) -> None:
        if self.board_screen is not None:
            self.board_screen.swap_data(event.data)

    @on(SyncFinished)
    def show_synced(self, event: SyncFinished) -> None:
        self.show_status(
            running=False, error=None, synced_at=event.synced_at, changes=event.changes
        )
        if self.board_screen is not None and event.data is not None:
            self.board_screen.swap_data(event.data)
        self._refresh_ticket_screens()
        self._tell_conflicts(event.pushed.conflicts, event.pushed.failed)

    @on(PushFinished)
    def show_pushed(self, event: PushFinished) -> None:
        pushed = event.pushed
        answered = pushed.done or pushed.conflicts or pushed.failed
        if answered and not self.sync_status.running:
            self.show_status(error=None, changes=event.changes)
        else:
            self.show_status(changes=event.changes)
        if self.board_screen is not None:
            self.board_screen.update_cards(event.cards)
        self._refresh_ticket_screens()
        self._tell_conflicts(event.pushed.conflicts, event.pushed.failed)

    @on(SyncFailed)
    def show_sync_failed(self, event: SyncFailed) -> None:
        changes = event.changes if event.changes is not None else self.sync_status.changes
        self.show_status(
            running=False, error=event.message, unreachable=event.unreachable, changes=changes
        )

    @on(Worker.StateChanged)
    def _worker_crashed(self, event: Worker.StateChanged) -> None:
        # A bug rather than Jira: say so, and let `r` try again.
        if event.state is WorkerState.ERROR and event.worker.group in ("sync", "push"):
            error = event.worker.error
            self.show_status(
                running=False, error=f"{type(error).__name__}: {error}", unreachable=False
            )

    def show_status(self, **changes: Any) -> None:
        """Change what the status line says about Jira (fields of `SyncStatus`)."""
        self.sync_status = replace(self.sync_status, **changes)
        if self.board_screen is not None:
            self.board_screen.show_sync(self.sync_status)

    def _refresh_ticket_screens(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, TicketScreen):
                try:
                    screen.show(self.board.detail(screen.key))
                except TriageError:
                    pass  # gone from Jira; the screen keeps what it showed

    def _tell_conflicts(self, conflicts: int, failed: int) -> None:
        if conflicts:
            self.notify(
                f"{conflicts} change(s) conflict with Jira: open the ticket marked ⚠ to settle it.",
                severity="warning",
            )
        if failed:
            self.notify(
                f"{failed} change(s) failed in Jira: open the ticket marked ✗ to see why.",
                severity="error",
            )


def _synced_at(board: Board) -> datetime | None:
    value = queries.get_meta(board.engine, "synced_at")
    return datetime.fromisoformat(value) if value else None


def _changes_or_none(board: Board) -> dict[OutboxState, int] | None:
    try:
        return board.open_changes()
    except StorageError:
        return None
