"""Prepared statements write what `Connection.execute` writes, in the caller's transaction.

On SQLite and PostgreSQL, with the cache's own column types (UTC times, enums, text, NULL).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from triage.storage import jobs
from triage.storage.models import JobState, UTCDateTime, _enum_type
from triage.storage.prepared import NotPreparable, Prepared

T0 = datetime(2026, 11, 30, 9, 0, 0, 123456, tzinfo=UTC)
METADATA = sa.MetaData()
ROWS = sa.Table(
    "prepared_probe",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("at", UTCDateTime, nullable=True),
    sa.Column("state", _enum_type(JobState), nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("count", sa.Integer, nullable=False, default=0),
)
KEYS = ("id", "at", "state", "note", "count")


@pytest.fixture
def table(engine: Engine) -> Iterator[sa.Table]:
    METADATA.create_all(engine)
    try:
        yield ROWS
    finally:
        METADATA.drop_all(engine)


def rows_of(engine: Engine, ids: list[int]) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        found = connection.execute(
            sa.select(ROWS.c.at, ROWS.c.state, ROWS.c.note, ROWS.c.count)
            .where(ROWS.c.id.in_(ids))
            .order_by(ROWS.c.id)
        )
        return [tuple(row) for row in found]


def values(first: int) -> list[dict[str, object]]:
    return [
        {"id": first, "at": T0, "state": JobState.RUNNING, "note": "it's 100% \"quoted\"",
         "count": 3},
        {"id": first + 1, "at": None, "state": JobState.FAILED, "note": None, "count": 0},
        {"id": first + 2, "at": T0 + timedelta(days=1), "state": JobState.SUCCEEDED,
         "note": "ünïcode ✓", "count": -1},
    ]  # fmt: skip


def test_an_insert_writes_what_execute_writes(engine: Engine, table: sa.Table) -> None:
    with engine.begin() as connection:
        connection.execute(sa.insert(table), values(1))
        Prepared(sa.insert(table), keys=KEYS).run(connection, values(11))
        Prepared(sa.insert(table), keys=KEYS).run(connection, values(21)[:1])  # one row

    by_execute, by_prepared = rows_of(engine, [1, 2, 3]), rows_of(engine, [11, 12, 13])
    assert by_prepared == by_execute
    assert by_prepared[0] == (T0, JobState.RUNNING, 'it\'s 100% "quoted"', 3)
    assert rows_of(engine, [21]) == by_execute[:1]


def test_an_update_with_bound_names_changes_only_its_row(engine: Engine, table: sa.Table) -> None:
    update = Prepared(
        sa.update(table)
        .where(table.c.id == sa.bindparam("k_id"))
        .values(state=sa.bindparam("v_state"), at=sa.bindparam("v_at"))
    )
    with engine.begin() as connection:
        connection.execute(sa.insert(table), values(1))
        update.run(connection, [{"k_id": 2, "v_state": JobState.CANCELLED, "v_at": T0}])

    assert [row[:2] for row in rows_of(engine, [1, 2, 3])] == [
        (T0, JobState.RUNNING), (T0, JobState.CANCELLED),
        (T0 + timedelta(days=1), JobState.SUCCEEDED),
    ]  # fmt: skip


def test_it_runs_in_the_callers_transaction(engine: Engine, table: sa.Table) -> None:
    insert = Prepared(sa.insert(table), keys=KEYS)
    with pytest.raises(RuntimeError), engine.begin() as connection:
        insert.run(connection, values(1))
        raise RuntimeError("the caller fails after the write")

    assert rows_of(engine, [1, 2, 3]) == []


def test_a_statement_that_needs_a_python_default_is_refused(
    engine: Engine, table: sa.Table
) -> None:
    without_count = Prepared(sa.insert(table), keys=["id", "state"])
    with engine.begin() as connection, pytest.raises(NotPreparable, match="count"):
        without_count.run(connection, [{"id": 1, "state": JobState.QUEUED}])


def test_the_job_records_read_back_as_written(engine: Engine) -> None:
    # The jobs' hot path (step records and log lines) through prepared statements.
    job_id = jobs.add_claimed(engine, {"kind": "deploy", "created": T0, "actor": "Mia"}, None)
    assert job_id is not None
    start = jobs.StepStart(job_id, 1, "composer update", T0)
    line = {"job_id": job_id, "at": T0, "step": "composer update", "line": "it's done: 100%"}
    jobs.write_records(engine, [start, line])
    end = jobs.StepEnd(job_id, 1, JobState.SUCCEEDED, T0 + timedelta(seconds=2), 2000)
    jobs.write_records(engine, [end])

    (step,) = jobs.steps(engine, job_id)
    assert (step.name, step.state, step.started, step.finished, step.duration_ms) == (
        "composer update", JobState.SUCCEEDED, T0, T0 + timedelta(seconds=2), 2000,
    )  # fmt: skip
    (logged,) = jobs.log(engine, job_id)
    assert (logged.at, logged.step, logged.line) == (T0, "composer update", "it's done: 100%")
