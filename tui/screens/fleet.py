"""The fleet screen of one advisory: its sites × the update's steps, live.

A worker reads the rollout's site rows every second; a cell shows whether a step is done,
running, failed, or skipped / not applicable. The keys ask the app to open a site's job
log or ticket, to retry a site, or to skip it with a reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.markup import escape
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Label, Static

from triage.core.security.progress import ACTIVE
from triage.core.security.site_update import STEPS
from triage.storage.models import RolloutState
from triage.storage.rollouts import SiteView
from triage.tui.safe_text import line, rich_line

REFRESH_S = 1.0
IDLE_EVERY = 5
"""With nothing queued or running, read once every this many refresh ticks."""
DONE, RUNNING, FAILED, NO_FIX, OFF, TODO = "✓", "▶", "✗", "!", "–", "·"
LEGEND = (
    f"{DONE} done  {RUNNING} running  {FAILED} failed  {NO_FIX} no fix  "
    f"{OFF} skipped or not applicable  {TODO} to do"
)
MARK_LOOK = {
    DONE: "$text-success",
    RUNNING: "bold $text-accent",
    FAILED: "bold $text-error",
    NO_FIX: "bold $text-warning",
    OFF: "$text-muted",
    TODO: "$text-muted",
}
STATE_LOOK = {
    RolloutState.RUNNING: "bold $text-accent",
    RolloutState.FAILED: "bold $text-error",
    RolloutState.NO_FIX: "$text-warning",
    RolloutState.TESTED: "$text-success",
    RolloutState.DEPLOYED: "bold $text-success",
    RolloutState.WAITING: "$text-accent",
    RolloutState.SKIPPED: "$text-muted",
    RolloutState.PATCHED: "$text-muted",
}
COLUMNS = ("site", "state", *STEPS, "versions", "ticket", "reason")
SiteId = tuple[str, str, str]


def step_marks(row: SiteView) -> list[str]:
    """One mark per step of `STEPS` for a site's row."""
    last = STEPS.index(row.step) if row.step in STEPS else -1
    marks = []
    for index, name in enumerate(STEPS):
        if row.state is RolloutState.PATCHED or (name == "prod" and row.stage != "prod"):
            marks.append(OFF)
        elif index <= last:
            marks.append(DONE)
        elif index == last + 1 and row.state is RolloutState.RUNNING:
            marks.append(RUNNING)
        elif index == last + 1 and row.state is RolloutState.FAILED:
            marks.append(FAILED)
        elif index == last + 1 and row.state is RolloutState.NO_FIX:
            marks.append(NO_FIX)
        elif row.state in (RolloutState.SKIPPED, RolloutState.NO_FIX):
            marks.append(OFF)
        else:
            marks.append(TODO)
    return marks


def versions(row: SiteView) -> str:
    """The version the site ran → the one it runs now, when updated."""
    return f"{row.version} → {row.new_version}" if row.new_version else row.version


class FleetScreen(Screen[None]):
    """The sites of one advisory's rollout and their steps."""

    HELP_TITLE = "Fleet"
    CSS_PATH = Path(__file__).parent.parent / "styles" / "security.tcss"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="fleet.back"),
        Binding("enter", "open_job", "Job log", id="fleet.job", priority=True,
                tooltip="The site's job, live"),
        Binding("R", "retry", "Retry", id="fleet.retry",
                tooltip="Run a failed, skipped or no-fix site again from its last finished step"),
        Binding("s", "skip", "Skip…", id="fleet.skip",
                tooltip="Take the site out of the rollout, with a reason (audited)"),
        Binding("o", "open_ticket", "Ticket", id="fleet.ticket", tooltip="The site's ticket"),
        Binding("j", "cursor(1)", "Down", show=False, id="fleet.down"),
        Binding("k", "cursor(-1)", "Up", show=False, id="fleet.up"),
        Binding("g", "cursor(-100000)", "First", show=False, id="fleet.first"),
        Binding("G", "cursor(100000)", "Last", show=False, id="fleet.last"),
    ]  # fmt: skip

    class Loaded(Message):
        """The rollout's site rows were read."""

        def __init__(self, rows: list[SiteView]) -> None:
            super().__init__()
            self.rows = rows

    class JobWanted(Message):
        """The user asked for a site's job log."""

        def __init__(self, job_id: int) -> None:
            super().__init__()
            self.job_id = job_id

    class RetryWanted(Message):
        """The user asked to run a site again."""

        def __init__(self, site: SiteId) -> None:
            super().__init__()
            self.site = site

    class SkipWanted(Message):
        """The user asked to take a site out of the rollout, for this reason."""

        def __init__(self, site: SiteId, reason: str) -> None:
            super().__init__()
            self.site = site
            self.reason = reason

    class TicketWanted(Message):
        """The user asked for a site's ticket."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(
        self,
        advisory_id: str,
        package: str,
        load: Callable[[], list[SiteView]],
        busy: Callable[[], bool] = lambda: False,
    ) -> None:
        super().__init__()
        self.advisory_id, self.package = advisory_id, package
        self.HELP_TITLE = f"Fleet of {escape(line(advisory_id))}"  # help shows it as markup
        self.load, self.busy = load, busy
        self.rows: list[SiteView] = []
        self._keys: list[str] = []
        self._shown: list[tuple[object, ...]] = []

    def compose(self) -> ComposeResult:
        yield Label("", id="fleet-title")
        yield Static(
            "This advisory's rollout has not started: press u on the security screen.",
            id="fleet-empty",
            classes="dialog-help",
        )
        yield DataTable(id="fleet-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="fleet-detail")
        yield Static(LEGEND, id="fleet-legend")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        widths = {"site": None, "state": 8, "versions": None, "ticket": 9, "reason": None}
        for key in COLUMNS:
            table.add_column(key, key=key, width=widths.get(key, max(len(key), 1)))
        self.query_one("#fleet-empty").display = False
        table.focus()
        self.reload()
        self._ticks = 0
        self.set_interval(REFRESH_S, self._tick, name="fleet refresh")

    def _tick(self) -> None:
        # Every second while sites are queued or running; now and then otherwise, so a
        # run started elsewhere (`triage security resume`) shows up too.
        self._ticks += 1
        if (
            self.busy()
            or any(row.state in ACTIVE for row in self.rows)
            or self._ticks % IDLE_EVERY == 0
        ):
            self.reload()

    @work(thread=True, exclusive=True, group="fleet-load", exit_on_error=False)
    def reload(self) -> None:
        """Read the rollout's sites off the UI thread."""
        self.post_message(self.Loaded(self.load()))

    @on(Loaded)
    def show_rows(self, event: Loaded) -> None:
        """Show the rows read; the same sites keep their rows (and the cursor), cells change.

        Only the rows whose fields changed since the last read are drawn again: a refresh
        during a run costs the few sites that moved on, not the whole fleet.
        """
        rows, self.rows = self.rows, event.rows
        table = self.query_one(DataTable)
        keys = [row.site for row in self.rows]
        looks = self._looks()
        if keys == self._keys:
            for index, (row, was) in enumerate(zip(self.rows, rows, strict=True)):
                if row == was:
                    continue
                new, old = self._cells(row, looks), self._shown[index]
                for column, value, before in zip(COLUMNS, new, old, strict=True):
                    if value != before:
                        table.update_cell(row.site, column, value)
                self._shown[index] = new
        else:
            current = self.current
            table.clear()
            self._shown = [self._cells(row, looks) for row in self.rows]
            for key, row_cells in zip(keys, self._shown, strict=True):
                table.add_row(*row_cells, key=key)
            if current is not None and current.site in keys:
                table.move_cursor(row=keys.index(current.site), animate=False)
        self._keys = keys
        counts = Counter(row.state.value for row in self.rows)
        title = Text.assemble((f"Fleet of {line(self.advisory_id)}", "bold"))
        title.append(f"  {line(self.package)}  ·  {len(self.rows)} sites")
        if counts:
            title.append("  ·  " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
        self.query_one("#fleet-title", Label).update(title)
        self.query_one("#fleet-empty").display = not self.rows
        self.show_detail()

    def _cells(self, row: SiteView, looks: dict[str, str]) -> tuple[object, ...]:
        marks = [Text(mark, style=looks[MARK_LOOK[mark]]) for mark in step_marks(row)]
        return (
            rich_line(row.site),
            Text(row.state.value, style=looks[STATE_LOOK.get(row.state, "")]),
            *marks,
            rich_line(versions(row)),
            rich_line(row.ticket_key),
            rich_line(row.reason),
        )

    def _looks(self) -> dict[str, str]:
        """Each look of the marks and states as a Rich style, theme variables resolved."""
        theme = self.app.theme_variables
        specs = {"", *MARK_LOOK.values(), *STATE_LOOK.values()}
        return {
            spec: " ".join(
                word
                for word in (theme.get(w[1:], "") if w.startswith("$") else w for w in spec.split())
                if word
            )
            for spec in specs
        }

    @on(DataTable.RowHighlighted)
    def show_detail(self) -> None:
        """Everything about the site under the cursor: its reason in full, its branch, job."""
        row = self.current
        detail = self.query_one("#fleet-detail", Static)
        if row is None:
            detail.update("")
            return
        text = Text.assemble((line(row.site), "bold"), f"  {row.state.value}")
        text.append(f"  {line(versions(row))}")
        if row.ticket_key:
            text.append(f"  {line(row.ticket_key)}")
        if row.branch:
            text.append(f"  branch {line(row.branch)}")
        if row.job_id is not None:
            text.append(f"  job #{row.job_id}")
        text.append(f"  attempts {row.attempts}")
        if row.prod_after is not None and row.state is RolloutState.WAITING:
            text.append(f"  production after {row.prod_after:%Y-%m-%d %H:%M} UTC")
        if row.reason:
            text.append(f"\n{line(row.reason)}")
        detail.update(text)

    @property
    def current(self) -> SiteView | None:
        """The site under the cursor."""
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    def _site(self) -> SiteView | None:
        row = self.current
        if row is None:
            self.notify("No site here.", severity="warning")
        return row

    def action_cursor(self, step: int) -> None:
        table = self.query_one(DataTable)
        if table.row_count:
            row = min(max(table.cursor_row + step, 0), table.row_count - 1)
            table.move_cursor(row=row, animate=False)

    def action_open_job(self) -> None:
        if (row := self._site()) is None:
            return
        if row.job_id is None:
            self.notify(f"{row.site} has not run yet: no job log.")
        else:
            self.post_message(self.JobWanted(row.job_id))

    def action_retry(self) -> None:
        if (row := self._site()) is not None:
            self.post_message(self.RetryWanted((row.advisory_id, row.package, row.site)))

    def action_skip(self) -> None:
        if (row := self._site()) is not None:
            self.ask_skip(row)

    @work(exclusive=True, group="fleet-skip")
    async def ask_skip(self, row: SiteView) -> None:
        """Ask why the site is skipped (never blank), then ask the app to skip it."""
        from triage.tui.screens.reason import ReasonDialog

        reason = await self.app.push_screen_wait(
            ReasonDialog(
                f"Skip {line(row.site)} in {line(row.advisory_id)}",
                "The site leaves the rollout; the reason goes to the audit log. "
                "R brings it back later.",
            )
        )
        if reason:
            self.post_message(self.SkipWanted((row.advisory_id, row.package, row.site), reason))

    def action_open_ticket(self) -> None:
        if (row := self._site()) is None:
            return
        if not row.ticket_key:
            self.notify(f"{row.site} has no ticket in this rollout (it was patched already).")
        else:
            self.post_message(self.TicketWanted(row.ticket_key))
