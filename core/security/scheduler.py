"""Running rollouts: sites in order, bounded overall and per Docker engine, resumable.

Each site runs as a job (kind `security-update`) through a `JobRunner`; the scheduler hands
a free slot to the first waiting site (advisory risk, then support package) whose engine
has room, so no slot idles while a site it may run waits. A site is claimed in the cache
before its job starts, so two processes never run the same site, and one failing site only
ends its own job. `recover` puts back in the queue the sites whose process died mid-run;
they continue from their last finished step.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from triage.core.board.service import Board
from triage.core.config import RolloutSettings
from triage.core.errors import NotFound
from triage.core.jobs.owner import owner_alive
from triage.core.jobs.reporter import JobReporter
from triage.core.jobs.reporting import Reporter
from triage.core.jobs.runner import JobRunner, NotClaimed, RunnerClosed
from triage.core.security.rollout import due_for_prod, report_to_parent, severity_rank
from triage.core.security.site_update import Save, SiteWork, UpdateContext, update_site
from triage.core.sites.inventory import Inventory
from triage.storage import jobs
from triage.storage import rollouts as store
from triage.storage import security as security_rows
from triage.storage.errors import StorageError, TriageError
from triage.storage.jobs import Statement
from triage.storage.models import Advisory, RolloutSite, RolloutState

JOB_KIND = "security-update"
_logger = logging.getLogger(__name__)
SiteId = store.SiteId
RETRYABLE = (RolloutState.FAILED, RolloutState.NO_FIX, RolloutState.SKIPPED)


class ClosableWork(SiteWork, Protocol):
    """A `SiteWork` that holds connections (Docker) until closed."""

    def close(self) -> None: ...


@dataclass
class RunSummary:
    """What one `run` did: the sites it started, how they ended, what waits."""

    started: int = 0
    states: Counter[str] = field(default_factory=Counter)
    waiting_ticket: list[str] = field(default_factory=list)
    """Sites whose ticket has not reached Jira yet (push, then resume)."""
    timed_out: bool = False


def ident(row: RolloutSite) -> SiteId:
    """The key of a site's rollout row."""
    return (row.advisory_id, row.package, row.site)


class RolloutScheduler:
    """Runs the queued sites of rollouts through a job runner, within the limits."""

    def __init__(
        self,
        board: Board,
        inventory: Inventory,
        settings: RolloutSettings,
        runner: JobRunner,
        work: Callable[[], ClosableWork],
    ) -> None:
        self.board, self.inventory, self.settings = board, inventory, settings
        self.runner, self.work = runner, work
        self.engine = board.engine
        self._lock = threading.Condition()
        self._running: dict[SiteId, str] = {}
        """Sites whose job runs, and their Docker engine."""
        self._engine_free: set[SiteId] = set()
        """Running sites past their work on the engine (reporting): they hold no slot."""
        self._queue: list[RolloutSite] = []
        self._advisories: dict[tuple[str, str], Advisory] = {}
        self._summary = RunSummary()
        self._ending: set[SiteId] = set()
        """Sites whose job is past its steps (ending): `others_left` no longer counts them."""
        self._on_end: Callable[[SiteId], None] | None = None

    # -- the queue ------------------------------------------------------------------------------

    def recover(self) -> list[SiteId]:
        """Queue again the running sites whose job ended or whose process died."""
        self.runner.recover()
        back = []
        for row in store.site_rows(self.engine):
            if row.state is not RolloutState.RUNNING or ident(row) in self._running:
                continue
            job = jobs.read(self.engine, row.job_id) if row.job_id is not None else None
            if job is not None and not job.state.finished and owner_alive(job):
                continue
            why = "its run ended early; it continues after its last finished step"
            if store.requeue(self.engine, ident(row), [RolloutState.RUNNING], self.board.clock(),
                             reason=why):  # fmt: skip
                back.append(ident(row))
        return back

    def runnable(self, only: Iterable[tuple[str, str]] | None = None) -> list[RolloutSite]:
        """The sites that may run now, in the order they are served."""
        wanted = set(only) if only is not None else None
        severities = {(r.advisory_id, r.package): r.severity for r in store.rollouts(self.engine)}
        now = self.board.clock()
        found = [
            row
            for row in store.site_rows(self.engine)
            if (wanted is None or (row.advisory_id, row.package) in wanted)
            and (row.state is RolloutState.QUEUED or due_for_prod(row, now))
        ]
        found.sort(
            key=lambda row: (
                severity_rank(severities.get((row.advisory_id, row.package), "")),
                row.rank,
                row.site,
            )
        )
        return found

    def retry(self, site: SiteId) -> None:
        """Queue a failed, skipped or no-fix site again, from its last finished step."""
        retry_site(self.board, site)

    def skip(self, site: SiteId, reason: str) -> None:
        """Take a site out of the rollout, with a reason (audited)."""
        skip_site(self.board, site, reason)

    # -- running --------------------------------------------------------------------------------

    def run(
        self,
        only: Iterable[tuple[str, str]] | None = None,
        timeout: float = 24 * 3600.0,
        on_end: Callable[[SiteId], None] | None = None,
    ) -> RunSummary:
        """Run every runnable site (of these rollouts), within the limits; wait for them.

        `on_end` hears of each site as its run ends (from the job's thread).
        """
        self._on_end = on_end
        summary = RunSummary()
        queue: list[RolloutSite] = []  # the jobs read it too (under the lock): `others_left`
        for row in self.runnable(only):
            if not row.ticket_key or row.ticket_key.startswith("NEW-"):
                summary.waiting_ticket.append(row.site)
            else:
                queue.append(row)
        advisories = {(a.id, a.package): a for a in security_rows.advisories(self.engine)}
        deadline = time.monotonic() + timeout
        started = {ident(row) for row in queue}
        with self._lock:
            self._queue, self._advisories, self._summary = queue, advisories, summary
            while queue or self._running:
                self._dispatch()
                left = deadline - time.monotonic()
                if left <= 0:
                    summary.timed_out = True
                    break
                self._lock.wait(min(left, 1.0))
            queue.clear()  # what did not start waits for the next run
        rows = store.site_rows(self.engine)
        for row in rows:
            if ident(row) in started:
                summary.states[row.state.value] += 1
        return summary

    def _dispatch(self) -> None:
        """Start the first queued sites whose engine has room, while slots are free (under
        the lock).

        A slot is a site at work on its engine: one that is only reporting holds none.
        """
        queue, advisories, summary = self._queue, self._advisories, self._summary
        holding = {s: e for s, e in self._running.items() if s not in self._engine_free}
        per_engine, slots = Counter(holding.values()), len(holding)
        busy = {site for _, _, site in self._running}
        index = 0
        while index < len(queue) and slots < self.settings.max_parallel:
            row = queue[index]
            if per_engine[row.engine] >= self.settings.per_engine or row.site in busy:
                index += 1  # one update at a time per site: they share its checkout and dev
                continue
            queue.pop(index)
            advisory = advisories.get((row.advisory_id, row.package))
            if advisory is None:
                continue
            site_id = ident(row)
            # The job's row and the site's claim in one transaction: a site is never
            # running without its job, and two processes never run the same site.
            claim = store.SiteClaim(site_id, self.board.clock())
            try:
                self.runner.submit(
                    JOB_KIND, row.site, "test", row.ticket_key, row.branch or None, False,
                    self._operation(claim, advisory), claim=claim,
                )  # fmt: skip
            except NotClaimed:  # another process took it meanwhile
                continue
            except RunnerClosed:  # stopping: the queued sites wait for the next run
                queue.clear()
                return
            self._running[site_id] = row.engine
            per_engine[row.engine] += 1
            slots += 1
            busy.add(row.site)
            summary.started += 1

    def _operation(self, claim: store.SiteClaim, advisory: Advisory) -> Callable[[Reporter], str]:
        site_id = claim.ident

        def operation(reporter: Reporter) -> str:
            try:
                assert claim.row is not None  # the job runs only once its claim held
                return self._update(claim.row, advisory, reporter)
            finally:
                # The last site of a rollout to end tells its parent ticket how all ended
                # (its count in the cache decides; a site with others of its rollout still
                # to run here is not the last). Its flush also writes the others' last
                # writes (one queue): the count, and the run's summary, see every end.
                with self._lock:
                    self._ending.add(site_id)
                    more = others_left(site_id, self._running, self._ending, self._queue)
                if not more or self._on_end is not None:
                    _flush(reporter)  # its last writes, for what reads its state now
                if not more:
                    report_to_parent(self.board, site_id[0], site_id[1])
                if self._on_end is not None:
                    self._on_end(site_id)
                with self._lock:
                    self._running.pop(site_id, None)
                    self._ending.discard(site_id)
                    self._engine_free.discard(site_id)
                    self._refill()

        return operation

    def _update(self, row: RolloutSite, advisory: Advisory, reporter: Reporter) -> str:
        """Run the claimed site's update (the row as its claim read it)."""
        site_id = ident(row)
        try:
            site = self.inventory.site(row.site)
        except NotFound as gone:
            store.update(self.engine, site_id, self.board.clock(), state=RolloutState.FAILED,
                         reason=str(gone))  # fmt: skip
            raise
        work = self.work()
        try:
            context = UpdateContext(self.board, self.settings, work, self.board.clock,
                                    _saver(reporter), lambda: self._free_slot(site_id))  # fmt: skip
            return update_site(context, row, site, advisory, reporter)
        finally:
            work.close()

    def _free_slot(self, site_id: SiteId) -> None:
        """The site's engine work is done (it reports now): its slot goes to the next site."""
        with self._lock:
            if site_id in self._running:
                self._engine_free.add(site_id)
                self._refill()

    def _refill(self) -> None:
        """Give the slot a job's thread just freed to the next site, from that thread (under
        the lock): no wait for the run's thread to wake. If that fails, the run's thread,
        woken, tries again and raises."""
        try:
            self._dispatch()
        except Exception:  # the job must still end as it did
            _logger.exception("could not start the next site from a job's thread")
        self._lock.notify_all()


def others_left(
    site_id: SiteId, running: Iterable[SiteId], ending: set[SiteId], queue: list[RolloutSite]
) -> bool:
    """Whether a run still has another site of this site's rollout running (and not ending:
    past its steps) or waiting to run. Of sites ending at once, the last to ask (once every
    other is in `ending`) is told no: it reports to the parent."""
    rollout = site_id[:2]
    return any(o[:2] == rollout for o in running if o not in ending and o != site_id) or any(
        (row.advisory_id, row.package) == rollout for row in queue
    )


def _saver(reporter: Reporter) -> Save | None:
    """A job writes its site's row with its own records (one transaction per step)."""
    if not isinstance(reporter, JobReporter):
        return None

    def save(statement: Statement) -> None:
        reporter.defer(*statement)

    return save


def _flush(reporter: Reporter) -> None:
    if isinstance(reporter, JobReporter):
        try:
            reporter.flush()
        except StorageError as lost:  # the site stays running: `recover` queues it again
            reporter.log(f"!! {lost}")


def rollout_runner(board: Board, settings: RolloutSettings) -> JobRunner:
    """The job runner of a rollout: a thread for each site at work and one for each site
    reporting or recording its end, as the next site's job already starts (the scheduler
    keeps the limits)."""
    return JobRunner(board.engine, 2 * settings.max_parallel, board.me.name, board.clock)


def retry_site(board: Board, site: SiteId) -> None:
    """Queue a failed, skipped or no-fix site again, from its last finished step."""
    if not store.requeue(board.engine, site, RETRYABLE, board.clock()):
        raise TriageError(
            f"{site[2]} is not failed, skipped or without a fix in {site[0]}: only those "
            "are retried"
        )


def skip_site(board: Board, site: SiteId, reason: str) -> None:
    """Take a site out of the rollout, with a reason (audited)."""
    if not reason.strip():
        raise TriageError("say why the site is skipped: the reason is kept in the audit log")
    if not store.skip(board.engine, site, reason.strip(), board.me.name, board.clock()):
        raise TriageError(
            f"{site[2]} is running (or not in {site[0]}): wait for its job to end, or "
            "cancel it, then skip it"
        )
    report_to_parent(board, site[0], site[1])


def next_prod_window(rows: list[RolloutSite]) -> datetime | None:
    """The earliest moment a waiting site may go to production, if any waits."""
    times = [row.prod_after for row in rows if row.state is RolloutState.WAITING and row.prod_after]
    return min(times) if times else None
