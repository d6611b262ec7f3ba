"""The SLA queue: open tickets in rank order, time left as a coloured bar, who holds them."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static

from triage.core.sla.ranking import QueueItem, Ranking, short_left

SHOWN = 1000
"""Rows the screen lists; the rest wait below the top thousand."""
BAR = 8
"""Cells of the time-left bar."""
COLUMNS = (("#", 3), ("Key", 8), ("Time left", BAR + 7), ("Pkg", 6), ("Sev", 7), ("Held by", 12))
"""The fixed columns and their widths; the summary takes the rest."""


class QueueTable(DataTable[Text]):
    """The ranked rows; its component classes give the bar its theme colours."""

    COMPONENT_CLASSES = DataTable.COMPONENT_CLASSES | {
        "queue--breached",
        "queue--risk",
        "queue--ok",
        "queue--paused",
        "queue--none",
        "queue--empty",
        "queue--nobody",
    }

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="queue.down"),
        Binding("k", "cursor_up", "Up", show=False, id="queue.up"),
        Binding("g", "scroll_top", "Top", show=False, id="queue.first"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="queue.last"),
    ]

    DEFAULT_CSS = """
    QueueTable {
        height: 1fr;
        & > .queue--breached { color: $error; text-style: bold; }
        & > .queue--risk { color: $warning; }
        & > .queue--ok { color: $success; }
        & > .queue--paused { color: $text-muted; }
        & > .queue--none { color: $text-disabled; }
        & > .queue--empty { color: $panel-lighten-2; }
        & > .queue--nobody { color: $text-disabled; text-style: italic; }
    }
    """


def bar(item: QueueItem, table: QueueTable) -> Text:
    """Time left as a bar: full and red once breached, else the share of the target left."""
    style = table.get_component_rich_style(f"queue--{item.state}")
    empty = table.get_component_rich_style("queue--empty")
    clock = item.clock
    if clock is None:
        return Text("·" * BAR, style=empty)
    share = 1.0 if clock.breached else max(0.0, min(1.0, clock.left / clock.target))
    filled = BAR if clock.breached else max(1, round(share * BAR)) if share > 0 else 0
    return Text.assemble(("█" * filled, style), ("░" * (BAR - filled), empty))


class QueueScreen(Screen[None]):
    """The ranked SLA queue; `n` takes the top ticket nobody holds."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="queue.back"),
        Binding("enter", "app.open_ticket", "Open", id="queue.open"),
        Binding(
            "n",
            "app.take_next",
            "Take next",
            id="queue.take_next",
            tooltip="Assign the top ticket nobody holds to me, move it to In Progress, "
            "and offer its branch and dev clone",
        ),
        Binding("x", "app.site_actions", "Actions…", id="queue.actions"),
        Binding("M", "toggle_mine", "Mine / all", id="queue.mine"),
    ]

    def __init__(self, ranking: Ranking | None, me: str) -> None:
        super().__init__()
        self.ranking = ranking
        self.me = me
        self.mine = False
        self.shown: list[QueueItem] = []

    def compose(self) -> ComposeResult:
        yield Label("", id="queue-title")
        yield QueueTable(id="queue-table", cursor_type="row", zebra_stripes=False)
        yield Static("", id="queue-why")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(QueueTable)
        for label, width in COLUMNS:
            table.add_column(label, width=width, key=label)
        table.add_column("Summary", width=self._summary_width(), key="Summary")
        self.show(self.ranking)
        table.focus()

    def _summary_width(self) -> int:
        # Each column pads a cell on both sides; the vertical scrollbar takes two more.
        used = sum(width + 2 for _, width in COLUMNS) + 2 + 3
        return max(self.app.size.width - used, 12)

    @property
    def current_key(self) -> str | None:
        """The ticket under the cursor."""
        table = self.query_one(QueueTable)
        if not self.shown or not 0 <= table.cursor_row < len(self.shown):
            return None
        return self.shown[table.cursor_row].key

    def show(self, ranking: Ranking | None) -> None:
        """List the ranked tickets (again), keeping the cursor on its ticket."""
        self.ranking = ranking
        keep = self.current_key if self.shown else None
        table = self.query_one(QueueTable)
        table.clear()
        items = ranking.items if ranking else []
        if self.mine:
            items = [i for i in items if (i.assignee or "").casefold() == self.me.casefold()]
        self.shown = items[:SHOWN]
        nobody = table.get_component_rich_style("queue--nobody")
        for item in self.shown:
            state = table.get_component_rich_style(f"queue--{item.state}")
            left = Text.assemble(bar(item, table), " ", (short_left(item) or "—", state))
            who = Text(item.assignee, no_wrap=True) if item.assignee else Text("nobody", nobody)
            table.add_row(
                Text(str(item.rank)),
                Text(item.key, style="bold"),
                left,
                Text(item.package + ("*" if "package" in item.defaults else "")),
                Text(item.severity + ("*" if "severity" in item.defaults else "")),
                who,
                Text(item.summary, no_wrap=True, overflow="ellipsis"),
                key=item.key,
            )
        if keep is not None:
            index = next((i for i, item in enumerate(self.shown) if item.key == keep), 0)
            table.move_cursor(row=index)
        self._title()
        self._why()

    def _title(self) -> None:
        title = Text.assemble(("SLA queue", "bold"))
        if self.ranking is None:
            title.append("  ranking…")
        else:
            total = len(self.ranking.items)
            title.append(f"  {total:,} open")
            if self.ranking.breached:
                title.append(f"  ·  {self.ranking.breached:,} breached", "bold")
            if self.ranking.at_risk:
                title.append(f"  ·  {self.ranking.at_risk:,} at risk")
            if self.mine:
                title.append(f"  ·  mine: {len(self.shown):,}", "italic")
            elif total > SHOWN:
                title.append(f"  ·  the first {SHOWN:,} shown")
            title.append("   * = the configured default", "dim")
        self.query_one("#queue-title", Label).update(title)

    def _why(self) -> None:
        table = self.query_one(QueueTable)
        text = Text()
        if self.shown and 0 <= table.cursor_row < len(self.shown):
            item = self.shown[table.cursor_row]
            text = Text.assemble((f"{item.key} #{item.rank}: ", "bold"), item.why)
        elif self.ranking is not None:
            text = Text("Nothing open." if not self.mine else "Nothing open is assigned to you.")
        self.query_one("#queue-why", Static).update(text)

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._why()

    @on(DataTable.RowSelected)
    async def _open(self, event: DataTable.RowSelected) -> None:
        # The table takes enter for itself; a chosen row opens its ticket.
        await self.app.run_action("app.open_ticket")

    def action_toggle_mine(self) -> None:
        self.mine = not self.mine
        self.show(self.ranking)
