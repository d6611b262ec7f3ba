"""The app's code review: `R` opens the review queue; the diff screen's verdicts land here.

A verdict runs in a worker (it reads the branch's head on the remote before it moves the
ticket), then the board shows the moved card, the push goes out soon, and the queue
reads itself again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App
from textual.message import Message

from triage.core.review.service import Reviews
from triage.core.sites.inventory import Inventory
from triage.storage.errors import TriageError
from triage.tui.screens.diff import DiffScreen
from triage.tui.screens.review import ReviewScreen

if TYPE_CHECKING:
    from triage.core.board.service import Board


class ReviewActions(App[None]):
    """Part of the app: the review queue and its verdicts."""

    board: Board

    class VerdictGiven(Message):
        """A verdict was recorded (or refused: `error` says why)."""

        def __init__(self, key: str, approved: bool, error: str = "") -> None:
            super().__init__()
            self.key = key
            self.approved = approved
            self.error = error

    if TYPE_CHECKING:  # the app's site actions and the app itself define these

        def inventory(self) -> Inventory | None: ...
        def _changed_here(self, key: str) -> None: ...

    def action_review(self) -> None:
        try:
            reviews = Reviews(self.board, self.inventory())
        except TriageError as error:
            self.notify(str(error), severity="error")
            return
        self.push_screen(ReviewScreen(reviews, self.board.clock()))

    @on(DiffScreen.Decided)
    def give_verdict(self, event: DiffScreen.Decided) -> None:
        self.record_verdict(event.reviews, event.key, event.approved, event.comment, event.seen)

    @work(thread=True, exclusive=True, group="review-verdict", exit_on_error=False)
    def record_verdict(
        self, reviews: Reviews, key: str, approved: bool, comment: str, seen: str
    ) -> None:
        """Approve (what was seen), or send back: one core call."""
        try:
            if approved:
                reviews.approve(key, seen or None)
            else:
                reviews.send_back(key, comment)
        except TriageError as error:
            self.post_message(self.VerdictGiven(key, approved, str(error)))
            return
        self.post_message(self.VerdictGiven(key, approved))

    @on(VerdictGiven)
    def show_verdict(self, event: VerdictGiven) -> None:
        if event.error:
            self.notify(event.error, severity="error")
            return
        self._changed_here(event.key)
        if isinstance(self.screen, DiffScreen) and self.screen.key == event.key:
            self.pop_screen()
        if isinstance(self.screen, ReviewScreen):
            self.screen.action_reload()
        verdict = "approved: moved to QA" if event.approved else "sent back to Needs Work"
        self.notify(f"{event.key} {verdict}.")
