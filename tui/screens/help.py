"""`?`: every key binding of the screen it was opened on, with what each does."""

from __future__ import annotations

import re
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static


def screen_name(screen: Screen[Any]) -> str:
    """What help calls a screen: its `HELP_TITLE`, else its class name in words."""
    name = getattr(screen, "HELP_TITLE", None) or type(screen).__name__.removesuffix("Screen")
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(name))


class HelpScreen(ModalScreen[None]):
    """A list of key bindings: keys, what they do, and the id to remap them by."""

    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss_help", "Close help", id="help.close"),
    ]

    def __init__(self, screen_title: str, rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.screen_title = screen_title
        self.rows = rows

    def compose(self) -> ComposeResult:
        table = Table.grid(padding=(0, 2))
        table.add_column("keys", style="bold", no_wrap=True)
        table.add_column("does")
        table.add_column("id", style="dim", no_wrap=True)
        for keys, description, binding_id in self.rows:
            table.add_row(keys, description, binding_id)
        with VerticalScroll(classes="dialog help"):
            yield Label(f"Keys — {self.screen_title}", classes="dialog-title")
            yield Static(table)
            yield Static(
                Text(
                    'Remap any key in the config file: [keys] "board.move_right" = "L,ctrl+l"',
                    style="italic",
                ),
                classes="dialog-help",
            )

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
