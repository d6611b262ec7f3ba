"""One board column: its title and count above its cards, or only those when collapsed."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.reactive import reactive
from textual.widget import Widget

from triage.storage.columns import BoardColumn
from triage.storage.queries import CardRow
from triage.tui.widgets.card_list import CardList

SHORT_NAMES: dict[str, str] = {
    BoardColumn.TODO: "TD",
    BoardColumn.NEEDS_WORK: "NW",
    BoardColumn.IN_PROGRESS: "IP",
    BoardColumn.FEEDBACK: "FB",
    BoardColumn.CODE_REVIEW: "CR",
    BoardColumn.QA: "QA",
    BoardColumn.PO_REVIEW: "PO",
    BoardColumn.READY_TO_DEPLOY: "RD",
    BoardColumn.DONE: "DN",
}
"""What a strip calls its column, in the two cells it has."""


def compact(count: str) -> str:
    """A card count in at most three cells: 999, then 1k … 99k."""
    number = int(count) if count.isdigit() else 0
    return count if number < 1000 else f"{min(number // 1000, 99)}k"


class ColumnTitle(Widget):
    """The column's name and how many cards it shows (of how many, when filtered)."""

    DEFAULT_CSS = """
    ColumnTitle {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
        text-style: bold;
        & > .column-title--focused { background: $primary 40%; color: $text; }
    }
    """

    COMPONENT_CLASSES = {"column-title--focused"}

    name_text: reactive[str] = reactive("")
    count_text: reactive[str] = reactive("")
    focused: reactive[bool] = reactive(False)
    """The current column's title is drawn strong; a style, not a class, so no re-layout."""
    stacked: reactive[bool] = reactive(False, layout=True)
    short: reactive[bool] = reactive(False, layout=True)
    """A strip on a small terminal: the column's short name over its count."""

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._stacked_lines()) if self.stacked else 1

    def _stacked_lines(self) -> list[str]:
        if self.short:
            count = self.count_text.split("/")[0]
            return [SHORT_NAMES.get(self.name_text, self.name_text[:2]), "", compact(count)]
        # Word per line, so a narrow column still names itself: "Ready", "To", "Deploy".
        return [*self.name_text.split("/")[0].split(), "", self.count_text]

    def render(self) -> Text:
        style = self.get_component_rich_style("column-title--focused") if self.focused else ""
        if self.stacked:
            return Text("\n".join(self._stacked_lines()), style=style)
        width = self.content_region.width
        room = max(width - len(self.count_text) - 1, 1)
        name = Text(self.name_text, no_wrap=True, overflow="ellipsis")
        name.truncate(room, overflow="ellipsis", pad=True)
        return Text.assemble(name, " ", (self.count_text, "not bold"), style=style)


class ColumnView(Vertical):
    """A column of the board; narrow columns show only their title and count."""

    DEFAULT_CSS = """
    ColumnView {
        width: 1fr;
        height: 1fr;
        border-right: tall $background;
        &.-collapsed CardList { display: none; }
        &.-collapsed ColumnTitle { height: 1fr; padding: 0 0 0 1; }
        &.-strip ColumnTitle { padding: 0; }
    }
    """

    def __init__(self, column: BoardColumn) -> None:
        super().__init__(id=f"column-{column.position}")
        self.column = column
        self.collapsed = False
        """Showing only its title and count."""
        self.thin = False
        """Collapsed to a strip of a short name and a count, on a small terminal."""
        self.total = 0
        self.title_widget = ColumnTitle()
        self.cards = CardList(id=f"cards-{column.position}")

    def compose(self) -> ComposeResult:
        yield self.title_widget
        yield self.cards

    def show(self, cards: list[CardRow], total: int, keep_key: str | None = None) -> None:
        """Show `cards`, of `total` before the filter."""
        self.total = total
        self.cards.set_cards(cards, keep_key)
        self._update_title()

    def shape(self, collapsed: bool, thin: bool) -> None:
        """Collapse the column (to a strip when `thin`), or open it.

        Both classes change first and the styles are worked out once: restyling a column
        and its cards is the dearest part of moving between columns on a small terminal.
        """
        if (collapsed, thin) == (self.collapsed, self.thin):
            return
        self.collapsed, self.thin = collapsed, thin
        self.set_class(collapsed, "-collapsed", update=False)
        self.set_class(thin, "-strip", update=False)
        if self.is_mounted:
            self.update_node_styles()
        self.title_widget.short = thin
        self._update_title()

    def _update_title(self) -> None:
        shown = len(self.cards.cards)
        title = self.title_widget
        title.name_text = self.column.value
        title.count_text = f"{shown}" if shown == self.total else f"{shown}/{self.total}"
        title.stacked = self.collapsed
