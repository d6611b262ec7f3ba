"""The security screen: each advisory, the sites it affects, and its rollout's progress.

It reads the cache in a worker (`core.security.progress`), once on opening and every second
while a rollout has work to do; the keys ask the app to start a rollout, run the rollouts,
or open an advisory's fleet screen.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Label, ListItem, ListView, ProgressBar, Static

from triage.core.security.progress import AdvisoryProgress
from triage.storage.models import RolloutState
from triage.tui.safe_text import line

REFRESH_S = 1.0
IDLE_EVERY = 5
"""With nothing queued or running, read once every this many refresh ticks."""
"""Seconds between two reads while a rollout has work to do."""
STATE_ORDER = (
    RolloutState.RUNNING, RolloutState.QUEUED, RolloutState.WAITING, RolloutState.TESTED,
    RolloutState.DEPLOYED, RolloutState.FAILED, RolloutState.NO_FIX, RolloutState.SKIPPED,
    RolloutState.PATCHED,
)  # fmt: skip


def advisory_line(entry: AdvisoryProgress) -> Text:
    """The card's first line: severity, id, package and the affected versions."""
    a = entry.advisory
    text = Text.assemble(
        (f"{line(a.severity or 'unrated'):<9}", "bold"),
        " ",
        (line(a.id), "bold"),
        "  ",
        line(a.package),
        "  ",
    )
    text.append(line(a.affected) or "(an early warning: no versions yet)", style="italic")
    if a.title:
        text.append(f"  {line(a.title)}", style="dim")
    return text


def counts_line(entry: AdvisoryProgress) -> str:
    """The card's second line: sites by state, or how many a rollout would update."""
    if entry.rollout is None:
        if entry.advisory.kind == "psa" or not entry.advisory.affected:
            return "an early warning: no rollout until the advisory is published"
        if not entry.affected:
            return f"no site affected ({entry.patched} patched)"
        return (
            f"{entry.affected} sites affected, {entry.patched} patched · "
            "u starts the rollout (a ticket per site)"
        )
    states = entry.states()
    parts = [f"{states[state]} {state.value}" for state in STATE_ORDER if states[state]]
    ticket = f" · {entry.rollout.ticket_key}" if entry.rollout.ticket_key else ""
    return f"{entry.finished}/{entry.total} finished · " + ", ".join(parts) + ticket


class AdvisoryCard(ListItem):
    """One advisory: what it is, its sites by state, and a progress bar once it rolls out."""

    def __init__(self, entry: AdvisoryProgress) -> None:
        super().__init__(classes="advisory-card")
        self.entry = entry

    def compose(self) -> ComposeResult:
        yield Static(advisory_line(self.entry), classes="advisory-head")
        with Horizontal(classes="advisory-progress"):
            yield ProgressBar(show_eta=False, classes="advisory-bar")
            yield Static("", classes="advisory-counts")

    def on_mount(self) -> None:
        self.show(self.entry)

    def show(self, entry: AdvisoryProgress) -> None:
        """Show the advisory as last read."""
        self.entry = entry
        severity = entry.advisory.severity.casefold()
        self.set_class(severity in ("critical", "high"), "-severe")
        self.query_one(".advisory-head", Static).update(advisory_line(entry))
        bar = self.query_one(ProgressBar)
        bar.display = entry.rollout is not None and entry.total > 0
        if bar.display:
            bar.update(total=entry.total, progress=entry.finished)
        self.query_one(".advisory-counts", Static).update(Text(counts_line(entry)))


class SecurityScreen(Screen[None]):
    """Every advisory, most severe first, with its rollout's progress."""

    HELP_TITLE = "Security releases"
    CSS_PATH = Path(__file__).parent.parent / "styles" / "security.tcss"
    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="security.back"),
        Binding(
            "enter", "open_fleet", "Fleet", id="security.fleet", priority=True,
            tooltip="The advisory's sites × steps: live, with their jobs and tickets",
        ),
        Binding(
            "u", "start_rollout", "Start rollout…", id="security.start",
            tooltip="A ticket per affected site through the outbox, then the updates run",
        ),
        Binding(
            "r", "run_rollouts", "Run rollouts", id="security.run",
            tooltip="Resume every rollout: the queued sites run, within the limits",
        ),
        Binding("j", "cursor(1)", "Down", show=False, id="security.down"),
        Binding("k", "cursor(-1)", "Up", show=False, id="security.up"),
    ]  # fmt: skip

    class Loaded(Message):
        """The cache was read: the advisories to show."""

        def __init__(self, entries: list[AdvisoryProgress]) -> None:
            super().__init__()
            self.entries = entries

    class FleetWanted(Message):
        """The user asked for the fleet screen of this advisory."""

        def __init__(self, entry: AdvisoryProgress) -> None:
            super().__init__()
            self.entry = entry

    class StartWanted(Message):
        """The user asked to start (or extend) this advisory's rollout."""

        def __init__(self, entry: AdvisoryProgress) -> None:
            super().__init__()
            self.entry = entry

    class RunWanted(Message):
        """The user asked to run (resume) the rollouts."""

    def __init__(
        self, load: Callable[[], list[AdvisoryProgress]], busy: Callable[[], bool]
    ) -> None:
        super().__init__()
        self.load = load
        self.busy = busy
        self.entries: list[AdvisoryProgress] = []
        self._keys: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        yield Label("", id="security-title")
        yield Static(
            "No advisories yet: `triage advisories poll` reads the feeds, "
            "`triage fleet refresh` what each site runs.",
            id="security-empty",
            classes="dialog-help",
        )
        yield ListView(id="security-list")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#security-empty").display = False
        self.query_one(ListView).focus()
        self.reload()
        self._ticks = 0
        self.set_interval(REFRESH_S, self._tick, name="security refresh")

    def _tick(self) -> None:
        # Every second while sites are queued or running; now and then otherwise, so a
        # run started elsewhere (`triage security resume`) shows up too.
        self._ticks += 1
        if (
            self.busy()
            or any(entry.active for entry in self.entries)
            or self._ticks % IDLE_EVERY == 0
        ):
            self.reload()

    @work(thread=True, exclusive=True, group="security-load", exit_on_error=False)
    def reload(self) -> None:
        """Read the cache off the UI thread."""
        self.post_message(self.Loaded(self.load()))

    @on(Loaded)
    async def show_entries(self, event: Loaded) -> None:
        """Show what was read; the same advisories are updated in place, the cursor kept."""
        self.entries = event.entries
        keys = [(e.advisory.id, e.advisory.package) for e in self.entries]
        view = self.query_one(ListView)
        if keys == self._keys:
            for card, entry in zip(view.query(AdvisoryCard), self.entries, strict=True):
                card.show(entry)
        else:
            index = view.index or 0
            await view.clear()
            await view.extend(AdvisoryCard(entry) for entry in self.entries)
            if self.entries:
                view.index = min(index, len(self.entries) - 1)
        self._keys = keys
        affected = sum(entry.affected for entry in self.entries)
        rolling = sum(1 for entry in self.entries if entry.rollout is not None)
        title = Text.assemble(("Security releases", "bold"), f"  {len(self.entries)} advisories")
        title.append(f"  ·  {affected} affected sites  ·  {rolling} rollouts")
        if self.busy():
            title.append("  ·  running", style="bold")
        self.query_one("#security-title", Label).update(title)
        self.query_one("#security-empty").display = not self.entries

    @property
    def current(self) -> AdvisoryProgress | None:
        """The advisory under the cursor."""
        index = self.query_one(ListView).index
        if index is None or index >= len(self.entries):
            return None
        return self.entries[index]

    def action_cursor(self, step: int) -> None:
        view = self.query_one(ListView)
        if self.entries:
            view.index = min(max((view.index or 0) + step, 0), len(self.entries) - 1)

    def action_open_fleet(self) -> None:
        if (entry := self.current) is not None:
            self.post_message(self.FleetWanted(entry))

    def action_start_rollout(self) -> None:
        entry = self.current
        if entry is None:
            self.notify("No advisory here.", severity="warning")
        elif entry.rollout is None and not entry.affected:
            self.notify(f"{entry.advisory.id} affects no site: nothing to roll out.")
        else:
            self.post_message(self.StartWanted(entry))

    def action_run_rollouts(self) -> None:
        self.post_message(self.RunWanted())
