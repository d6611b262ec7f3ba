"""A column's cards, drawn line by line so a column of thousands scrolls and moves instantly."""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.events import Click, MouseScrollDown, MouseScrollUp
from textual.geometry import Region
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from triage.core.sla.ranking import QueueItem, short_left
from triage.storage.queries import CardRow
from triage.tui.safe_text import line

CARD_HEIGHT = 5
"""Lines a card takes: key line, two summary lines, assignee line, a gap."""


def wrap_two(text: str, width: int) -> tuple[str, str]:
    """The first two lines of `text` wrapped to `width` cells, the second ending in … if cut."""
    words = text.split()
    lines: list[str] = [""]
    for word in words:
        candidate = f"{lines[-1]} {word}" if lines[-1] else word
        if cell_len(candidate) <= width:
            lines[-1] = candidate
        elif len(lines) == 2:
            lines[-1] = candidate
            break
        else:
            lines.append(word)
    first = set_cell_size(lines[0], width) if cell_len(lines[0]) > width else lines[0]
    second = lines[1] if len(lines) > 1 else ""
    rest = " ".join(words)
    if cell_len(second) > width or (second and not rest.endswith(second)):
        second = set_cell_size(second, max(width - 1, 0)).rstrip() + "…"
    return first, second


NARROW = 30
"""Below this width a card uses short forms: "Sec·High", "DO" for Daniel Okafor."""

SYNC_MARKS = {"pending": "⟳", "conflict": "⚠", "failed": "✗"}
"""The mark after a card's key while its changes are not in Jira: waiting, conflict, failed."""

EMAIL_MARK = "✉"
"""The mark after a card's key when the ticket came in by e-mail and awaits triage."""

SHORT_TYPES = {"security update": "Sec", "incident": "Inc", "improvement": "Impr"}


def short_type(issue_type: str) -> str:
    """A short form of an issue type for narrow cards."""
    return SHORT_TYPES.get(issue_type.casefold(), issue_type)


def initials(name: str) -> str:
    """Initials of a person's name: "Daniel Okafor" → "DO"."""
    return "".join(part[0] for part in name.split()[:3] if part).upper()


def fit(text: str, width: int) -> str:
    """`text` cut to `width` cells with an ellipsis when it does not fit."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, width - 1) + "…"


class CardList(Widget, can_focus=False, inherit_bindings=False):
    """The cards of one column, with a cursor; the board says which column is active.

    The lists never take the focus themselves: the board keeps it and drives the active
    list, so moving between columns changes no focus and no footer, only two columns.
    The list scrolls itself (no scrollbar widget), so a changed card count repaints the
    column without a screen-wide layout.
    """

    COMPONENT_CLASSES = {
        "card-list--key",
        "card-list--meta",
        "card-list--summary",
        "card-list--people",
        "card-list--site",
        "card-list--unassigned",
        "card-list--cursor",
        "card-list--cursor-blurred",
        "card-list--sev-1",
        "card-list--sev-2",
        "card-list--sev-3",
        "card-list--sev-4",
        "card-list--sev-5",
        "card-list--empty",
        "card-list--pending",
        "card-list--conflict",
        "card-list--failed",
        "card-list--sla-breached",
        "card-list--sla-risk",
        "card-list--sla-ok",
        "card-list--sla-paused",
        "card-list--email",
    }

    DEFAULT_CSS = """
    CardList {
        height: 1fr;
        background: $surface;
        & > .card-list--key { text-style: bold; color: $text; }
        & > .card-list--meta { color: $text-muted; }
        & > .card-list--summary { color: $text; }
        & > .card-list--people { color: $text-secondary; }
        & > .card-list--site { color: $text-accent; }
        & > .card-list--unassigned { color: $text-disabled; text-style: italic; }
        & > .card-list--cursor { background: $primary 35%; }
        & > .card-list--cursor-blurred { background: $panel; }
        & > .card-list--sev-1 { color: $error; }
        & > .card-list--sev-2 { color: $warning; }
        & > .card-list--sev-3 { color: $accent; }
        & > .card-list--sev-4 { color: $success; }
        & > .card-list--sev-5 { color: $text-disabled; }
        & > .card-list--empty { color: $text-disabled; text-style: italic; }
        & > .card-list--pending { color: $text-warning; }
        & > .card-list--conflict { color: $text-error; text-style: bold; }
        & > .card-list--failed { color: $text-error; text-style: bold; }
        & > .card-list--sla-breached { color: $text-error; text-style: bold; }
        & > .card-list--sla-risk { color: $text-warning; }
        & > .card-list--sla-ok { color: $text-success; }
        & > .card-list--sla-paused { color: $text-muted; }
        & > .card-list--email { color: $text-accent; }
    }
    """

    cursor: reactive[int] = reactive(0, always_update=True)
    active: reactive[bool] = reactive(False)
    """Whether this is the board's current column (its cursor is drawn strong)."""

    class Clicked(Message):
        """A card of this list was clicked."""

        def __init__(self, card_list: CardList) -> None:
            super().__init__()
            self.card_list = card_list

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.cards: list[CardRow] = []
        self.first = 0
        """Index of the card at the top of the column."""
        self._lines: dict[tuple[CardRow, int, int, int], Strip] = {}
        self._pass: tuple[int, Style] | None = None
        """Width and base style for the lines of one render pass, read once, not per line."""
        self.sla: dict[str, QueueItem] = {}
        """Each ticket's place in the SLA queue, for its time left."""

    def set_sla(self, items: dict[str, QueueItem]) -> None:
        """Show time left from a fresh ranking."""
        self.sla = items
        self._lines.clear()
        self.refresh()

    def set_cards(self, cards: list[CardRow], keep_key: str | None = None) -> None:
        """Show `cards`; keep the cursor on `keep_key` if it is among them."""
        # The line cache stays: it is keyed by the card's value, so a card that only changed
        # place in the list (a move next to it) is not drawn again.
        self.cards = cards
        index = self.cursor
        if keep_key is not None:
            index = next((i for i, c in enumerate(cards) if c.key == keep_key), index)
        self.cursor = min(index, max(len(cards) - 1, 0))
        self.refresh()

    def notify_style_update(self) -> None:
        """The theme or CSS changed: the cached lines hold the old colours."""
        super().notify_style_update()
        self._lines.clear()

    @property
    def current(self) -> CardRow | None:
        """The card under the cursor."""
        return self.cards[self.cursor] if 0 <= self.cursor < len(self.cards) else None

    def select_key(self, key: str) -> bool:
        """Put the cursor on the card `key`; False when it is not in this list."""
        for index, card in enumerate(self.cards):
            if card.key == key:
                self.cursor = index
                return True
        return False

    def watch_cursor(self, old: int, new: int) -> None:
        first = self.first
        self._scroll_to_cursor()
        if self.first != first:
            self.refresh()
        else:  # only the two cards the cursor left and reached change: repaint those lines
            self._refresh_cards(old, new)

    def _refresh_cards(self, *indexes: int) -> None:
        """Repaint the lines of the cards at `indexes` that are on screen."""
        height, width = self.size.height, self.size.width
        regions = [
            Region(0, top, width, CARD_HEIGHT)
            for index in set(indexes)
            if 0 <= (top := (index - self.first) * CARD_HEIGHT) < height
        ]
        if regions:
            self.refresh(*regions)

    @property
    def visible_cards(self) -> int:
        """How many whole cards fit in the column."""
        return max(self.size.height // CARD_HEIGHT, 1)

    def _scroll_to_cursor(self) -> None:
        if self.cursor < self.first:
            self.first = self.cursor
        elif self.cursor >= self.first + self.visible_cards:
            self.first = self.cursor - self.visible_cards + 1
        self.first = max(0, min(self.first, max(len(self.cards) - self.visible_cards, 0)))

    def on_mouse_scroll_down(self, event: MouseScrollDown) -> None:
        self._scroll_by(1)

    def on_mouse_scroll_up(self, event: MouseScrollUp) -> None:
        self._scroll_by(-1)

    def _scroll_by(self, cards: int) -> None:
        limit = max(len(self.cards) - self.visible_cards, 0)
        self.first = max(0, min(limit, self.first + cards))
        self.cursor = max(self.first, min(self.cursor, self.first + self.visible_cards - 1))
        self.refresh()

    def on_resize(self) -> None:
        # Lines are cached per width, so a column that narrows and widens again reuses them.
        self._scroll_to_cursor()

    def watch_active(self) -> None:
        self._refresh_cards(self.cursor)

    def on_click(self, event: Click) -> None:
        index = self.first + event.y // CARD_HEIGHT
        if 0 <= index < len(self.cards):
            self.cursor = index
        self.post_message(self.Clicked(self))

    def action_cursor(self, step: int) -> None:
        if self.cards:
            self.cursor = max(0, min(len(self.cards) - 1, self.cursor + step))

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = max(len(self.cards) - 1, 0)

    def action_page(self, direction: int) -> None:
        per_page = self.visible_cards
        self.action_cursor(direction * per_page)

    def render_lines(self, crop: Region) -> list[Strip]:
        self._pass = (self.size.width, self.rich_style)
        try:
            return super().render_lines(crop)
        finally:
            self._pass = None

    def render_line(self, y: int) -> Strip:
        width, base = self._pass or (self.size.width, self.rich_style)
        line = self.first * CARD_HEIGHT + y
        index, row = divmod(line, CARD_HEIGHT)
        if not self.cards and y == 1:
            style = self.get_component_rich_style("card-list--empty")
            return Strip([Segment(fit(" no tickets", width), style)]).adjust_cell_length(width)
        if index >= len(self.cards) or row == CARD_HEIGHT - 1:
            return Strip.blank(width, base)
        selected = index == self.cursor
        state = 0 if not selected else (2 if self.active else 1)
        card = self.cards[index]
        cache_key = (card, row, width, state)
        strip = self._lines.get(cache_key)
        if strip is None:
            if len(self._lines) > 2000:
                self._lines.clear()
            strip = self._lines[cache_key] = self._card_line(card, row, width, state, base)
        return strip

    def _card_line(self, card: CardRow, row: int, width: int, state: int, base: Style) -> Strip:
        if state == 2:
            base = base + self.get_component_rich_style("card-list--cursor")
        elif state == 1:
            base = base + self.get_component_rich_style("card-list--cursor-blurred")
        bar_style = base + self.get_component_rich_style(f"card-list--sev-{card.severity_rank}")
        segments = [Segment("▌" if state else "▎", bar_style)]
        inner = width - 2
        segments.extend(self._content(card, row, inner, base))
        return Strip(segments).adjust_cell_length(width, base)

    def _content(self, card: CardRow, row: int, width: int, base: Style) -> list[Segment]:
        style = self.get_component_rich_style
        narrow = width < NARROW
        if row == 0:
            # Every text of a card came from Jira: one line, no terminal control.
            kind, severity = line(card.issue_type), line(card.severity)
            label = f"{short_type(kind)}·{severity}" if narrow else f"{kind} · {severity}"
            head = [Segment(line(card.key), base + style("card-list--key"))]
            if card.from_email:
                head.append(Segment(" " + EMAIL_MARK, base + style("card-list--email")))
            mark = SYNC_MARKS.get(card.sync_state)
            if mark:
                head.append(Segment(" " + mark, base + style(f"card-list--{card.sync_state}")))
            item = self.sla.get(card.key)
            left = short_left(item) if item is not None else ""
            if left and item is not None:
                look = base + style(f"card-list--sla-{item.state}")
                head.append(Segment(" " + left, look))
            used = sum(cell_len(segment.text) for segment in head)
            meta = fit(label, max(width - used - 1, 0))
            gap = max(width - used - cell_len(meta), 1)
            return [
                *head,
                Segment(" " * gap, base),
                Segment(meta, base + style("card-list--meta")),
            ]
        if row in (1, 2):
            text = wrap_two(line(card.summary), width)[row - 1]
            return [Segment(text, base + style("card-list--summary"))]
        assignee, site_id = line(card.assignee), line(card.site)
        if narrow:
            name = initials(assignee) if assignee else "—"
            site = fit(site_id, max(width - len(name) - 1, 0))
        else:
            name = assignee or "unassigned"
            site = fit(site_id, max(width // 2, 0))
        who_width = max(width - cell_len(site) - 1, 0)
        who_style = "card-list--people" if card.assignee else "card-list--unassigned"
        who = Segment(fit(name, who_width), base + style(who_style))
        gap = max(width - cell_len(who.text) - cell_len(site), 1)
        return [who, Segment(" " * gap, base), Segment(site, base + style("card-list--site"))]
