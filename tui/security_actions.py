"""The app's security releases: `S` opens the advisories, enter an advisory's fleet.

Starting a rollout is one core call in a worker (its tickets go to the outbox), then the
app pushes at once; once the push has run, the started rollout's sites run. The rollouts
run through a `RolloutScheduler` with its own job runner (`security.rollout.max_parallel`
jobs), in a thread worker of the app, so they go on when the screens close. Retry and
skip are one conditional UPDATE each: done in the key press.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import App, SystemCommand
from textual.message import Message
from textual.screen import Screen

from triage.storage.errors import TriageError
from triage.tui.sync_status import PushFinished

if TYPE_CHECKING:
    # Imported where used: the first frame needs none of the rollout machinery, so the
    # screens' messages are handled by name (on_security_screen_…, on_fleet_screen_…).
    from triage.core.board.service import Board
    from triage.core.jobs.runner import JobRunner
    from triage.core.security.rollout import Started
    from triage.core.security.scheduler import ClosableWork, RolloutScheduler, RunSummary
    from triage.core.sites.inventory import Inventory
    from triage.tui.jira_sync import TrackerFactory
    from triage.tui.screens.fleet import FleetScreen
    from triage.tui.screens.security import SecurityScreen

Only = list[tuple[str, str]]
"""Rollouts to run, by (advisory id, package); None for all."""


class RolloutStarted(Message):
    """A rollout was started (or extended), or could not be: `error` says why."""

    def __init__(self, started: list[Started], error: str = "") -> None:
        super().__init__()
        self.started = started
        self.error = error


class RolloutsRan(Message):
    """A run of the rollouts ended, or could not start: `error` says why."""

    def __init__(self, summary: RunSummary | None, error: str = "") -> None:
        super().__init__()
        self.summary = summary
        self.error = error


class SecurityActions(App[None]):
    """Part of the app: the security and fleet screens, and the rollouts they start and run."""

    board: Board
    tracker_factory: TrackerFactory | None
    _scheduler: RolloutScheduler | None = None
    _rollout_runner: JobRunner | None = None
    _runs = 0
    _run_after_push: Only | None = None
    site_work: Callable[[], ClosableWork] | None = None
    """Makes the work of one site's update; None: the real one (git and Docker)."""
    _scheduler_lock = threading.Lock()
    """Guards the scheduler's making and the count of runs (workers are threads)."""

    if TYPE_CHECKING:  # the other parts of the app define these

        @property
        def runner(self) -> JobRunner: ...
        def inventory(self) -> Inventory | None: ...
        def push_changes(self) -> Any: ...
        def action_open_ticket(self, key: str | None = None) -> None: ...

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Security releases",
            "Each advisory, the sites it affects, and its rollout",
            self.action_security,
        )

    def action_security(self) -> None:
        from triage.core.security.progress import rollout_progress
        from triage.tui.screens.security import SecurityScreen

        if isinstance(self.screen, SecurityScreen):
            return

        engine = self.board.engine
        self.push_screen(SecurityScreen(lambda: rollout_progress(engine), self.rollouts_busy))

    def rollouts_busy(self) -> bool:
        """Whether the app starts or runs a rollout now."""
        return self._runs > 0 or any(
            w.group == "security-start" and not w.is_finished for w in self.workers
        )

    def scheduler(self) -> RolloutScheduler:
        """The scheduler over the sites inventory, made on first use; TriageError without one."""
        with self._scheduler_lock:
            if self._scheduler is None:
                from triage.core.jobs.runner import JobRunner
                from triage.core.security.scheduler import RolloutScheduler
                from triage.core.security.site_work import DockerSiteWork

                inventory = self._inventory()
                board = self.board
                limits = board.settings.security.rollout
                runner = JobRunner(board.engine, limits.max_parallel, board.me.name, board.clock)
                self._rollout_runner = runner
                work = self.site_work or (lambda: DockerSiteWork(clock=board.clock))
                self._scheduler = RolloutScheduler(board, inventory, limits, runner, work)
            return self._scheduler

    def _inventory(self) -> Inventory:
        inventory = self.inventory()
        if inventory is None:
            path = self.board.settings.resolved_sites_file()
            raise TriageError(f"no sites inventory at {path}: create it (README)")
        return inventory

    # -- the security screen ------------------------------------------------------------------

    def on_security_screen_fleet_wanted(self, event: SecurityScreen.FleetWanted) -> None:
        """Open the fleet screen of the advisory chosen."""
        from triage.storage import rollouts as store
        from triage.tui.screens.fleet import FleetScreen

        engine = self.board.engine
        advisory_id, package = event.entry.advisory.id, event.entry.advisory.package
        self.push_screen(
            FleetScreen(
                advisory_id,
                package,
                lambda: store.site_rows(engine, advisory_id, package),
                self.rollouts_busy,
            )
        )

    def on_security_screen_start_wanted(self, event: SecurityScreen.StartWanted) -> None:
        """Ask, then start the rollout of the advisory chosen."""
        self.ask_and_start(event.entry.advisory.id, event.entry.advisory.package,
                           event.entry.affected, event.entry.rollout is not None)  # fmt: skip

    @work(exclusive=True, group="security-ask")
    async def ask_and_start(self, advisory_id: str, package: str, sites: int, extend: bool) -> None:
        """Ask before tickets go to Jira, then start the rollout."""
        from triage.tui.screens.reason import ConfirmDialog

        what = "Extend" if extend else "Start"
        prompt = (
            f"{sites} affected sites: a ticket each (and a parent ticket) go to Jira through "
            "the outbox, then each site is updated, tested and deployed to its test site."
        )
        if extend:
            prompt = "Sites affected since the rollout started get a ticket and join it."
        title = f"{what} the rollout of {advisory_id} ({package})?"
        if await self.push_screen_wait(ConfirmDialog(title, prompt, what)):
            self.start_rollout(advisory_id, package)

    @work(thread=True, group="security-start", exit_on_error=False)
    def start_rollout(self, advisory_id: str, package: str) -> None:
        """Start (or extend) the rollout: one core call, off the UI thread."""
        from triage.core.security.rollout import start_rollout

        board = self.board
        try:
            started = start_rollout(
                board, self._inventory(), board.settings.security.rollout, advisory_id, package
            )
        except TriageError as error:
            self.post_message(RolloutStarted([], str(error)))
            return
        self.post_message(RolloutStarted(started))

    @on(RolloutStarted)
    def rollout_started(self, event: RolloutStarted) -> None:
        if event.error:
            self.notify(event.error, severity="error")
            return
        from triage.storage.models import RolloutState

        for started in event.started:
            patched = sum(1 for row in started.sites if row.state is RolloutState.PATCHED)
            self.notify(
                f"{started.rollout.advisory_id}: {len(started.sites) - patched} sites to update "
                f"({started.added} added now), {patched} patched already; their tickets are "
                "queued for Jira."
            )
        self._reload_screens()
        only = [(s.rollout.advisory_id, s.rollout.package) for s in event.started]
        if self.tracker_factory is None:
            self.notify(
                "No Jira is configured: the tickets wait in the outbox, and the sites run "
                "once they reach Jira (r on this screen).",
                severity="warning",
            )
            return
        self._run_after_push = [*(self._run_after_push or []), *only]
        self.push_changes()

    @on(PushFinished)
    def run_after_push(self) -> None:
        # The started rollout's tickets have their Jira keys now: its sites may run.
        if self._run_after_push:
            only, self._run_after_push = self._run_after_push, None
            self.run_rollouts(only)

    def on_security_screen_run_wanted(self) -> None:
        """Run every rollout's queued sites."""
        if self._runs:
            self.notify("The rollouts run already; new sites join as slots free up.")
        self.run_rollouts(None)

    @work(thread=True, group="security-run", exit_on_error=False)
    def run_rollouts(self, only: Only | None) -> None:
        """Run the queued sites (of these rollouts) to their end: one scheduler run."""
        try:
            scheduler = self.scheduler()
        except TriageError as error:
            self.post_message(RolloutsRan(None, str(error)))
            return
        with self._scheduler_lock:
            self._runs += 1
            first = self._runs == 1
        try:
            if first:
                scheduler.recover()  # nothing of ours runs: a crashed run's sites queue again
            summary = scheduler.run(only)
        except TriageError as error:
            self.post_message(RolloutsRan(None, str(error)))
            return
        finally:
            with self._scheduler_lock:
                self._runs -= 1
        self.post_message(RolloutsRan(summary))

    @on(RolloutsRan)
    def rollouts_ran(self, event: RolloutsRan) -> None:
        self._reload_screens()
        if event.error or event.summary is None:
            self.notify(event.error, severity="error")
            return
        summary = event.summary
        ended = ", ".join(f"{n} {state}" for state, n in sorted(summary.states.items()))
        said = f"Rollout run: {summary.started} sites started" + (f"; {ended}" if ended else "")
        if summary.waiting_ticket:
            said += f"; {len(summary.waiting_ticket)} wait for their ticket to reach Jira"
        self.notify(said + ".")

    # -- the fleet screen ---------------------------------------------------------------------

    def on_fleet_screen_job_wanted(self, event: FleetScreen.JobWanted) -> None:
        """Open a site's job log."""
        from triage.tui.screens.jobs import JobScreen

        try:
            self.push_screen(JobScreen(self._rollout_runner or self.runner, event.job_id))
        except TriageError as error:
            self.notify(str(error), severity="error")

    def on_fleet_screen_ticket_wanted(self, event: FleetScreen.TicketWanted) -> None:
        """Open a site's ticket."""
        self.action_open_ticket(event.key)

    def on_fleet_screen_retry_wanted(self, event: FleetScreen.RetryWanted) -> None:
        """Queue a site again and run its rollout."""
        try:
            self.scheduler().retry(event.site)
        except TriageError as error:
            self.notify(str(error), severity="error")
            return
        self.notify(f"{event.site[2]} is queued again: it continues after its last step.")
        self._reload_screens()
        self.run_rollouts([event.site[:2]])

    def on_fleet_screen_skip_wanted(self, event: FleetScreen.SkipWanted) -> None:
        """Take a site out of its rollout, with the reason typed."""
        try:
            self.scheduler().skip(event.site, event.reason)
        except TriageError as error:
            self.notify(str(error), severity="error")
            return
        self.notify(f"{event.site[2]} skipped in {event.site[0]}; the audit log has why.")
        self._reload_screens()

    def _reload_screens(self) -> None:
        from triage.tui.screens.fleet import FleetScreen
        from triage.tui.screens.security import SecurityScreen

        for screen in self.screen_stack:
            if isinstance(screen, (SecurityScreen, FleetScreen)):
                screen.reload()
