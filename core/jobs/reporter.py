"""How a running job records itself: its steps, its log lines (written in batches), its cancel."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine

from triage.core.jobs.reporting import Cancelled
from triage.core.redact import mask
from triage.storage import jobs
from triage.storage.models import JobState

LOG_LINGER_S = 0.1
"""How long the log writer waits for more lines to write them together (well under 1 s)."""
LOG_BATCH = 500
CANCEL_POLL_S = 0.5
"""How often a running job looks for a cancel sent by another process."""

_logger = logging.getLogger(
    "triage.core.jobs.runner"
)  # one logger for the jobs and their log writer


class JobReporter:
    """A `Reporter` that writes a job's steps and log lines to its record as they happen."""

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        job_id: int,
        dry_run: bool,
        cancel: threading.Event,
        writer: LogWriter,
    ) -> None:
        self.dry_run = dry_run
        self._engine, self._clock = engine, clock
        self._job_id = job_id
        self._cancel = cancel
        self._writer = writer
        self._stack: list[str] = []
        self._position = 0
        self._next_poll = time.monotonic() + CANCEL_POLL_S

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Record a running step, then how it ended and how long it took.

        It does not check for a cancel: the operation does, before the steps it may skip
        (a rollback's steps must run whatever happens).
        """
        self._position += 1
        name = mask(name)
        engine, clock = self._engine, self._clock
        step_id = jobs.start_step(engine, self._job_id, self._position, name, clock())
        self._stack.append(name)
        self.log(f"==> {name}")
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
            jobs.end_step(engine, step_id, state, clock(), duration)

    def log(self, line: str) -> None:
        """Queue the line (or lines) for the job's record; written within a second."""
        at = self._clock()
        step = self._stack[-1][:255] if self._stack else None
        # Output of git, Docker and sites may quote a remote URL: no credential is kept.
        for part in mask(line).rstrip("\n").splitlines() or [""]:
            self._writer.put({"job_id": self._job_id, "at": at, "step": step, "line": part})

    def check_cancelled(self) -> None:
        """Raise Cancelled if a cancel came, from this process or through the job's row."""
        if not self._cancel.is_set() and time.monotonic() >= self._next_poll:
            self._next_poll = time.monotonic() + CANCEL_POLL_S
            requested = jobs.cancel_requested(self._engine, self._job_id)
            if requested:
                self._cancel.set()
        if self._cancel.is_set():
            raise Cancelled("the job was cancelled")


class LogWriter:
    """One thread that writes queued log lines in batches, so lines cost little."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._queue: queue.SimpleQueue[dict[str, Any] | threading.Event | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._loop, name="triage-job-log", daemon=True)
        self._thread.start()

    def put(self, row: dict[str, Any]) -> None:
        self._queue.put(row)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every line queued so far is written (or `timeout` passes)."""
        written = threading.Event()
        self._queue.put(written)
        return written.wait(timeout)

    def close(self, timeout: float) -> None:
        self._queue.put(None)
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            batch = [self._queue.get()]
            deadline = time.monotonic() + LOG_LINGER_S
            while len(batch) < LOG_BATCH and isinstance(batch[-1], dict):
                left = deadline - time.monotonic()
                try:
                    item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                batch.append(item)
            rows = [item for item in batch if isinstance(item, dict)]
            if rows:
                try:
                    jobs.write_log(self._engine, rows)
                except Exception:  # a lost log line must not kill the job
                    _logger.exception("could not write %d job log lines", len(rows))
            for item in batch:
                if isinstance(item, threading.Event):
                    item.set()
            if batch[-1] is None:
                return
