"""Rollouts run for as long as there is work, in one loop per process: widened, stoppable.

The app keeps one loop: `request` adds rollouts (or all of them) to what it serves, also
while it runs, so a retried site joins at once; `stop` ends it between two slices: the
sites running are cancelled at their next step and put back in the queue, so a later run
(`r`, `triage security resume`) continues each from its last finished step. Each slice is a
`RolloutScheduler.run` of at most `slice_seconds`: the scheduler's slots and claims carry
over from one slice to the next, so slots never idle between them for long.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from triage.core.security.scheduler import RolloutScheduler, SiteId, ident
from triage.storage import rollouts as store
from triage.storage.models import JobState, RolloutState

SLICE_SECONDS = 1.0
STOPPED = "stopped when Triage quit: it continues after its last finished step"


@dataclass
class LoopOutcome:
    """What a loop did: the sites it served, how many it started, what waits for Jira."""

    sites: set[SiteId] = field(default_factory=set)
    started: int = 0
    waiting_ticket: set[str] = field(default_factory=set)
    requeued: list[SiteId] = field(default_factory=list)
    """Sites stopped by `stop`, back in the queue."""


class RolloutLoop:
    """Runs the requested rollouts' queued sites through one scheduler until none is left."""

    def __init__(
        self,
        scheduler: Callable[[], RolloutScheduler],
        slice_seconds: float = SLICE_SECONDS,
        stop_timeout: float = 600.0,
    ) -> None:
        self._make_scheduler = scheduler
        self.scheduler: RolloutScheduler | None = None
        """Made by the first `run` (it reads the inventory and starts a job runner)."""
        self.slice_seconds, self.stop_timeout = slice_seconds, stop_timeout
        self._lock = threading.Lock()
        self._all = False
        self._wanted: set[tuple[str, str]] = set()
        self._again = False
        self._active = False
        self._stop = threading.Event()

    @property
    def active(self) -> bool:
        """Whether a `run` is going on."""
        return self._active

    def request(self, only: list[tuple[str, str]] | None) -> bool:
        """Serve these rollouts (None: every one); True when the caller must call `run`."""
        with self._lock:
            if only is None:
                self._all = True
            else:
                self._wanted.update(only)
            self._again = True
            if self._active:
                return False
            self._active = True
            return True

    def stop(self) -> None:
        """End the run between two slices; its running sites go back in the queue."""
        self._stop.set()

    def run(self) -> LoopOutcome:
        """Run slices until nothing requested is runnable or running (or `stop`)."""
        outcome = LoopOutcome()
        try:
            scheduler = self.scheduler = self.scheduler or self._make_scheduler()
            scheduler.recover()  # a crashed process's sites continue too
            while not self._stop.is_set():
                with self._lock:
                    only = None if self._all else set(self._wanted)
                    self._again = False
                outcome.sites.update(ident(row) for row in scheduler.runnable(only))
                summary = scheduler.run(only, timeout=self.slice_seconds)
                outcome.started += summary.started
                outcome.waiting_ticket.update(summary.waiting_ticket)
                with self._lock:
                    if not (summary.timed_out or self._again):
                        return outcome  # all it started has ended, nothing new was asked
            outcome.requeued = self._stop_running(scheduler, outcome.sites)
            return outcome
        finally:
            with self._lock:
                self._active, self._all, self._wanted = False, False, set()

    def _stop_running(self, scheduler: RolloutScheduler, sites: set[SiteId]) -> list[SiteId]:
        """Cancel this process's site jobs at their next step, then queue those sites again."""
        runner = scheduler.runner
        runner.close(cancel=True, timeout=self.stop_timeout)
        engine, clock = scheduler.engine, scheduler.board.clock
        back = []
        for site in sorted(sites):
            row = store.site_row(engine, site)
            if row is None or row.job_id is None:
                continue
            if row.state not in (RolloutState.RUNNING, RolloutState.FAILED):
                continue
            if runner.job(row.job_id).state is not JobState.CANCELLED:
                continue
            states = [RolloutState.RUNNING, RolloutState.FAILED]
            if store.requeue(engine, site, states, clock(), reason=STOPPED):
                back.append(site)
        return back
