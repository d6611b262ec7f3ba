"""The app's rollout runs: one loop runs the rollouts' sites; the fleet screen's keys land here.

The rollouts run through a `RolloutScheduler` with its own job runner
(`security.rollout.max_parallel` jobs), inside one `RolloutLoop` in a thread worker of the
app, so they go on when the screens close, and a site retried meanwhile joins the run.
Retry and skip are one core call each, in a worker. Quitting while sites are being updated
asks first, then stops each at the end of its step and queues it again.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App
from textual.message import Message
from textual.worker import Worker, WorkerState

from triage.storage.errors import TriageError

if TYPE_CHECKING:
    # Imported where used: the first frame needs none of the rollout machinery, so the
    # screens' messages are handled by name (on_fleet_screen_…).
    from triage.core.board.service import Board
    from triage.core.jobs.runner import JobRunner
    from triage.core.security.run_loop import LoopOutcome, RolloutLoop
    from triage.core.security.scheduler import ClosableWork, RolloutScheduler
    from triage.core.sites.inventory import Inventory
    from triage.tui.screens.fleet import FleetScreen

Only = list[tuple[str, str]]
"""Rollouts to run, by (advisory id, package); None for all."""
SiteId = tuple[str, str, str]
"""(advisory id, package, site)."""


class RolloutsRan(Message):
    """The rollouts' run ended (`states`: its sites by state now), or failed: `error` says why."""

    def __init__(
        self, outcome: LoopOutcome | None, states: Counter[str] | None = None, error: str = ""
    ) -> None:
        super().__init__()
        self.outcome = outcome
        self.states = states or Counter()
        self.error = error


class SiteChanged(Message):
    """A site was queued again (`retried`) or skipped, or not: `error` says why."""

    def __init__(self, site: SiteId, retried: bool, error: str = "") -> None:
        super().__init__()
        self.site = site
        self.retried = retried
        self.error = error


class RolloutActions(App[None]):
    """Part of the app: running the rollouts, and the fleet screen's keys."""

    board: Board
    _scheduler: RolloutScheduler | None = None
    _rollout_runner: JobRunner | None = None
    _rollouts: RolloutLoop | None = None
    _quit_after_run = False
    site_work: Callable[[], ClosableWork] | None = None
    """Makes the work of one site's update; None: the real one (git and Docker)."""
    _scheduler_lock = threading.Lock()
    """Guards the making of the scheduler (workers are threads)."""

    if TYPE_CHECKING:  # the other parts of the app define these

        @property
        def runner(self) -> JobRunner: ...
        def inventory(self) -> Inventory | None: ...
        def action_open_ticket(self, key: str | None = None) -> None: ...

    def rollouts_busy(self) -> bool:
        """Whether the app starts or runs a rollout now."""
        loop = self._rollouts
        return (loop is not None and loop.active) or any(
            w.group == "security-start" and not w.is_finished for w in self.workers
        )

    def scheduler(self) -> RolloutScheduler:
        """The scheduler over the sites inventory, made on first use; TriageError without one.

        Called in workers: it reads the inventory and starts a job runner.
        """
        with self._scheduler_lock:
            if self._scheduler is None:
                from triage.core.security.scheduler import RolloutScheduler, rollout_runner

                inventory = self._inventory()
                board = self.board
                limits = board.settings.security.rollout
                runner = rollout_runner(board, limits)
                self._rollout_runner = runner
                timeout = limits.command_timeout_seconds
                work = self.site_work or (lambda: docker_work(board.clock, timeout))
                self._scheduler = RolloutScheduler(board, inventory, limits, runner, work)
            return self._scheduler

    def rollout_loop(self) -> RolloutLoop:
        """The one loop that runs this app's rollouts, made on first use."""
        if self._rollouts is None:
            from triage.core.security.run_loop import RolloutLoop

            self._rollouts = RolloutLoop(self.scheduler)
        return self._rollouts

    def _inventory(self) -> Inventory:
        inventory = self.inventory()
        if inventory is None:
            from triage.core.demo_run import is_demo

            if is_demo(self.board.engine):
                raise TriageError(
                    "this demo has no sites to update: quit and start it with "
                    "`triage demo --sites 3` (needs Docker) to watch a rollout run"
                )
            path = self.board.settings.resolved_sites_file()
            raise TriageError(f"no sites inventory at {path}: create it (README)")
        return inventory

    def run_rollouts(self, only: Only | None) -> None:
        """Run these rollouts' queued sites (None: all); a run going on takes them in."""
        loop = self.rollout_loop()
        if loop.request(only):
            self.run_loop(loop)
        elif only is None:
            self.notify("The rollouts run already: every queued site joins as slots free up.")

    @work(thread=True, group="security-run", exit_on_error=False)
    def run_loop(self, loop: RolloutLoop) -> None:
        """Run the requested rollouts until none of their sites is left to run."""
        from triage.core.security.scheduler import ident
        from triage.storage import rollouts as store

        try:
            outcome = loop.run()
        except TriageError as error:
            self.post_message(RolloutsRan(None, error=str(error)))
            return
        rows = store.site_rows(self.board.engine)
        states = Counter(row.state.value for row in rows if ident(row) in outcome.sites)
        self.post_message(RolloutsRan(outcome, states))

    @on(RolloutsRan)
    def rollouts_ran(self, event: RolloutsRan) -> None:
        if self._quit_after_run:
            self.exit()
            return
        self._reload_screens()
        if event.error or event.outcome is None:
            self.notify(event.error, severity="error")
            return
        outcome = event.outcome
        ended = ", ".join(f"{n} {state}" for state, n in sorted(event.states.items()))
        said = f"Rollout run: {outcome.started} sites started" + (f"; {ended}" if ended else "")
        if outcome.waiting_ticket:
            said += f"; {len(outcome.waiting_ticket)} wait for their ticket to reach Jira"
        self.notify(said + ".")

    @on(Worker.StateChanged)
    def _rollout_worker_crashed(self, event: Worker.StateChanged) -> None:
        # A bug rather than a site: say so; a quit waiting for the run goes ahead.
        group = event.worker.group
        if event.state is WorkerState.ERROR and group.startswith(("security-", "fleet-")):
            error = event.worker.error
            self.notify(f"security: {type(error).__name__}: {error}", severity="error")
            if group == "security-run" and self._quit_after_run:
                self.exit()

    async def action_quit(self) -> None:
        """Quit; while sites are being updated, ask first, and stop them cleanly."""
        loop = self._rollouts
        if loop is None or not loop.active:
            self.exit()
        else:
            self.ask_and_quit(loop)

    @work(exclusive=True, group="security-ask")
    async def ask_and_quit(self, loop: RolloutLoop) -> None:
        """Ask; then stop the rollouts (each site at the end of its step) and quit."""
        from triage.tui.screens.reason import ConfirmDialog

        prompt = (
            "Sites are being updated. Each stops at the end of the step it is in and goes "
            "back in the queue: r on the security screen, or `triage security resume`, "
            "continues it from there."
        )
        if await self.push_screen_wait(ConfirmDialog("Quit during a rollout?", prompt, "Quit")):
            self._quit_after_run = True
            loop.stop()
            self.notify("Stopping the sites being updated at the end of their step…")

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
        """Queue a site again (then its rollout runs)."""
        self.change_site(event.site, None)

    def on_fleet_screen_skip_wanted(self, event: FleetScreen.SkipWanted) -> None:
        """Take a site out of its rollout, with the reason typed."""
        self.change_site(event.site, event.reason)

    @work(thread=True, group="security-site", exit_on_error=False)
    def change_site(self, site: SiteId, skip_reason: str | None) -> None:
        """Retry the site (no reason) or skip it: one core call, off the UI thread."""
        from triage.core.security.scheduler import retry_site, skip_site

        try:
            if skip_reason is None:
                retry_site(self.board, site)
            else:
                skip_site(self.board, site, skip_reason)
        except TriageError as error:
            self.post_message(SiteChanged(site, skip_reason is None, str(error)))
            return
        self.post_message(SiteChanged(site, skip_reason is None))

    @on(SiteChanged)
    def site_changed(self, event: SiteChanged) -> None:
        if event.error:
            self.notify(event.error, severity="error")
            return
        self._reload_screens()
        advisory_id, package, site = event.site
        if event.retried:
            self.notify(f"{site} is queued again: it continues after its last step.")
            self.run_rollouts([(advisory_id, package)])
        else:
            self.notify(f"{site} skipped in {advisory_id}; the audit log has why.")

    def _reload_screens(self) -> None:
        from triage.tui.screens.fleet import FleetScreen
        from triage.tui.screens.security import SecurityScreen

        for screen in self.screen_stack:
            if isinstance(screen, (SecurityScreen, FleetScreen)):
                screen.reload()


def docker_work(clock: Callable[[], datetime], command_timeout: float) -> ClosableWork:
    """The real work of a site's update (git and Docker), imported when a site first runs."""
    from triage.core.security.site_work import DockerSiteWork

    return DockerSiteWork(clock=clock, command_timeout=command_timeout)
