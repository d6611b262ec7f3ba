"""The nine columns side by side, sized so the focused one always stays readable."""

from __future__ import annotations

from collections.abc import Iterator

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.events import Resize

from storage.models import BoardColumn
from storage.queries import CardRow
from tui.widgets.card_list import CardList
from tui.widgets.column_view import ColumnView

COLLAPSED_WIDTH = 10
"""Width of a column that shows only its title and count."""


def column_widths(total: int, focused: int, focused_width: int, min_width: int) -> list[int]:
    """Widths of the nine columns; 0 in a slot means "collapsed" when the board is narrow.

    All nine share the width when each gets `min_width`. Otherwise the focused column gets
    at least `focused_width`, as many neighbours as fit get `min_width`, and the rest collapse.
    """
    count = len(BoardColumn)
    if total >= count * min_width:
        share, extra = divmod(total, count)
        return [share + (1 if i < extra else 0) for i in range(count)]
    full = {focused}
    order = _neighbours(focused, count)
    for index in order:
        needed = focused_width + len(full) * min_width + (count - len(full) - 1) * COLLAPSED_WIDTH
        if needed > total:
            break
        full.add(index)
    collapsed = count - len(full)
    room = total - collapsed * COLLAPSED_WIDTH
    others = len(full) - 1
    # What is left over after the minimums is shared by the full columns.
    spare = max(room - max(focused_width, 0) - others * min_width, 0)
    share, extra = divmod(spare, len(full))
    widths = []
    for index in range(count):
        if index == focused:
            widths.append(max(room - others * (min_width + share), 1))
        elif index in full:
            widths.append(min_width + share)
        else:
            widths.append(0)
    return widths


def _neighbours(focused: int, count: int) -> Iterator[int]:
    """Columns by distance from the focused one, right before left."""
    for distance in range(1, count):
        for index in (focused + distance, focused - distance):
            if 0 <= index < count:
                yield index


class BoardView(Horizontal):
    """The board's nine columns."""

    DEFAULT_CSS = """
    BoardView { height: 1fr; }
    """

    def __init__(self, focused_width: int, min_width: int) -> None:
        super().__init__(id="board")
        self.focused_width = focused_width
        self.min_width = min_width
        self.views = [ColumnView(column) for column in BoardColumn]
        self.focused_index = 0

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

    def focus_column(self, index: int) -> None:
        """Give the focus to column `index` (clamped to the board)."""
        index = max(0, min(len(self.views) - 1, index))
        # At once, so the next key already acts on the new column.
        self.screen.set_focus(self.views[index].cards)

    @on(Resize)
    def _resized(self, event: Resize) -> None:
        self.relayout()

    def on_descendant_focus(self) -> None:
        focused = self.screen.focused
        for index, view in enumerate(self.views):
            if focused is view.cards:
                if index != self.focused_index:
                    self.focused_index = index
                    self.relayout()
                break

    def relayout(self, width: int | None = None) -> None:
        """Size the columns for the current (or given) width and focus."""
        width = width or self.size.width
        if not width:
            return
        widths = column_widths(width, self.focused_index, self.focused_width, self.min_width)
        for index, (view, size) in enumerate(zip(self.views, widths, strict=True)):
            view.collapsed = size == 0
            new_width = size or COLLAPSED_WIDTH
            if view.styles.width is None or view.styles.width.value != new_width:
                view.styles.width = new_width
            view.set_class(index == self.focused_index, "-focused")

    def card_lists(self) -> list[CardList]:
        """The card lists, in board order."""
        return [view.cards for view in self.views]
