"""The app's site health: `O` opens the health screen, the board says how many sites are down.

Workers read the cache (or run a round of checks) and post what they found; only the
handlers here touch the screens. An incident (`i` on the health screen) is one core call
that queues the ticket in the outbox, then the usual push sends it to Jira.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from textual import on, work
from textual.app import App, SystemCommand
from textual.message import Message
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from triage.core.health.incident import open_incident
from triage.core.health.report import overview
from triage.storage import health as health_store
from triage.storage.errors import StorageError, TriageError
from triage.tui.screens.health import HealthScreen
from triage.tui.sync_status import PushFinished

if TYPE_CHECKING:
    from triage.core.board.service import Board, BoardData
    from triage.core.sites.inventory import Inventory
    from triage.tui.screens.board import BoardScreen

HEALTH_TICK = 30.0
"""Seconds between two looks at how many sites are down."""


class SitesDown(Message):
    """The cache says this many checked sites are down."""

    def __init__(self, down: int) -> None:
        super().__init__()
        self.down = down


class SitesChecked(Message):
    """A round of checks asked from the health screen ended."""

    def __init__(self, error: str | None) -> None:
        super().__init__()
        self.error = error


class BoardReloaded(Message):
    """The board was read again, after placeholder tickets got their Jira keys."""

    def __init__(self, data: BoardData) -> None:
        super().__init__()
        self.data = data


class HealthActions(App[None]):
    """Part of the app: the health screen, incidents, and the sites-down count."""

    # Given by the other parts of the app (SiteActions, TriageApp).
    board: Board
    board_screen: BoardScreen | None
    inventory: Callable[[], Inventory | None]
    _changed_here: Callable[[str], None]

    def on_mount(self) -> None:
        self.call_after_refresh(self._start_health)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Site health", "Every site's health, worst first", self.action_health)

    def _start_health(self) -> None:
        self.count_sites_down()
        self.set_interval(HEALTH_TICK, self.count_sites_down, name="sites down")

    @work(thread=True, exclusive=True, group="health-count", exit_on_error=False)
    def count_sites_down(self) -> None:
        """Count the sites down, off the UI thread."""
        self.post_message(SitesDown(health_store.down_count(self.board.engine)))

    @on(SitesDown)
    def show_sites_down(self, event: SitesDown) -> None:
        if self.board_screen is not None:
            self.board_screen.show_sites_down(event.down)

    def action_health(self) -> None:
        if isinstance(self.screen, HealthScreen):
            return
        engine = self.board.engine
        self.push_screen(HealthScreen(lambda: overview(engine), clock=self.board.clock))

    @on(HealthScreen.IncidentWanted)
    def report_incident(self, event: HealthScreen.IncidentWanted) -> None:
        try:
            inventory = self.inventory()
            if inventory is None:
                raise TriageError("no sites inventory: create sites.toml (README)")
            incident = open_incident(self.board, inventory, event.row)
        except (TriageError, StorageError) as error:
            self.notify(str(error), severity="error")
            return
        self._changed_here(incident.key)
        if incident.created:
            self.notify(f"Incident {incident.key} queued for Jira: {escape(incident.summary)}")
        else:
            self.notify(f"{incident.key} is open for this site: latest results commented.")

    @on(HealthScreen.CheckWanted)
    def check_now(self) -> None:
        self.notify("Checking every site…")
        self.check_sites()

    @work(thread=True, exclusive=True, group="health-check", exit_on_error=False)
    def check_sites(self) -> None:
        """One round of checks, in a child process so the screen keeps the interpreter."""
        from triage.core.health.once import check_round_apart

        try:
            check_round_apart(self.board.settings)
        except (TriageError, StorageError, OSError) as error:
            self.post_message(SitesChecked(str(error)))
            return
        self.post_message(SitesChecked(None))

    @on(Worker.StateChanged)
    def _health_worker_crashed(self, event: Worker.StateChanged) -> None:
        # A bug rather than a site: say so, so the user knows `r` did not check.
        if event.state is WorkerState.ERROR and event.worker.group.startswith("health-"):
            error = event.worker.error
            self.notify(f"health: {type(error).__name__}: {error}", severity="error")

    @on(SitesChecked)
    def show_checked(self, event: SitesChecked) -> None:
        if event.error:
            self.notify(event.error, severity="error")
        for screen in self.screen_stack:
            if isinstance(screen, HealthScreen):
                screen.reload()
        self.count_sites_down()

    @on(PushFinished)
    def follow_created(self, event: PushFinished) -> None:
        # A placeholder ticket that Jira created has its real key now: read the board again.
        screen = self.board_screen
        if screen is not None and any(
            card.key.startswith("NEW-") for cards in screen.data.columns.values() for card in cards
        ):
            self.reload_board()

    @work(thread=True, exclusive=True, group="board-reload", exit_on_error=False)
    def reload_board(self) -> None:
        """Read the board again, off the UI thread."""
        self.post_message(BoardReloaded(self.board.load()))

    @on(BoardReloaded)
    def show_reloaded(self, event: BoardReloaded) -> None:
        if self.board_screen is not None:
            self.board_screen.swap_data(event.data)
