"""The jobs' log writer: their log lines, step records and deferred writes, in batches.

Records are queued as they happen and written in batches, one transaction each: a
background thread writes what came every WRITE_EVERY_S, so a job's log shows live within
that; a job that needs its records on file before it goes on (a step about to start, the
job's end) flushes: it writes everything queued so far itself, in its own thread, with the
records other jobs queued meanwhile, instead of waking the thread and waiting for it. One
lock keeps one batch at a time, so records are written in the order they were queued.
"""

from __future__ import annotations

import logging
import queue
import threading

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from triage.storage import jobs
from triage.storage.db import wait_for_disk

WRITE_EVERY_S = 0.5
"""How often the writer writes the lines queued meanwhile (a job's log is that fresh)."""
LOG_BATCH = 500

_logger = logging.getLogger("triage.core.jobs.runner")  # the jobs' logger


class LogWriter:
    """Writes the jobs' records in batches, from its thread or from a job that flushes."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._queue: queue.SimpleQueue[jobs.Record] = queue.SimpleQueue()
        self._closing = threading.Event()
        self._lock = threading.Lock()
        """Held while a batch is taken from the queue and written."""
        self._connection: sa.Connection | None = None
        """Kept open between batches (used under the lock, from whichever thread writes)."""
        self._waits: bool | None = None
        """Whether the kept connection's commits wait for the disk (None: not set yet)."""
        self._lost: dict[int, str] = {}
        self._thread = threading.Thread(target=self._loop, name="triage-job-log", daemon=True)
        self._thread.start()

    def put(self, record: jobs.Record) -> None:
        """Queue a log line's row, a step's start or end, or an operation's deferred write."""
        self._queue.put(record)

    def flush(self, timeout: float = 10.0) -> bool:
        """Write every record queued so far, now, in this thread; False if the writer is
        closed or another batch held it longer than `timeout`."""
        if self._closing.is_set() or not self._lock.acquire(timeout=timeout):
            return False
        try:
            self._write_queued()
        finally:
            self._lock.release()
        return True

    def lost_writes(self, job_id: int) -> str | None:
        """Why a deferred write of this job could not be written, if one could not (once)."""
        return self._lost.pop(job_id, None)

    def close(self, timeout: float) -> None:
        """Write what is queued and stop the thread."""
        self._closing.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            closing = self._closing.wait(WRITE_EVERY_S)
            if self._queue.empty() and not closing:
                continue
            with self._lock:
                self._write_queued()
                if closing:
                    self._drop_connection()
                    return

    def _write_queued(self) -> None:
        """Take what the queue holds (in batches of LOG_BATCH) and write it; under the lock."""
        while True:
            batch: list[jobs.Record] = []
            while len(batch) < LOG_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            if not batch:
                return
            self._write(batch)

    def _drop_connection(self) -> None:
        """Close the kept connection for good: it never goes back to the engine's pool, where
        a change must wait for the disk."""
        if self._connection is not None:
            self._connection.invalidate()
            self._connection.close()
            self._connection = None

    def _write(self, records: list[jobs.Record]) -> None:
        """One batch on the kept connection (a new one after a failure).

        A batch that ends a job (its row, its audit entry) waits for the disk, as every
        other write of the cache does. The others (log lines, steps, a rollout site's
        progress) are durable once the database has them: a killed process keeps them, and
        a power cut may lose the last ones until the next batch or change that waits (after
        which a rollout site redoes a step, each safe to redo); see `storage.db.wait_for_disk`.
        """
        try:
            if self._connection is None:
                self._connection, self._waits = self._engine.connect(), None
            waits = any(isinstance(record, jobs.End) for record in records)
            if waits is not self._waits:
                wait_for_disk(self._connection, waits)
                self._waits = waits
            with self._connection.begin():
                jobs.write_records_in(self._connection, records)
            return
        except Exception:  # a lost log line must not kill the job
            _logger.exception("could not write %d job records", len(records))
        self._drop_connection()
        progress = [r for r in records if isinstance(r, jobs.Write | jobs.End)]
        if progress:
            try:  # the jobs' progress and ends matter more than the log: on their own, then
                jobs.write_all(self._engine, progress)
            except Exception as error:
                _logger.exception("could not write %d deferred writes", len(progress))
                reason = str(error).splitlines()[0] if str(error) else type(error).__name__
                for record in progress:
                    self._lost[record.job_id] = reason
