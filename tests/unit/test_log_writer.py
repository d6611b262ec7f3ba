"""The jobs' log writer: which commits wait for the disk, and its connection staying its own.

Log lines, steps and a rollout site's progress are durable once the database has them (a
killed process keeps them: tests/integration/test_jobs_interrupted.py kills one with
SIGKILL); a batch that ends a job waits for the disk, as every change of the cache does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from triage.core.jobs.log_writer import LogWriter
from triage.storage import jobs
from triage.storage.db import open_cache, sqlite_url, wait_for_disk
from triage.storage.models import JobState

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def waits(connection: sa.Connection) -> bool:
    """Whether the connection's commits wait for the disk, as the database reports it."""
    if connection.dialect.name == "sqlite":
        return connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    return connection.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"


def test_a_connection_waits_for_the_disk_as_told(engine: Engine) -> None:
    with engine.connect() as connection:
        wait_for_disk(connection, True)
        assert waits(connection)
        wait_for_disk(connection, False)
        assert not waits(connection)
        wait_for_disk(connection, True)
        assert waits(connection)


def test_the_sqlite_cache_waits_for_the_disk_by_default(tmp_path: Path) -> None:
    cache = open_cache(sqlite_url(tmp_path / "cache.db"))
    try:
        with cache.connect() as connection:
            assert waits(connection)
    finally:
        cache.dispose()


def test_the_writers_connection_never_goes_back_to_the_pool(tmp_path: Path) -> None:
    # SQLite: each connection of the pool waits for the disk from its start (the test
    # PostgreSQL server does not wait by default, so it could not tell).
    engine = open_cache(sqlite_url(tmp_path / "cache.db"))
    job_id = jobs.add_claimed(engine, {"kind": "clone", "created": T0, "actor": "Mia"}, None)
    assert job_id is not None
    writer = LogWriter(engine)
    writer.put({"job_id": job_id, "at": T0, "step": None, "line": "a line"})
    assert writer.flush()  # a batch that does not wait for the disk
    writer.close(timeout=10)

    connections = [engine.connect() for _ in range(6)]  # more than the pool keeps idle
    try:
        assert all(waits(connection) for connection in connections)
    finally:
        for connection in connections:
            connection.close()
    assert [line.line for line in jobs.log(engine, job_id)] == ["a line"]
    engine.dispose()


def test_a_batch_that_ends_a_job_is_written_with_its_end(engine: Engine) -> None:
    job_id = jobs.add_claimed(engine, {"kind": "clone", "created": T0, "actor": "Mia",
                                       "state": JobState.RUNNING, "started": T0}, None)  # fmt: skip
    assert job_id is not None
    writer = LogWriter(engine)
    writer.put({"job_id": job_id, "at": T0, "step": None, "line": "the last line"})
    writer.put(jobs.End(job_id, JobState.SUCCEEDED, "done", None, 5, T0))
    assert writer.flush()
    writer.close(timeout=10)

    assert jobs.read(engine, job_id).state is JobState.SUCCEEDED
    assert [line.line for line in jobs.log(engine, job_id)] == ["the last line"]
