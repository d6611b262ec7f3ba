"""The confirm before approving a review: what will be said in Jira and where the ticket goes."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from triage.core.review.items import ReviewItem
from triage.tui.safe_text import line


class ConfirmApprove(ModalScreen[bool]):
    """Ask before approving; returns True to approve."""

    BINDINGS = [
        Binding("escape,n", "cancel", "Cancel", id="dialog.cancel"),
        Binding("y,a", "approve", "Approve", id="approve.confirm"),
    ]

    def __init__(self, item: ReviewItem) -> None:
        super().__init__()
        self.item = item

    def compose(self) -> ComposeResult:
        item = self.item
        with Vertical(classes="dialog"):
            yield Label(f"Approve {line(item.key)}?", classes="dialog-title")
            at = f" at {item.head[:12]}" if item.head else ""
            yield Static(
                Text(
                    f"Jira gets the comment “Approved by you after review of "
                    f"{line(item.branch or '')}{at}”, and the ticket moves to QA."
                )
            )
            with Horizontal(classes="dialog-buttons"):
                yield Button("Approve  y", variant="success", id="approve")
                yield Button("Cancel  esc", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#approve", Button).focus()

    @on(Button.Pressed, "#approve")
    def action_approve(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
