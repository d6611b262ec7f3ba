"""The nine columns side by side, sized so the focused one always stays readable."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.events import Resize

from triage.storage.columns import BoardColumn
from triage.storage.queries import CardRow
from triage.tui.widgets.card_list import CardList
from triage.tui.widgets.column_view import ColumnView

COLLAPSED_WIDTH = 10
"""Width of a column that shows only its title, a word a line, and its count."""
STRIP_WIDTH = 4
"""Width of a collapsed column on a small terminal: a short name over its count."""
READABLE_WIDTH = 36
"""Below this, the focused column gets the room of narrow strips instead of titled ones."""


def collapsed_width(total: int) -> int:
    """How wide the collapsed columns are at `total` cells: titled, or strips on a small screen."""
    titled_room = total - (len(BoardColumn) - 1) * COLLAPSED_WIDTH
    return COLLAPSED_WIDTH if titled_room >= READABLE_WIDTH else STRIP_WIDTH


def window_size(total: int, full_width: int, min_width: int) -> int:
    """How many columns show their cards at `total` cells; 9 when all fit at `min_width`."""
    count = len(BoardColumn)
    if total >= count * min_width:
        return count
    collapsed = collapsed_width(total)
    fit = (total - count * collapsed) // max(full_width - collapsed, 1)
    return max(1, min(count, fit))


def slide(start: int, size: int, focused: int) -> int:
    """The first column of a window of `size` columns that shows `focused`, moving little."""
    if focused < start:
        return focused
    if focused >= start + size:
        return focused - size + 1
    return min(start, len(BoardColumn) - size)


def column_widths(total: int, start: int, size: int) -> list[int]:
    """Widths of the nine columns: the window's share the room, the others collapse (0)."""
    count = len(BoardColumn)
    room = max(total - (count - size) * collapsed_width(total), size)
    share, extra = divmod(room, size)
    widths = [0] * count
    for offset in range(size):
        widths[start + offset] = share + (1 if offset < extra else 0)
    return widths


class BoardView(Horizontal, can_focus=True):
    """The board's nine columns; it holds the focus and moves the cursor between them."""

    BINDINGS = [
        Binding("left,h", "focus_column(-1)", "Column left", show=False, id="board.left"),
        Binding("right,l", "focus_column(1)", "Column right", show=False, id="board.right"),
        Binding("down,j", "cursor(1)", "Down", show=False, id="card.down"),
        Binding("up,k", "cursor(-1)", "Up", show=False, id="card.up"),
        Binding("g,home", "first", "Top", show=False, id="card.first"),
        Binding("G,end", "last", "Bottom", show=False, id="card.last"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="card.page_down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="card.page_up"),
    ]

    DEFAULT_CSS = """
    BoardView { height: 1fr; }
    """

    def __init__(self, focused_width: int, min_width: int) -> None:
        super().__init__(id="board")
        self.focused_width = focused_width
        self.min_width = min_width
        self.views = [ColumnView(column) for column in BoardColumn]
        self.focused_index = 0
        self.window_start = 0
        """First column of the window of full columns; it slides only when focus leaves it."""

    def compose(self) -> ComposeResult:
        # Size the columns for the terminal now, so the first frame needs no second layout.
        self.relayout(self.app.size.width)
        yield from self.views

    def view(self, column: BoardColumn) -> ColumnView:
        """The view of a column."""
        return self.views[column.position]

    @property
    def focused_column(self) -> BoardColumn:
        """The column that has (or last had) the focus."""
        return list(BoardColumn)[self.focused_index]

    @property
    def current_card(self) -> CardRow | None:
        """The card under the cursor of the focused column."""
        return self.views[self.focused_index].cards.current

    @property
    def current_list(self) -> CardList:
        """The card list of the current column."""
        return self.views[self.focused_index].cards

    def focus_column(self, index: int) -> None:
        """Make column `index` (clamped to the board) the current one."""
        index = max(0, min(len(self.views) - 1, index))
        if index != self.focused_index:
            self.focused_index = index
            self.relayout()

    def action_focus_column(self, step: int) -> None:
        self.focus_column(self.focused_index + step)

    def action_cursor(self, step: int) -> None:
        self.current_list.action_cursor(step)

    def action_first(self) -> None:
        self.current_list.action_first()

    def action_last(self) -> None:
        self.current_list.action_last()

    def action_page(self, direction: int) -> None:
        self.current_list.action_page(direction)

    @on(CardList.Clicked)
    def _clicked(self, event: CardList.Clicked) -> None:
        self.focus_column(self.card_lists().index(event.card_list))
        self.focus()

    @on(Resize)
    def _resized(self, event: Resize) -> None:
        self.relayout()

    def relayout(self, width: int | None = None) -> None:
        """Size the columns for the current (or given) width and focus.

        Moving within the window of full columns changes no width, so it needs no layout.
        """
        width = width or self.size.width
        if not width:
            return
        size = window_size(width, self.focused_width, self.min_width)
        self.window_start = slide(self.window_start, size, self.focused_index)
        widths = column_widths(width, self.window_start, size)
        collapsed = collapsed_width(width)
        for index, (view, cells) in enumerate(zip(self.views, widths, strict=True)):
            view.shape(cells == 0, cells == 0 and collapsed == STRIP_WIDTH)
            new_width = cells or collapsed
            if view.styles.width is None or view.styles.width.value != new_width:
                view.styles.width = new_width
            view.title_widget.focused = index == self.focused_index
            view.cards.active = index == self.focused_index

    def card_lists(self) -> list[CardList]:
        """The card lists, in board order."""
        return [view.cards for view in self.views]
