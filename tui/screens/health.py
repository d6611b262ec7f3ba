"""The health screen: every checked site, worst first, with its recent response times.

It shows what the cache holds (written by `triage health --watch`, or by `r` here), read by
a worker every few seconds; `i` on a failing site asks the app for an incident ticket.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static

from triage.core.health.report import SiteRow
from triage.storage.models import utcnow

REFRESH_S = 5.0
BARS = "▁▂▃▄▅▆▇█"
COLUMN_SPECS: tuple[tuple[str, str, int | None], ...] = (
    ("state", "state", 11),
    ("site", "site", None),
    ("since", "for", 7),
    ("spark", "response times", 20),
    ("ms", "ms", 6),
    ("tls", "TLS", 6),
    ("check", "failing check", None),
)
COLUMNS = tuple(key for key, _, _ in COLUMN_SPECS)
STATE_LOOK = {
    "down": "bold $text-error",
    "flapping": "bold $text-warning",
    "failing": "$text-warning",
    "maintenance": "italic $text-muted",
    "degraded": "$text-warning",
    "unknown": "$text-muted",
    "up": "$text-success",
}


def sparkline(times: Sequence[int | None], width: int = 20) -> Text:
    """Response times as bars scaled to the slowest; a failed check is a red ×."""
    shown = list(times)[-width:]
    top = max((t for t in shown if t is not None), default=0) or 1
    line = Text()
    for value in shown:
        if value is None:
            line.append("×", style="red")
        else:
            line.append(BARS[min(len(BARS) - 1, value * len(BARS) // (top + 1))])
    return line.append(" " * (width - len(shown)))


def duration(seconds: float) -> str:
    """A short duration: 45s, 12m, 3h 05m, 2d 4h."""
    seconds = max(int(seconds), 0)
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


class HealthScreen(Screen[None]):
    """Every checked environment of every site, worst first."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="health.back"),
        Binding(
            "i",
            "incident",
            "Incident",
            id="health.incident",
            tooltip="Open an incident ticket in Jira for this site, or comment on its open one",
        ),
        Binding("r", "check_now", "Check now", id="health.check", tooltip="Check every site once"),
        Binding("j", "cursor(1)", "Down", show=False, id="health.down"),
        Binding("k", "cursor(-1)", "Up", show=False, id="health.up"),
        Binding("g", "cursor(-100000)", "First", show=False, id="health.first"),
        Binding("G", "cursor(100000)", "Last", show=False, id="health.last"),
    ]

    class Loaded(Message):
        """The cache was read: the rows to show."""

        def __init__(self, rows: list[SiteRow]) -> None:
            super().__init__()
            self.rows = rows

    class IncidentWanted(Message):
        """The user asked for an incident on this site."""

        def __init__(self, row: SiteRow) -> None:
            super().__init__()
            self.row = row

    class CheckWanted(Message):
        """The user asked to check every site now."""

    def __init__(self, load: Callable[[], list[SiteRow]], clock: Callable[[], datetime] = utcnow):
        super().__init__()
        self.load = load
        self.clock = clock
        self.rows: list[SiteRow] = []
        self._keys: list[str] = []
        self._shown: list[tuple[object, ...]] = []

    def compose(self) -> ComposeResult:
        yield Label("", id="health-title")
        yield Static(
            "No health results yet: run `triage health --watch` as a service, or press r.",
            id="health-empty",
            classes="dialog-help",
        )
        yield DataTable(id="health-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="health-detail")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label, width in COLUMN_SPECS:
            table.add_column(label, key=key, width=width)
        self.query_one("#health-empty").display = False
        table.focus()
        self.reload()
        self.set_interval(REFRESH_S, self.reload, name="health refresh")

    @work(thread=True, exclusive=True, group="health-load", exit_on_error=False)
    def reload(self) -> None:
        """Read the cache off the UI thread."""
        self.post_message(self.Loaded(self.load()))

    @on(Loaded)
    def show_rows(self, event: Loaded) -> None:
        """Show the rows read, keeping the cursor on its site; unchanged cells stay."""
        current = self.current
        keep = (current.health.site, current.health.env) if current else None
        self.rows = event.rows
        table = self.query_one(DataTable)
        now = self.clock()
        looks = {state: self._style(spec) for state, spec in STATE_LOOK.items()}
        keys = [f"{row.health.site}/{row.health.env}" for row in self.rows]
        cells = [self._cells(row, now, looks) for row in self.rows]
        if keys == self._keys:
            # The same sites in the same order: change only what changed, no new layout.
            for key, new, old in zip(keys, cells, self._shown, strict=True):
                for column, value, was in zip(COLUMNS, new, old, strict=True):
                    if value != was:
                        table.update_cell(key, column, value)
        else:
            table.clear()
            for key, row_cells in zip(keys, cells, strict=True):
                table.add_row(*row_cells, key=key)
            if keep is not None and f"{keep[0]}/{keep[1]}" in keys:
                table.move_cursor(row=keys.index(f"{keep[0]}/{keep[1]}"), animate=False)
        self._keys, self._shown = keys, cells
        down = sum(1 for row in self.rows if row.state == "down")
        title = Text.assemble(("Site health", "bold"), f"  {len(self.rows)} checked")
        if down:
            title.append(f"  ·  {down} down", style="bold")
        self.query_one("#health-title", Label).update(title)
        self.query_one("#health-empty").display = not self.rows
        self.show_detail()

    @staticmethod
    def _cells(row: SiteRow, now: datetime, looks: dict[str, str]) -> tuple[object, ...]:
        h = row.health
        tls = "" if h.tls_days is None else f"{h.tls_days}d"
        return (
            Text(row.state, style=looks.get(row.state, "")),
            f"{h.site}/{h.env}",
            duration((now - h.since).total_seconds()) if h.checked else "",
            sparkline(row.times),
            "" if h.ms is None else str(h.ms),
            Text(tls, style="bold" if h.tls_days is not None and h.tls_days <= 21 else ""),
            h.reason,
        )

    def _style(self, spec: str) -> str:
        """A Rich style from words and theme variables ($text-error)."""
        theme = self.app.theme_variables
        words = (theme.get(w[1:], "") if w.startswith("$") else w for w in spec.split())
        return " ".join(w for w in words if w)

    @on(DataTable.RowHighlighted)
    def show_detail(self) -> None:
        """Say everything about the site under the cursor, whatever the terminal's width."""
        row = self.current
        detail = self.query_one("#health-detail", Static)
        if row is None:
            detail.update("")
            return
        h = row.health
        since = f"since {h.since:%Y-%m-%d %H:%M UTC}" if h.checked else "not checked yet"
        text = Text.assemble((f"{h.site}/{h.env}", "bold"), f"  {h.url}\n{row.state} {since}")
        if h.fails:
            text.append(f", {h.fails} failures in a row")
        if h.flapping:
            text.append(", answers and failures keep alternating")
        if h.tls_days is not None:
            text.append(f", TLS certificate ends in {h.tls_days} days")
        if h.reason:
            text.append(f"\n{h.reason}")
        detail.update(text)

    @property
    def current(self) -> SiteRow | None:
        """The site under the cursor."""
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def action_incident(self) -> None:
        row = self.current
        if row is None:
            self.notify("No site here.", severity="warning")
        elif not row.failing:
            self.notify(f"{row.health.site} is {row.state}: nothing to report.")
        else:
            self.post_message(self.IncidentWanted(row))

    def action_cursor(self, step: int) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            row = min(max(table.cursor_row + step, 0), table.row_count - 1)
            table.move_cursor(row=row, animate=False)

    def action_check_now(self) -> None:
        self.post_message(self.CheckWanted())
