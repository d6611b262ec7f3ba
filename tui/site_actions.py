"""The app's site operations: the action panel of a ticket, its job's live log, the jobs list.

Jobs run in the job runner's own threads; these screens only read the job records, so the
board stays responsive while a clone or deploy runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.app import App

from triage.storage.errors import TriageError

if TYPE_CHECKING:
    # Imported where used: the first frame needs none of the sites, jobs or their screens.
    from triage.core.board.service import Board
    from triage.core.jobs.runner import JobRunner
    from triage.core.sites.inventory import Inventory


class SiteActions(App[None]):
    """Part of the app: `x` opens a ticket's actions, `J` the jobs."""

    board: Board
    _runner: JobRunner | None = None

    def _current_key(self) -> str | None:
        """The ticket the user is on; the app knows its screens."""
        return None

    @property
    def runner(self) -> JobRunner:
        """The job runner, made on first use; making it marks crashed jobs interrupted."""
        if self._runner is None:
            from triage.core.jobs.runner import JobRunner

            settings = self.board.settings
            self._runner = JobRunner(self.board.engine, settings.max_jobs, self.board.me.name)
        return self._runner

    def inventory(self) -> Inventory | None:
        """The sites inventory, or None (with a note) when there is none yet."""
        from triage.core.sites.inventory import load_inventory

        path = self.board.settings.resolved_sites_file()
        if not path.exists():
            return None
        return load_inventory(path)

    def action_jobs(self) -> None:
        from triage.tui.screens.jobs import JobsScreen

        self.push_screen(JobsScreen(self.runner))

    def action_site_actions(self) -> None:
        key = self._current_key()
        if key is not None:
            self.choose_action(key)

    @work(exclusive=True, group="change")
    async def choose_action(self, key: str) -> None:
        """Show the ticket's actions; run the chosen one as a job and open its log."""
        from triage.core.actions import ActionContext, actions_for, run_action
        from triage.tui.screens.actions import ActionPanel, ConfirmSite
        from triage.tui.screens.jobs import JobScreen

        app = self
        try:
            inventory = self.inventory()
            context = ActionContext(
                key=key, board=self.board, runner=self.runner, inventory=inventory
            )
            catalogue = actions_for(context)
        except TriageError as error:
            app.notify(str(error), severity="error")
            return
        if inventory is None and not catalogue.note:
            path = self.board.settings.resolved_sites_file()
            catalogue = type(catalogue)((), f"no sites inventory at {path}: create it (README)")
        site = self.board.ticket(key).site
        action = await app.push_screen_wait(ActionPanel(key, site, catalogue))
        if action is None:
            return
        if action.needs_confirm:
            confirmed = await app.push_screen_wait(ConfirmSite(action, site or ""))
            if not confirmed:
                return
            context.confirm = site
        try:
            job_id = run_action(action.id, context)
        except TriageError as error:
            app.notify(str(error), severity="error")
            return
        app.push_screen(JobScreen(self.runner, job_id))
