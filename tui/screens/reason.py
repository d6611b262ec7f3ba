"""Two small dialogs of the security screens: a reason typed on one line, and a yes or no.

Titles and prompts quote advisories from feeds: shown as plain text, never read as markup.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static


class ReasonDialog(ModalScreen[str | None]):
    """Ask why; returns the reason (never blank), or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, title: str, prompt: str, placeholder: str = "Reason") -> None:
        super().__init__()
        self.title_text, self.prompt, self.placeholder = title, prompt, placeholder

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.title_text), classes="dialog-title")
            yield Static(Text(self.prompt), classes="dialog-help")
            yield Input(placeholder=self.placeholder, id="reason")
            yield Static("", id="reason-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save  enter", variant="primary", id="save")
                yield Button("Cancel  esc", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Button.Pressed, "#save")
    @on(Input.Submitted, "#reason")
    def save(self) -> None:
        """Return the reason, unless it is blank: then say so and keep asking."""
        reason = self.query_one(Input).value.strip()
        if not reason:
            self.query_one("#reason-error", Static).update("Type a reason, or press esc.")
            self.query_one(Input).focus()
            return
        self.dismiss(reason)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """Ask before doing something others will see (tickets in Jira); True to go on."""

    BINDINGS = [
        Binding("escape,n", "cancel", "Cancel", id="dialog.cancel"),
        Binding("y", "confirm", "Yes", id="confirm.yes"),
    ]

    def __init__(self, title: str, prompt: str, yes: str = "Yes") -> None:
        super().__init__()
        self.title_text, self.prompt, self.yes = title, prompt, yes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(self.title_text), classes="dialog-title")
            yield Static(Text(self.prompt), classes="dialog-help")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes}  y", variant="primary", id="yes")
                yield Button("Cancel  esc", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    @on(Button.Pressed, "#yes")
    def action_confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_cancel(self) -> None:
        self.dismiss(False)
