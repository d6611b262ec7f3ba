"""The app's SLA queue: ranking in the background, the queue screen, and "take next".

A ranking runs in a worker after each sync and each change made here, and lands on the
board (time left on cards, breached and at-risk counts) and on the queue screen.
"""

from __future__ import annotations

from textual import on, work
from textual.message import Message
from textual.timer import Timer

from triage.core.board.service import Board
from triage.core.sla.queue import Queue, TakeResult
from triage.core.sla.ranking import Ranking
from triage.storage.errors import StorageError, TriageError
from triage.tui.screens.board import BoardScreen
from triage.tui.screens.queue import QueueScreen
from triage.tui.site_actions import SiteActions
from triage.tui.sync_status import SyncFinished

INLINE_TICKETS = 1000
"""Up to this many tickets the first ranking runs before the first paint, not after it."""
RANK_DELAY = 0.5
"""Seconds after the last change made here before the queue re-ranks; more changes wait."""


class QueueRanked(Message):
    """A fresh ranking of the queue."""

    def __init__(self, ranking: Ranking) -> None:
        super().__init__()
        self.ranking = ranking


class NextTaken(Message):
    """ "Take next" assigned a ticket to me and moved it to In Progress."""

    def __init__(self, result: TakeResult) -> None:
        super().__init__()
        self.result = result


class QueueActions(SiteActions):
    """Part of the app: `Q` opens the queue, `n` there takes the next ticket."""

    board: Board
    board_screen: BoardScreen | None
    ranking: Ranking | None = None
    _queue: Queue | None = None
    _rank_timer: Timer | None = None

    def _changed_here(self, key: str) -> None:
        """Show a change the user made and push it soon; the app does this."""

    def queue(self) -> Queue:
        """The queue over the board's cache and clock, made on first use."""
        if self._queue is None:
            board = self.board
            self._queue = Queue(board.engine, board.settings, clock=board.clock)
        return self._queue

    def on_mount(self) -> None:
        screen = self.board_screen
        if screen is not None and screen.data.total <= INLINE_TICKETS:
            try:
                self._show_ranking(self.queue().ranking())
            except (TriageError, StorageError) as error:
                self.notify(str(error), severity="error")
        else:
            # After the first frame: the ranking's first measure never delays the board.
            self.call_after_refresh(self.rank_queue)

    def rank_soon(self) -> None:
        """Re-rank shortly after a change made here; a burst of changes ranks once."""
        if self._rank_timer is not None:
            self._rank_timer.stop()
        self._rank_timer = self.set_timer(RANK_DELAY, self.rank_queue, name="re-rank")

    @work(thread=True, exclusive=True, group="queue", exit_on_error=False)
    def rank_queue(self) -> None:
        """Rank the queue in the background."""
        try:
            ranking = self.queue().ranking()
        except (TriageError, StorageError) as error:
            self.call_from_thread(self.notify, str(error), severity="error")
            return
        self.post_message(QueueRanked(ranking))

    @on(QueueRanked)
    def show_ranking(self, event: QueueRanked) -> None:
        self._show_ranking(event.ranking)

    def _show_ranking(self, ranking: Ranking) -> None:
        self.ranking = ranking
        if self.board_screen is not None:
            self.board_screen.show_sla(ranking)
        for screen in self.screen_stack:
            if isinstance(screen, QueueScreen):
                screen.show(ranking)

    @on(SyncFinished)
    def rerank_after_sync(self, event: SyncFinished) -> None:
        self.rank_queue()

    def action_queue(self) -> None:
        if isinstance(self.screen, QueueScreen):
            return
        self.push_screen(QueueScreen(self.ranking, self.board.me.name))
        self.rank_queue()

    def action_take_next(self) -> None:
        self.take_next()

    @work(thread=True, exclusive=True, group="take", exit_on_error=False)
    def take_next(self) -> None:
        """Take the top ticket nobody holds, in the background."""
        try:
            result = self.queue().take_next(self.board)
        except (TriageError, StorageError) as error:
            self.call_from_thread(self.notify, str(error), severity="warning")
            return
        self.post_message(NextTaken(result))

    @on(NextTaken)
    def next_taken(self, event: NextTaken) -> None:
        key = event.result.item.key
        self._changed_here(key)
        self.notify(f"{key} is yours, In Progress: {event.result.item.why}")
        self.rank_queue()
        self.choose_action(key)
