"""The app's security releases: `S` opens the advisories, enter an advisory's fleet.

Starting a rollout is one core call in a worker (its tickets go to the outbox), after a
yes; then the app pushes at once, and once the push has run, the started rollout's sites
run (tui.rollout_actions runs them, and takes the fleet screen's keys).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import SystemCommand
from textual.message import Message
from textual.screen import Screen

from triage.storage.errors import TriageError
from triage.tui.rollout_actions import Only, RolloutActions
from triage.tui.safe_text import line
from triage.tui.sync_status import PushFinished

if TYPE_CHECKING:
    from triage.core.security.rollout import Started
    from triage.tui.jira_sync import TrackerFactory
    from triage.tui.screens.security import SecurityScreen


class RolloutStarted(Message):
    """A rollout was started (or extended), or could not be: `error` says why."""

    def __init__(self, started: list[Started], error: str = "") -> None:
        super().__init__()
        self.started = started
        self.error = error


class SecurityActions(RolloutActions):
    """Part of the app: the security screen, and starting rollouts (with their push)."""

    tracker_factory: TrackerFactory | None
    _run_after_push: Only | None = None

    if TYPE_CHECKING:  # the Jira part of the app defines it

        def push_changes(self) -> Any: ...

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

    # -- the security screen ------------------------------------------------------------------

    def on_security_screen_fleet_wanted(self, event: SecurityScreen.FleetWanted) -> None:
        """Open the fleet screen of the advisory chosen."""
        from triage.core.security.progress import LiveSites
        from triage.tui.screens.fleet import FleetScreen

        advisory_id, package = event.entry.advisory.id, event.entry.advisory.package
        self.push_screen(
            FleetScreen(
                advisory_id,
                package,
                LiveSites(self.board.engine, advisory_id, package).read,
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

        try:
            self._inventory()  # no sites to update: say so now, not after asking
        except TriageError as error:
            self.notify(str(error), severity="error")
            return

        what = "Extend" if extend else "Start"
        prompt = (
            f"{sites} affected sites: a ticket each (and a parent ticket) go to Jira through "
            "the outbox, then each site is updated, tested and deployed to its test site."
        )
        if extend:
            prompt = "Sites affected since the rollout started get a ticket and join it."
        title = f"{what} the rollout of {line(advisory_id)} ({line(package)})?"
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
        self.run_rollouts(None)
