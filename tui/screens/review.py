"""The review queue: tickets in Code Review I may review, oldest first, with their branch's size.

The list is read by a worker (the sites' checkouts are fetched first), so the screen opens at
once and says it is reading; `enter` opens the diff of the highlighted ticket.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from triage.core.review.items import ReviewItem
from triage.core.review.service import Reviews
from triage.storage.errors import TriageError
from triage.tui.safe_text import line
from triage.tui.screens.diff import DiffScreen


def waited(since: datetime, now: datetime) -> str:
    """How long a ticket has waited for review, in its largest whole unit."""
    minutes = max(int((now - since).total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} d"


class ReviewScreen(Screen[None]):
    """Tickets waiting for my review."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Board", id="review.back"),
        Binding("enter", "open", "Open diff", id="review.open", priority=True),
        Binding("r", "reload", "Reload", id="review.reload", tooltip="Fetch and read again"),
    ]

    class Loaded(Message):
        """The review queue was read."""

        def __init__(self, items: list[ReviewItem]) -> None:
            super().__init__()
            self.items = items

    class Failed(Message):
        """Reading the queue failed; the sentence says why."""

        def __init__(self, error: str) -> None:
            super().__init__()
            self.error = error

    def __init__(self, reviews: Reviews, now: datetime) -> None:
        super().__init__()
        self.reviews = reviews
        self.now = now
        self.items: list[ReviewItem] = []

    def compose(self) -> ComposeResult:
        yield Static("Code review: reading the branches…", id="review-title")
        yield DataTable(id="review-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Ticket", "Waiting", "Branch", "Assignee", "Summary")
        table.focus()
        self.read_queue()

    @work(thread=True, exclusive=True, group="review-queue", exit_on_error=False)
    def read_queue(self) -> None:
        """Read the queue (fetching each site once)."""
        try:
            self.post_message(self.Loaded(self.reviews.queue()))
        except TriageError as error:
            self.post_message(self.Failed(str(error)))

    @on(Loaded)
    def show_queue(self, event: Loaded) -> None:
        self.items = event.items
        table = self.query_one(DataTable)
        table.clear()
        for item in event.items:
            size = Text(line(item.size(short=True)), "dim" if item.problem else "")
            table.add_row(
                line(item.key),
                waited(item.entered, self.now),
                size,
                line(item.assignee or "—"),
                Text(line(item.summary)[:60], no_wrap=True, overflow="ellipsis"),
                key=item.key,
            )
        count = len(event.items)
        title = (
            "Code review: nothing waits for your review"
            if not count
            else f"Code review: {count} ticket{'s' if count != 1 else ''} waiting, oldest first"
        )
        self.query_one("#review-title", Static).update(title)

    @on(Failed)
    def show_failure(self, event: Failed) -> None:
        self.query_one("#review-title", Static).update(Text(f"Code review: {event.error}"))

    @on(DataTable.RowSelected)
    def open_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def action_open(self) -> None:
        table = self.query_one(DataTable)
        if not self.items or table.cursor_row >= len(self.items):
            return
        self.app.push_screen(DiffScreen(self.reviews, self.items[table.cursor_row].key))

    def action_reload(self) -> None:
        self.query_one("#review-title", Static).update("Code review: reading the branches…")
        self.read_queue()
