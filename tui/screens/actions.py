"""The action panel of a ticket: what can be done to its site now, each saying what it does."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from triage.core.actions import Action, Catalogue


class ActionPanel(ModalScreen[Action | None]):
    """Pick an action for a ticket; dangerous ones are marked, blocked ones say why."""

    BINDINGS = [Binding("escape", "cancel", "Close", id="dialog.cancel")]

    def __init__(self, key: str, site: str | None, catalogue: Catalogue) -> None:
        super().__init__()
        self.key = key
        self.site = site
        self.catalogue = catalogue

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog actions"):
            where = f" on {self.site}" if self.site else ""
            yield Label(f"Actions for {self.key}{where}", classes="dialog-title")
            if not self.catalogue.actions:
                yield Static(self.catalogue.note or "Nothing to do here.", classes="dialog-help")
            else:
                yield OptionList(*[self._option(a) for a in self.catalogue.actions])
                yield Static("enter run · esc close · ⚠ touches production", classes="dialog-help")

    def _option(self, action: Action) -> Option:
        title = Text(("⚠ " if action.dangerous else "  ") + action.title, style="bold")
        if action.dangerous:
            title.stylize("red", 0, 1)
        detail = Text(f"\n    {action.blocked or action.description}", style="dim")
        return Option(title + detail, id=action.id, disabled=action.blocked is not None)

    def on_mount(self) -> None:
        if self.catalogue.actions:
            self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.catalogue.get(event.option.id or ""))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmSite(ModalScreen[bool]):
    """A dangerous action runs only once the user typed the site's id."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, action: Action, site: str) -> None:
        super().__init__()
        self.action = action
        self.site = site

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog -error"):
            yield Label(f"⚠ {self.action.title}", classes="dialog-title")
            yield Static(self.action.description)
            yield Static(f"Type the site id ({self.site}) to go ahead.", classes="dialog-help")
            yield Input(placeholder=self.site, id="confirm-site")
            yield Static("", id="confirm-error", classes="dialog-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Run it", variant="error", id="run")
                yield Button("Cancel  esc", variant="primary", id="cancel")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Button.Pressed, "#run")
    @on(Input.Submitted)
    def _run(self) -> None:
        if self.query_one(Input).value.strip() != self.site:
            self.query_one("#confirm-error", Static).update(
                f"That is not {self.site!r}: type the site id exactly, or press esc."
            )
            return
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(False)
