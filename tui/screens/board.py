"""The board: nine columns of cards, a filter line and a status line."""

from __future__ import annotations

import gc
from bisect import insort
from collections.abc import Callable, Iterable
from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input, Static

from triage.core.board.filters import SLA_PREFIXES, CardFilter, parse_filter
from triage.core.board.service import BoardData, sort_key
from triage.core.sla.ranking import Ranking
from triage.storage.columns import BoardColumn
from triage.storage.models import utcnow
from triage.storage.queries import CardRow
from triage.tui.sync_status import SyncStatus, describe
from triage.tui.widgets.board_view import BoardView

STATUS_TICK = 30.0
"""Seconds between refreshes of "synced N min ago"."""


def sla_counts(ranking: Ranking | None) -> list[str | tuple[str, str]]:
    """The status line's SLA part: how many tickets breached their SLA, how many are at risk."""
    if ranking is None:
        return []
    parts: list[str | tuple[str, str]] = []
    if ranking.breached:
        parts += ["  ·  ", (f"{ranking.breached:,} breached", "bold")]
    if ranking.at_risk:
        parts += ["  ·  ", f"{ranking.at_risk:,} at risk"]
    return parts


class StatusLine(Widget):
    """Workspace, counts and who I am on the left; where the cache stands with Jira on the right."""

    COMPONENT_CLASSES = {
        "status-line--ok",
        "status-line--local",
        "status-line--busy",
        "status-line--error",
        "status-line--hint",
        "status-line--waiting",
        "status-line--conflict",
    }

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        & > .status-line--ok { color: $text-muted; }
        & > .status-line--local { color: $text-muted; text-style: italic; }
        & > .status-line--busy { color: $text-accent; }
        & > .status-line--error { color: $text-error; }
        & > .status-line--hint { color: $text; text-style: bold; }
        & > .status-line--waiting { color: $text-warning; }
        & > .status-line--conflict { color: $text-error; }
    }
    """

    board_text: reactive[Text] = reactive(Text, layout=False)
    sync_parts: reactive[tuple[tuple[str, str], ...]] = reactive(tuple, layout=False)

    LEFT_MIN = 30
    """Cells the left side keeps when the right side has a long sentence to say."""

    def render(self) -> Text:
        width = self.content_region.width
        left = self.board_text.copy()
        room = max(width - min(left.cell_len, self.LEFT_MIN) - 2, 0)
        excess = sum(cell_len(words) for words, _ in self.sync_parts) - room
        right = Text()
        for words, look in self.sync_parts:
            if excess > 0 and look == "error":
                # The sentence gives way; what to press next stays in view.
                words = set_cell_size(words, max(cell_len(words) - excess - 1, 0)) + "…"
            right.append(words, self.get_component_rich_style(f"status-line--{look}"))
        right.truncate(room, overflow="ellipsis")
        left.truncate(max(width - right.cell_len - 2, 0), overflow="ellipsis")
        gap = max(width - left.cell_len - right.cell_len, 0)
        return Text.assemble(left, " " * gap, right, no_wrap=True, end="")


class BoardScreen(Screen[None]):
    """The kanban of every cached ticket."""

    BINDINGS = [
        Binding("H,shift+left", "move_card(-1)", "Move left", show=False, id="board.move_left"),
        Binding("L,shift+right", "move_card(1)", "Move right", show=False, id="board.move_right"),
        Binding("m", "app.move_picker", "Move…", id="board.move"),
        Binding("enter", "app.open_ticket", "Open", id="board.open"),
        Binding("a", "app.assign_me", "Assign me", id="board.assign"),
        Binding(
            "x",
            "app.site_actions",
            "Actions…",
            id="board.actions",
            tooltip="Branch, clone prod, test site, deploy: what fits the ticket now",
        ),
        Binding("c", "app.comment", "Comment", id="board.comment"),
        Binding(
            "R",
            "app.review",
            "Review",
            show=False,
            id="board.review",
            tooltip="Tickets in Code Review waiting for you, with their branch's diff",
        ),
        Binding(
            "S",
            "app.security",
            "Security",
            show=False,
            id="board.security",
            tooltip="Security advisories, the sites they affect, and their rollouts",
        ),
        Binding("slash", "filter", "Filter", id="board.filter"),
        Binding(
            "Q",
            "app.queue",
            "Queue",
            id="board.queue",
            tooltip="Open tickets ranked by their SLA clocks; n there takes the next one",
        ),
        Binding(
            "r",
            "app.sync",
            "Sync now",
            id="board.sync",
            tooltip="Send the changes waiting for Jira, then fetch what changed there",
        ),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="board.clear_filter"),
    ]

    def __init__(
        self,
        data: BoardData,
        me: str,
        workspace: str,
        focused_width: int,
        min_width: int,
        sync_status: SyncStatus | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        super().__init__()
        self.data = data
        self.me = me
        self.workspace = workspace
        self.card_filter = CardFilter()
        self.board_view = BoardView(focused_width, min_width)
        self.sync_status = sync_status or SyncStatus(connected=False)
        self.clock = clock
        self.sla: Ranking | None = None
        self.sites_down = 0
        self._shown = 0

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status-line")
        yield Input(
            placeholder="words  @me  site:ID  assignee:none  -word  (enter keeps it, esc clears)",
            id="filter",
        )
        yield Static("", id="filter-problem")
        yield self.board_view
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#filter", Input).display = False
        self.query_one("#filter-problem", Static).display = False
        self.refresh_columns()
        self.show_sync(self.sync_status)
        self.set_focus(self.board_view)
        self.set_interval(STATUS_TICK, self._tick, name="status tick")

    def _tick(self) -> None:
        self.show_sync(self.sync_status)

    def show_sync(self, status: SyncStatus) -> None:
        """Say where the cache stands with Jira."""
        self.sync_status = status
        self.query_one(StatusLine).sync_parts = tuple(describe(status, self.clock()))

    @property
    def current_card(self) -> CardRow | None:
        """The card under the cursor of the focused column."""
        return self.board_view.current_card

    def refresh_columns(self, keep_key: str | None = None) -> None:
        """Show the loaded cards through the filter."""
        test = self._filter_test()
        shown_total = 0
        for column in BoardColumn:
            cards = self.data.columns[column]
            shown = cards if test is None else [card for card in cards if test(card)]
            shown_total += len(shown)
            self.board_view.view(column).show(shown, len(cards), keep_key)
        self._update_status(shown_total)

    def show_sites_down(self, down: int) -> None:
        """Say in the header how many checked sites are down."""
        if down != self.sites_down:
            self.sites_down = down
            self._update_status(self._shown)

    def _update_status(self, shown: int) -> None:
        self._shown = shown
        total = self.data.total
        counts = f"{total:,} tickets" if shown == total else f"{shown:,} of {total:,} tickets"
        parts: list[str | tuple[str, str]] = [
            ("Triage", "bold"),
            "  ",
            self.workspace,
            "  ·  ",
            counts,
            "  ·  ",
            ("@" + self.me, "italic"),
        ]
        if self.data.unmapped:
            parts += ["  ·  ", (f"{len(self.data.unmapped)} in unmapped statuses", "bold")]
        parts += sla_counts(self.sla)
        if self.sites_down:
            down = self.sites_down
            word = f"{down} site down" if down == 1 else f"{down} sites down"
            parts += ["  ·  ", (word, "bold")]
        if not self.card_filter.empty:
            parts += ["  ·  filter: ", (self.query_one("#filter", Input).value, "bold")]
        self.query_one(StatusLine).board_text = Text.assemble(*parts)

    def _filter_test(self) -> Callable[[CardRow], bool] | None:
        """The filter's test of a card, None when there is no filter."""
        if self.card_filter.empty:
            return None
        return self.card_filter.predicate(self.me, self.sla.by_key if self.sla else None)

    def show_sla(self, ranking: Ranking) -> None:
        """Show each card's time left and count the breached and at-risk tickets."""
        self.sla = ranking
        for card_list in self.board_view.card_lists():
            card_list.set_sla(ranking.by_key)
        if not self.is_mounted:
            return  # the first refresh of the columns shows it
        if any(name in SLA_PREFIXES for name, _ in self.card_filter.fields):
            current = self.current_card
            self.refresh_columns(keep_key=current.key if current else None)
        else:
            self._update_status(self._shown)

    def apply_card(self, card: CardRow) -> None:
        """Put a changed card where it now belongs, and keep the cursor on it."""
        old = self._place(card)
        if old is not None and old != card.column:
            self._reshow(old)
        if card.column is not None:
            self._reshow(card.column, keep_key=card.key)
            self.board_view.focus_column(card.column.position)
            self.board_view.view(card.column).cards.select_key(card.key)

    def update_cards(self, cards: Iterable[CardRow]) -> None:
        """Show cards changed in the background; every cursor stays on its card."""
        touched: set[BoardColumn] = set()
        for card in cards:
            old = self._place(card)
            touched.update(column for column in (old, card.column) if column is not None)
        for column in touched:
            self._reshow(column, keep_key=self._current_key(column))

    def swap_data(self, data: BoardData) -> None:
        """Show freshly loaded cards, keeping the focused column and each column's card."""
        keep = {column: self._current_key(column) for column in BoardColumn}
        self.data = data
        test = self._filter_test()
        shown_total = 0
        for column in BoardColumn:
            cards = data.columns[column]
            shown = cards if test is None else [card for card in cards if test(card)]
            shown_total += len(shown)
            self.board_view.view(column).show(shown, len(cards), keep[column])
        self._update_status(shown_total)
        # As at start-up: keep the collector from walking the long-lived cards again and again.
        gc.freeze()

    def _current_key(self, column: BoardColumn) -> str | None:
        current = self.board_view.view(column).cards.current
        return current.key if current else None

    def _place(self, card: CardRow) -> BoardColumn | None:
        """Put `card` in its column's list in board order; returns the column it left."""
        left: BoardColumn | None = None
        for column, cards in self.data.columns.items():
            for index, existing in enumerate(cards):
                if existing.key == card.key:
                    del cards[index]
                    left = column
                    break
            else:
                continue
            break
        if card.column is not None:
            insort(self.data.columns[card.column], card, key=sort_key)
        return left

    def _reshow(self, column: BoardColumn, keep_key: str | None = None) -> None:
        cards = self.data.columns[column]
        test = self._filter_test()
        shown = cards if test is None else [card for card in cards if test(card)]
        self.board_view.view(column).show(shown, len(cards), keep_key)

    def jump_to(self, key: str) -> bool:
        """Focus the card `key` wherever it is; clears a filter that hides it."""
        for column, cards in self.data.columns.items():
            if any(card.key == key for card in cards):
                view = self.board_view.view(column)
                if not view.cards.select_key(key):
                    self.set_filter("")
                    view.cards.select_key(key)
                self.board_view.focus_column(column.position)
                self.set_focus(self.board_view)
                return True
        return False

    async def action_move_card(self, step: int) -> None:
        card = self.current_card
        if card is None or card.column is None:
            self.notify("No card here to move.", severity="warning")
            return
        target_index = card.column.position + step
        if not 0 <= target_index < len(BoardColumn):
            self.notify(f"{card.key} is already in the last column that way.", severity="warning")
            return
        target = list(BoardColumn)[target_index]
        await self.app.run_action(f"move_to({card.key!r}, {target.name!r})")

    def action_filter(self) -> None:
        filter_input = self.query_one("#filter", Input)
        filter_input.display = True
        # At once, not on the next tick: keys typed right after `/` belong to the filter.
        self.set_focus(filter_input)

    def action_clear_filter(self) -> None:
        self.set_filter("")

    def set_filter(self, text: str) -> None:
        """Filter the board by `text` (the `/` language); empty shows everything."""
        filter_input = self.query_one("#filter", Input)
        with filter_input.prevent(Input.Changed):
            filter_input.value = text
        filter_input.display = bool(text)
        self.card_filter = parse_filter(text)
        self._show_filter_problem()
        current = self.current_card
        self.refresh_columns(keep_key=current.key if current else None)

    @on(Input.Changed, "#filter")
    def _filter_typed(self, event: Input.Changed) -> None:
        self.card_filter = parse_filter(event.value)
        self._show_filter_problem()
        self.refresh_columns()

    def _show_filter_problem(self) -> None:
        """Under the filter line: what in it the filter does not know."""
        problem = self.card_filter.problem
        line = self.query_one("#filter-problem", Static)
        line.update(problem or "")
        line.display = problem is not None

    @on(Input.Submitted, "#filter")
    def _filter_kept(self, event: Input.Submitted) -> None:
        event.input.display = bool(event.value)
        self.set_focus(self.board_view)

    def on_key(self, event: object) -> None:
        # Esc inside the filter line clears it and returns to the cards.
        if getattr(event, "key", None) == "escape" and self.query_one("#filter", Input).has_focus:
            self.set_filter("")
            self.set_focus(self.board_view)
