"""How a running job records itself: its steps, its log lines (written in batches), its cancel."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from triage.core.jobs.log_writer import LogWriter
from triage.core.jobs.reporting import Cancelled
from triage.core.redact import mask
from triage.storage import jobs
from triage.storage.errors import StorageError
from triage.storage.models import JobState
from triage.storage.prepared import Prepared

CANCEL_POLL_S = 1.0
"""How often a runner's jobs look for a cancel sent by another process (one read for all,
at a step's boundary)."""


class JobReporter:
    """A `Reporter` that writes a job's steps and log lines to its record as they happen."""

    def __init__(
        self,
        clock: Callable[[], datetime],
        job_id: int,
        dry_run: bool,
        cancel: threading.Event,
        writer: LogWriter,
        watch: CancelWatch,
    ) -> None:
        self.dry_run = dry_run
        self._clock = clock
        self._job_id = job_id
        self._cancel = cancel
        self._writer, self._watch = writer, watch
        self._stack: list[str] = []
        self._position = 0
        self._deferred = False

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Record a running step, then how it ended and how long it took.

        It does not check for a cancel: the operation does, before the steps it may skip
        (a rollback's steps must run whatever happens).
        """
        self._position += 1
        position, name, clock = self._position, mask(name), self._clock
        self._writer.put(jobs.StepStart(self._job_id, position, name, clock()))
        self._stack.append(name)
        self.log(f"==> {name}")
        # On record before the step's work begins (a kill shows where it was), together
        # with what other jobs queued meanwhile (the end of the step before, log lines)
        # and what this job's operation deferred (a rollout site's last finished step).
        try:
            self.flush()
        except StorageError:
            self._stack.pop()
            raise
        state = JobState.FAILED
        started = time.perf_counter()
        try:
            yield
            state = JobState.SUCCEEDED
        except Cancelled:
            state = JobState.CANCELLED
            raise
        finally:
            self._stack.pop()
            duration = int((time.perf_counter() - started) * 1000)
            self._writer.put(jobs.StepEnd(self._job_id, position, state, clock(), duration))

    def log(self, line: str) -> None:
        """Queue the line (or lines) for the job's record; written within a second."""
        at = self._clock()
        step = self._stack[-1][:255] if self._stack else None
        # Output of git, Docker and sites may quote a remote URL: no credential is kept.
        for part in mask(line).rstrip("\n").splitlines() or [""]:
            row = {"job_id": self._job_id, "at": at, "step": step, "line": part}
            self._writer.put(row)

    def defer(self, statement: sa.Executable | Prepared, params: dict[str, Any]) -> None:
        """Write this with the job's next records: at the latest in the transaction that
        records its next step's start (before that step runs) or at `flush`."""
        self._writer.put(jobs.Write(self._job_id, statement, params))
        self._deferred = True

    def flush(self) -> None:
        """Write, now, everything queued so far (this job's and others'); StorageError if this
        job's deferred writes could not be (the step that follows must not run as if they
        were)."""
        written = self._writer.flush()
        error = self._writer.lost_writes(self._job_id)
        if error is None and not written and self._deferred:
            error = "the cache did not answer in time"
        self._deferred = False
        if error is not None:
            raise StorageError(
                f"the job's progress could not be written to the cache ({error}): it stops "
                "here, and runs its last step again when resumed"
            )

    def check_cancelled(self) -> None:
        """Raise Cancelled if a cancel came, from this process or through the job's row."""
        if not self._cancel.is_set():
            self._watch.poll()
        if self._cancel.is_set():
            raise Cancelled("the job was cancelled")


class CancelWatch:
    """Looks for cancels sent by other processes to a runner's jobs (through their rows): at
    most every CANCEL_POLL_S, one read for all its running jobs, whichever job asks."""

    def __init__(self, engine: Engine, running: Callable[[], dict[int, threading.Event]]) -> None:
        self._engine, self._running = engine, running
        self._guard = threading.Lock()
        self._next = time.monotonic() + CANCEL_POLL_S

    def poll(self) -> None:
        """Set the cancel of each job someone asked to stop, if it is time to look."""
        with self._guard:
            now = time.monotonic()
            if now < self._next:
                return
            self._next = now + CANCEL_POLL_S
        running = self._running()
        for job_id in jobs.cancels_requested(self._engine, list(running)):
            running[job_id].set()
