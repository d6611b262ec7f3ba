"""Small modal dialogs: a comment, a blocked move with its deliberate override, a column picker."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from triage.core.board.workflow import MoveCheck
from triage.storage.columns import BoardColumn


class CommentDialog(ModalScreen[str | None]):
    """Ask for a comment; returns its text, or None when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="dialog.cancel"),
        Binding("ctrl+s", "save", "Save comment", id="comment.save"),
    ]

    def __init__(self, title: str, prompt: str = "", text: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            if self.prompt:
                yield Static(self.prompt, classes="dialog-help")
            yield TextArea(self.text, id="comment-text", soft_wrap=True)
            yield Static("", id="comment-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save  ctrl+s", variant="primary", id="save")
                yield Button("Cancel  esc", id="cancel")

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.focus()
        area.move_cursor(area.document.end)

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        text = self.query_one(TextArea).text.strip()
        if not text:
            self.query_one("#comment-error", Static).update("Type a comment first, or press esc.")
            return
        self.dismiss(text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class BlockedMoveDialog(ModalScreen[str | None]):
    """Show why a move is blocked; returns the reason for a deliberate override, or None."""

    BINDINGS = [
        Binding("escape", "cancel", "Keep it where it is", id="dialog.cancel"),
        Binding("o", "override", "Override…", id="blocked.override"),
    ]

    def __init__(self, key: str, check: MoveCheck) -> None:
        super().__init__()
        self.key = key
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -error"):
            title = f"Move blocked: {self.key} → {self.check.target.value}"
            yield Label(title, classes="dialog-title")
            yield Static(Text(self.check.blocked or ""), id="blocked-reason")
            if self.check.overridable:
                yield Static(
                    "An override moves it anyway; the audit log records it with your reason.",
                    classes="dialog-help",
                )
                yield Input(placeholder="Reason for the override", id="override-reason")
                yield Static("", id="override-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                if self.check.overridable:
                    yield Button("Override  o", variant="error", id="override")
                yield Button("Keep it  esc", variant="primary", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def action_override(self) -> None:
        if not self.check.overridable:
            return
        reason_input = self.query_one("#override-reason", Input)
        if not reason_input.has_focus:
            reason_input.focus()
            return
        self._submit()

    @on(Button.Pressed, "#override")
    @on(Input.Submitted, "#override-reason")
    def _submit(self) -> None:
        reason = self.query_one("#override-reason", Input).value.strip()
        if not reason:
            self.query_one("#override-error", Static).update("Type why you override, then enter.")
            self.query_one("#override-reason", Input).focus()
            return
        self.dismiss(reason)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class MovePicker(ModalScreen[BoardColumn | None]):
    """Pick the column to move a ticket to; each line says whether the rules allow it."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, key: str, current: BoardColumn | None, checks: list[MoveCheck]) -> None:
        super().__init__()
        self.key = key
        self.current = current
        self.checks = checks

    def compose(self) -> ComposeResult:
        options = []
        for number, check in enumerate(self.checks, start=1):
            label = Text.assemble((f"{number} ", "dim"), check.target.value)
            if check.target == self.current:
                label.append("  (here)", "dim")
            elif check.blocked:
                label.append("  ✗ " + check.blocked.split(": ", 1)[-1], "dim")
            elif check.needs_comment:
                label.append("  asks for a comment", "dim")
            options.append(Option(label, id=check.target.name))
        with Vertical(classes="dialog"):
            yield Label(f"Move {self.key} to…", classes="dialog-title")
            yield OptionList(*options, id="move-options")
            yield Static("enter choose · 1-9 jump · esc cancel", classes="dialog-help")

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        option_list.focus()
        if self.current is not None:
            option_list.highlighted = self.current.position

    def on_key(self, event: object) -> None:
        key = getattr(event, "character", None)
        if key and key.isdigit() and 1 <= int(key) <= len(self.checks):
            self.dismiss(self.checks[int(key) - 1].target)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(BoardColumn[event.option.id or ""])

    def action_cancel(self) -> None:
        self.dismiss(None)
