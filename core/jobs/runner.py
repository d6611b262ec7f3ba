"""Site operations run in the background as jobs, recorded in the cache as they go.

A job's row is written (queued) before anything runs. While it runs, its steps and log
lines reach the cache, so any process can show them live; when it ends, one audit entry
says how. A job is never left `running` by a process that died: every start (a new
`JobRunner`, or `recover()`) marks such jobs `interrupted`.

Cancelling is cooperative: the operation stops at its next `check_cancelled()`, which the
site operations call before each step they may skip.
A cancel may come from another process (`triage job ID --cancel`) through the job's row.
A running job writes through `core.job_reporter`; `core.job_owner` tells a dead job's process.
"""

from __future__ import annotations

import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from sqlalchemy.engine import Engine

from triage.core.errors import NotFound
from triage.core.jobs.log_writer import LogWriter
from triage.core.jobs.owner import HOST, LIVE_RUNNERS, owner_alive, process_start
from triage.core.jobs.reporter import CancelWatch, JobReporter
from triage.core.jobs.reporting import Cancelled, Reporter
from triage.core.redact import mask
from triage.storage import jobs
from triage.storage.errors import TriageError
from triage.storage.jobs import End as JobEnd
from triage.storage.models import Job, JobLog, JobState, JobStep, utcnow

Clock = Callable[[], datetime]
Operation = Callable[[Reporter], str]
"""What a job runs: reports through the reporter, returns its one-line summary."""


class NotClaimed(TriageError):
    """A job's claim on what it works on failed: the job was not recorded or run."""


class RunnerClosed(TriageError):
    """The runner is closing: it takes no more jobs (nothing was recorded)."""


class JobRunner:
    """Runs site operations in the background, at most `max_jobs` at once."""

    def __init__(
        self,
        engine: Engine,
        max_jobs: int = 2,
        actor: str = "",
        clock: Clock = utcnow,
        *,
        recover: bool = True,
    ) -> None:
        self.engine = engine
        self.actor = actor
        self.clock = clock
        self._token = uuid.uuid4().hex[:12]
        self._process = f"{process_start(os.getpid()) or ''}:{self._token}"
        self._max_jobs = max_jobs
        self._taken = 0
        """Jobs submitted and not ended (queued or running)."""
        self._closing = False
        self._pool = ThreadPoolExecutor(max_workers=max_jobs, thread_name_prefix="triage-job")
        self._lock = threading.Lock()
        self._cancels: dict[int, threading.Event] = {}
        self._futures: dict[int, Future[None]] = {}
        self._writer = LogWriter(engine)
        self._watch = CancelWatch(engine, self._running_cancels)
        LIVE_RUNNERS.add(self._token)
        if recover:
            self.recover()

    def __enter__(self) -> JobRunner:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def submit(
        self,
        kind: str,
        site: str | None,
        env: str | None,
        ticket_key: str | None,
        ref: str | None,
        dry_run: bool,
        operation: Operation,
        *,
        claim: jobs.Claim | None = None,
    ) -> int:
        """Record a queued job, then run `operation` in the background; the job's id.

        `claim` runs in the transaction that records the job (its id given): if it fails,
        nothing is recorded or run, and NotClaimed is raised. A closing runner raises
        RunnerClosed (nothing recorded).
        """
        now = self.clock()
        with self._lock:  # a free slot: the job is running from its first record
            if self._closing:
                raise RunnerClosed(f"Triage is stopping its jobs: the {kind} job was not queued")
            free = self._taken < self._max_jobs
            self._taken += 1
        job = {"kind": kind, "site": site, "env": env, "ticket_key": ticket_key, "ref": ref,
               "actor": self.actor, "dry_run": dry_run, "created": now,
               "state": JobState.RUNNING if free else JobState.QUEUED,
               "started": now if free else None, "pid": os.getpid(), "host": HOST,
               "process": self._process}  # fmt: skip
        try:
            job_id = jobs.add_claimed(self.engine, job, claim)
        except BaseException:
            self._give_back_slot()
            raise
        if job_id is None:
            self._give_back_slot()
            raise NotClaimed(f"what the {kind} job works on was taken: it was not queued")
        cancel = threading.Event()
        with self._lock:
            self._cancels[job_id] = cancel
            self._futures[job_id] = self._pool.submit(self._run, job_id, dry_run, operation, free)
        return job_id

    def cancel(self, job_id: int) -> Job:
        """Ask a job to stop at its next step; a queued one ends cancelled at once."""
        try:
            job = jobs.request_cancel(self.engine, job_id)
        except jobs.NoSuchJob as missing:
            raise NotFound(str(missing)) from missing
        if job.state.finished:
            raise TriageError(
                f"job {job_id} has already ended ({job.state.value}): nothing to cancel"
            )
        with self._lock:
            event, future = self._cancels.get(job_id), self._futures.get(job_id)
        if event is not None:
            event.set()
        if future is not None and future.cancel():
            self._finish(job_id, JobState.CANCELLED, "", "cancelled before it started", None)
        return self.job(job_id)

    def done(self, job_id: int, timeout: float = 0.0) -> bool:
        """True once the job has ended, waiting for it up to `timeout` seconds."""
        with self._lock:
            future = self._futures.get(job_id)
        if future is not None:
            try:
                future.result(timeout=timeout)
            except TimeoutError:
                return False
            except Exception:  # _run records its own failures
                return True
            return True
        deadline = time.monotonic() + timeout
        while True:
            if self.job(job_id).state.finished:
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            threading.Event().wait(min(0.2, left))  # another process runs it: poll its row

    def wait(self, job_id: int, timeout: float) -> Job:
        """The job once it has ended; TimeoutError if it runs longer than `timeout` seconds."""
        if not self.done(job_id, timeout):
            raise TimeoutError(f"job {job_id} has not ended after {timeout:g} s")
        return self.job(job_id)

    def job(self, job_id: int) -> Job:
        """One job's row; NotFound if there is none."""
        try:
            return jobs.read(self.engine, job_id)
        except jobs.NoSuchJob as missing:
            raise NotFound(str(missing)) from missing

    def jobs(self, limit: int = 50) -> list[Job]:
        """The latest jobs, newest first."""
        return jobs.latest(self.engine, limit)

    def steps(self, job_id: int) -> list[JobStep]:
        """A job's steps, in the order they ran."""
        return jobs.steps(self.engine, job_id)

    def log(self, job_id: int, after_id: int = 0) -> list[JobLog]:
        """A job's log lines after line `after_id`, oldest first: poll it for a live tail."""
        return jobs.log(self.engine, job_id, after_id)

    def recover(self) -> list[int]:
        """Mark `interrupted` the open jobs whose process is gone; their ids."""
        gone = [job for job in jobs.open_jobs(self.engine) if not owner_alive(job)]
        for job in gone:
            assert job.id is not None
            error = (
                f"the process running it (pid {job.pid} on {job.host or 'an unknown host'}) "
                "ended before the job did: check the site before running it again"
            )
            self._finish(job.id, JobState.INTERRUPTED, "", error, None)
        return [job.id for job in gone if job.id is not None]

    def close(self, *, cancel: bool = True, timeout: float = 10.0) -> None:
        """Stop taking jobs; cancel (optionally) and wait up to `timeout` for those running."""
        with self._lock:
            self._closing = True  # a job that ends meanwhile starts no other
            futures = dict(self._futures)
            if cancel:
                for event in self._cancels.values():
                    event.set()
        for job_id, future in futures.items():
            if future.cancel():
                self._finish(job_id, JobState.CANCELLED, "", "cancelled before it started", None)
        deadline = time.monotonic() + timeout
        for future in futures.values():
            try:
                future.result(timeout=max(0.0, deadline - time.monotonic()))
            except Exception:  # recorded by _run; unfinished ones by recover
                pass
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._writer.close(max(0.1, deadline - time.monotonic()))
        LIVE_RUNNERS.discard(self._token)

    def _running_cancels(self) -> dict[int, threading.Event]:
        with self._lock:
            return dict(self._cancels)

    def _run(self, job_id: int, dry_run: bool, operation: Operation, running: bool) -> None:
        with self._lock:
            cancel = self._cancels[job_id]
        reporter = JobReporter(self.clock, job_id, dry_run, cancel, self._writer, self._watch)
        if cancel.is_set() or not (running or self._start(job_id)):
            self._finish(job_id, JobState.CANCELLED, "", "cancelled before it started", None)
            return
        started = time.perf_counter()
        summary, error = "", None
        try:
            summary = operation(reporter)
            state = JobState.SUCCEEDED
        except Cancelled as stop:
            state, error = JobState.CANCELLED, str(stop)
        except TriageError as failure:
            state, error = JobState.FAILED, str(failure)
        except Exception as bug:  # a job must end recorded, whatever happened
            state, error = JobState.FAILED, f"unexpected error: {type(bug).__name__}: {bug}"
            reporter.log(traceback.format_exc())
        if error:
            reporter.log(f"!! {error}")
        duration = int((time.perf_counter() - started) * 1000)
        # The job's end in the transaction that writes its last lines and steps.
        end = self._end(job_id, state, summary or "", error, duration)
        self._writer.put(end)
        if not self._writer.flush() or self._writer.lost_writes(job_id) is not None:
            jobs.finish(self.engine, *end)  # a no-op if the batch did end it
        self._forget(job_id)

    def _forget(self, job_id: int) -> None:
        """The job of this runner has ended: its cancel and its slot go."""
        with self._lock:
            if self._cancels.pop(job_id, None) is not None:
                self._taken -= 1

    def _give_back_slot(self) -> None:
        """A submitted job was not recorded after all."""
        with self._lock:
            self._taken -= 1

    def _start(self, job_id: int) -> bool:
        """Mark the job running; False if it was cancelled or closed while queued."""
        return jobs.start(self.engine, job_id, self.clock())

    def _finish(
        self, job_id: int, state: JobState, summary: str, error: str | None, duration: int | None
    ) -> None:
        """End an open job and append its audit entry, once (storage.jobs.finish)."""
        jobs.finish(self.engine, *self._end(job_id, state, summary, error, duration))
        self._forget(job_id)

    def _end(
        self, job_id: int, state: JobState, summary: str, error: str | None, duration: int | None
    ) -> JobEnd:
        """How the job ended, as recorded: credentials masked, at the runner's clock."""
        summary, error = mask(summary), mask(error) if error else error
        return JobEnd(job_id, state, summary, error, duration, self.clock())
