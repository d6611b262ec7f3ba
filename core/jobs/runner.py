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

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from triage.core.errors import NotFound
from triage.core.jobs.owner import HOST as HOST
from triage.core.jobs.owner import LIVE_RUNNERS, owner_alive
from triage.core.jobs.owner import process_start as process_start
from triage.core.jobs.reporter import JOB, JOB_STEP, LogWriter
from triage.core.jobs.reporter import JobReporter as JobReporter
from triage.core.jobs.reporting import Cancelled, Reporter
from triage.core.redact import mask
from triage.storage.db import session_scope
from triage.storage.errors import TriageError
from triage.storage.models import AuditEntry, Job, JobLog, JobState, JobStep, utcnow

Clock = Callable[[], datetime]
Operation = Callable[[Reporter], str]
"""What a job runs: reports through the reporter, returns its one-line summary."""

OPEN_STATES = (JobState.QUEUED, JobState.RUNNING)


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
        self._pool = ThreadPoolExecutor(max_workers=max_jobs, thread_name_prefix="triage-job")
        self._lock = threading.Lock()
        self._cancels: dict[int, threading.Event] = {}
        self._futures: dict[int, Future[None]] = {}
        self._writer = LogWriter(engine)
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
    ) -> int:
        """Record a queued job, then run `operation` in the background; the job's id."""
        job = Job(
            kind=kind,
            site=site,
            env=env,
            ticket_key=ticket_key,
            ref=ref,
            actor=self.actor,
            dry_run=dry_run,
            created=self.clock(),
            pid=os.getpid(),
            host=HOST,
            process=self._process,
        )
        with session_scope(self.engine) as session:
            session.add(job)
            session.flush()
            assert job.id is not None
            job_id = job.id
        cancel = threading.Event()
        with self._lock:
            self._cancels[job_id] = cancel
            self._futures[job_id] = self._pool.submit(self._run, job_id, dry_run, operation)
        return job_id

    def cancel(self, job_id: int) -> Job:
        """Ask a job to stop at its next step; a queued one ends cancelled at once."""
        with session_scope(self.engine) as session:
            job = _get(session, job_id)
            if job.state.finished:
                raise TriageError(
                    f"job {job_id} has already ended ({job.state.value}): nothing to cancel"
                )
            job.cancel_requested = True
            session.add(job)
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
        with Session(self.engine) as session:
            return _get(session, job_id)

    def jobs(self, limit: int = 50) -> list[Job]:
        """The latest jobs, newest first."""
        query = select(Job).order_by(col(Job.id).desc()).limit(limit)
        with Session(self.engine) as session:
            return list(session.exec(query))

    def steps(self, job_id: int) -> list[JobStep]:
        """A job's steps, in the order they ran."""
        query = select(JobStep).where(JobStep.job_id == job_id).order_by(col(JobStep.position))
        with Session(self.engine) as session:
            return list(session.exec(query))

    def log(self, job_id: int, after_id: int = 0) -> list[JobLog]:
        """A job's log lines after line `after_id`, oldest first: poll it for a live tail."""
        query = (
            select(JobLog)
            .where(JobLog.job_id == job_id, col(JobLog.id) > after_id)
            .order_by(col(JobLog.id))
        )
        with Session(self.engine) as session:
            return list(session.exec(query))

    def recover(self) -> list[int]:
        """Mark `interrupted` the open jobs whose process is gone; their ids."""
        with Session(self.engine) as session:
            open_jobs = list(session.exec(select(Job).where(col(Job.state).in_(OPEN_STATES))))
        gone = [job for job in open_jobs if not owner_alive(job)]
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

    def _run(self, job_id: int, dry_run: bool, operation: Operation) -> None:
        with self._lock:
            cancel = self._cancels[job_id]
        reporter = JobReporter(self, job_id, dry_run, cancel, self._writer)
        if cancel.is_set() or not self._start(job_id):
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
        self._writer.flush()
        duration = int((time.perf_counter() - started) * 1000)
        self._finish(job_id, state, summary or "", error, duration)

    def _start(self, job_id: int) -> bool:
        """Mark the job running; False if it was cancelled or closed while queued."""
        with self.engine.begin() as connection:
            moved = connection.execute(
                sa.update(JOB)
                .where(
                    JOB.c.id == job_id,
                    JOB.c.state == JobState.QUEUED,
                    JOB.c.cancel_requested == sa.false(),
                )
                .values(state=JobState.RUNNING, started=self.clock())
            )
        return moved.rowcount == 1

    def _finish(
        self, job_id: int, state: JobState, summary: str, error: str | None, duration: int | None
    ) -> None:
        """End an open job and append its audit entry, once, in one transaction."""
        finished = self.clock()
        summary, error = mask(summary), mask(error) if error else error
        with session_scope(self.engine) as session:
            # Only an open job ends: a job recovered as interrupted by another process, or
            # cancelled while queued, keeps how it ended, and gets one audit entry.
            ended = session.connection().execute(
                sa.update(JOB)
                .where(JOB.c.id == job_id, JOB.c.state.in_(OPEN_STATES))
                .values(state=state, finished=finished, summary=summary, error=error)
            )
            if ended.rowcount != 1:
                return
            job = _get(session, job_id)
            if duration is None and job.started is not None:
                duration = max(0, int((finished - job.started).total_seconds() * 1000))
            job.duration_ms = duration
            session.add(job)
            session.execute(
                sa.update(JOB_STEP)
                .where(JOB_STEP.c.job_id == job_id, JOB_STEP.c.state == JobState.RUNNING)
                .values(state=state if state is JobState.INTERRUPTED else JobState.FAILED)
            )
            detail = summary or error or ""
            session.add(
                AuditEntry(
                    at=finished,
                    actor=job.actor,
                    action=job.kind,
                    ticket_key=job.ticket_key,
                    site=job.site,
                    env=job.env,
                    ref=job.ref,
                    detail=f"dry run: {detail}" if job.dry_run else detail,
                    result=state.value,
                    duration_ms=duration,
                )
            )
        with self._lock:
            self._cancels.pop(job_id, None)


def _get(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"there is no job {job_id}: see `triage jobs` for their ids")
    return job
