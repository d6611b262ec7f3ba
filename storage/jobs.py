"""The jobs' records: a job's row from queued to ended, its steps, its log, and its audit entry.

Every statement on the job tables lives here; `core.jobs` calls these with an engine. A job
ends once: `finish` updates only an open job, and writes the audit entry in the same
transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from triage.storage.db import session_scope
from triage.storage.errors import StorageError
from triage.storage.models import AuditEntry, Job, JobLog, JobState, JobStep, table_of
from triage.storage.prepared import Prepared
from triage.storage.queries import insert_for as _insert_for

JOB = table_of(Job)
JOB_LOG = table_of(JobLog)
JOB_STEP = table_of(JobStep)
AUDIT = table_of(AuditEntry)
_INSERT_JOB = sa.insert(JOB)
Claim = Callable[[sa.Connection, int], bool]
"""Takes what a new job works on, inside the transaction that records the job (its id)."""
OPEN_STATES = (JobState.QUEUED, JobState.RUNNING)


class NoSuchJob(StorageError):
    """The job id names no job."""


def get(session: Session, job_id: int) -> Job:
    """One job's row; NoSuchJob if there is none."""
    job = session.get(Job, job_id)
    if job is None:
        raise NoSuchJob(f"there is no job {job_id}: see `triage jobs` for their ids")
    return job


class _NotClaimed(Exception):
    """Rolls back a job's row whose claim failed."""


def add(engine: Engine, job: Job) -> int:
    """Write a new job's row; its id."""
    job_id = add_claimed(engine, job.model_dump(exclude={"id"}), None)
    assert job_id is not None  # nothing to claim
    return job_id


def add_claimed(engine: Engine, values: dict[str, Any], claim: Claim | None) -> int | None:
    """Write a new job's row (`values`: its fields; the others take their defaults) and run
    `claim` in the same transaction with its id (a rollout takes its site for the job
    there); the job's id, or None (nothing written) if the claim returned False."""
    try:
        with engine.begin() as connection:
            inserted = connection.execute(_INSERT_JOB, values)
            job_id = int(inserted.inserted_primary_key[0])  # type: ignore[index]
            if claim is not None and not claim(connection, job_id):
                raise _NotClaimed
    except _NotClaimed:
        return None
    return job_id


def read(engine: Engine, job_id: int) -> Job:
    """One job's row."""
    with Session(engine) as session:
        return get(session, job_id)


def latest(engine: Engine, limit: int) -> list[Job]:
    """The latest jobs, newest first."""
    with Session(engine) as session:
        return list(session.exec(select(Job).order_by(col(Job.id).desc()).limit(limit)))


def steps(engine: Engine, job_id: int) -> list[JobStep]:
    """A job's steps, in the order they ran."""
    query = select(JobStep).where(JobStep.job_id == job_id).order_by(col(JobStep.position))
    with Session(engine) as session:
        return list(session.exec(query))


def log(engine: Engine, job_id: int, after_id: int = 0) -> list[JobLog]:
    """A job's log lines after line `after_id`, oldest first."""
    query = (
        select(JobLog)
        .where(JobLog.job_id == job_id, col(JobLog.id) > after_id)
        .order_by(col(JobLog.id))
    )
    with Session(engine) as session:
        return list(session.exec(query))


def open_jobs(engine: Engine) -> list[Job]:
    """The jobs still queued or running, by any process."""
    with Session(engine) as session:
        return list(session.exec(select(Job).where(col(Job.state).in_(OPEN_STATES))))


def request_cancel(engine: Engine, job_id: int) -> Job:
    """Flag an open job for cancelling (its process polls the flag); the job as it was."""
    with session_scope(engine) as session:
        job = get(session, job_id)
        if not job.state.finished:
            job.cancel_requested = True
            session.add(job)
        session.flush()
        session.expunge(job)
        return job


_CANCELS_REQUESTED = sa.select(JOB.c.id).where(
    JOB.c.id.in_(sa.bindparam("b_ids", expanding=True)), JOB.c.cancel_requested == sa.true()
)
_START = (
    sa.update(JOB)
    .where(
        JOB.c.id == sa.bindparam("b_id"),
        JOB.c.state == JobState.QUEUED,
        JOB.c.cancel_requested == sa.false(),
    )
    .values(state=JobState.RUNNING, started=sa.bindparam("b_at"))
)
_FINISH = (
    sa.update(JOB)
    .where(JOB.c.id == sa.bindparam("b_id"), JOB.c.state.in_(OPEN_STATES))
    .values(
        state=sa.bindparam("b_state"),
        finished=sa.bindparam("b_at"),
        summary=sa.bindparam("b_summary"),
        error=sa.bindparam("b_error"),
        duration_ms=sa.bindparam("b_ms"),
    )
    .returning(
        *(
            JOB.c[name]
            for name in ("kind", "actor", "ticket_key", "site", "env", "ref", "dry_run", "started")
        )
    )
)
_DURATION = (
    sa.update(JOB).where(JOB.c.id == sa.bindparam("b_id")).values(duration_ms=sa.bindparam("b_ms"))
)
_END_RUNNING_STEPS = (
    sa.update(JOB_STEP)
    .where(JOB_STEP.c.job_id == sa.bindparam("b_id"), JOB_STEP.c.state == JobState.RUNNING)
    .values(state=sa.bindparam("b_state"))
)
_INSERT_AUDIT = sa.insert(AUDIT)
"""Built once: a job's start and end only bind their values."""


def cancels_requested(engine: Engine, job_ids: Collection[int]) -> list[int]:
    """Which of these jobs someone asked to stop (one read for all of them)."""
    if not job_ids:
        return []
    with engine.connect() as connection:
        return list(connection.execute(_CANCELS_REQUESTED, {"b_ids": list(job_ids)}).scalars())


def start(engine: Engine, job_id: int, at: datetime) -> bool:
    """Mark a queued job running; False if it was cancelled or ended meanwhile."""
    with engine.begin() as connection:
        moved = connection.execute(_START, {"b_id": job_id, "b_at": at})
    return moved.rowcount == 1


class End(NamedTuple):
    """How a job ended, to write with its last records (`finish` says what that does)."""

    job_id: int
    state: JobState
    summary: str
    error: str | None
    duration_ms: int | None
    at: datetime


def finish(
    engine: Engine,
    job_id: int,
    state: JobState,
    summary: str,
    error: str | None,
    duration_ms: int | None,
    at: datetime,
) -> bool:
    """End an open job and append its audit entry, once, in one transaction; False if not open.

    A job recovered as interrupted by another process, or cancelled while queued, keeps how
    it ended and its one audit entry. Steps still running end failed (interrupted, when the
    job was).
    """
    with engine.begin() as connection:
        return finish_in(connection, End(job_id, state, summary, error, duration_ms, at))


def finish_in(connection: sa.Connection, end: End) -> bool:
    """`finish`, in the connection's open transaction."""
    job_id, state, summary, error, duration_ms, at = end
    ending = {"b_id": job_id, "b_state": state, "b_at": at, "b_summary": summary,
              "b_error": error, "b_ms": duration_ms}  # fmt: skip
    job = connection.execute(_FINISH, ending).first()
    if job is None:
        return False
    if duration_ms is None and job.started is not None:
        duration_ms = max(0, int((at - job.started).total_seconds() * 1000))
        connection.execute(_DURATION, {"b_id": job_id, "b_ms": duration_ms})
    steps = state if state is JobState.INTERRUPTED else JobState.FAILED
    connection.execute(_END_RUNNING_STEPS, {"b_id": job_id, "b_state": steps})
    detail = summary or error or ""
    connection.execute(
        _INSERT_AUDIT,
        {"at": at, "actor": job.actor, "action": job.kind, "ticket_key": job.ticket_key,
         "site": job.site, "env": job.env, "ref": job.ref,
         "detail": f"dry run: {detail}" if job.dry_run else detail,
         "result": state.value, "duration_ms": duration_ms},
    )  # fmt: skip
    return True


class StepStart(NamedTuple):
    """A step began (the job's `position`-th)."""

    job_id: int
    position: int
    name: str
    at: datetime


class StepEnd(NamedTuple):
    """A step ended."""

    job_id: int
    position: int
    state: JobState
    at: datetime
    duration_ms: int


Statement = tuple[sa.Executable | Prepared, dict[str, Any]]
"""A write to run later (`Write`), as storage builds it: the statement and its parameters."""


class Write(NamedTuple):
    """A row the job's operation changes as it goes (e.g. a rollout site's last finished
    step), written with the job's next records."""

    job_id: int
    statement: sa.Executable | Prepared
    params: dict[str, Any]


Record = dict[str, Any] | StepStart | StepEnd | Write | End
"""What a job's log writer queues: a log line's row, a step's start or end, a Write, or
how a job ended."""


def write_all(engine: Engine, records: Sequence[Record]) -> None:
    """The operations' own writes and the jobs' ends alone, in one transaction, in order
    (what must not be lost with a batch whose log lines could not be written)."""
    with engine.begin() as connection:
        _write_progress(connection, records)


def _write_progress(connection: sa.Connection, records: Sequence[Record]) -> None:
    for record in records:
        if isinstance(record, Write):
            statement = record.statement
            if isinstance(statement, Prepared):
                statement.run(connection, [record.params])
            else:
                connection.execute(statement, record.params)
        elif isinstance(record, End):
            finish_in(connection, record)


_INSERT_LOG = Prepared(sa.insert(JOB_LOG), keys=("job_id", "at", "step", "line"))
_STEP_COLUMNS = ("job_id", "position", "name", "state", "started", "finished", "duration_ms")


_RECORD_STEPS: dict[str, Prepared] = {}


def _record_steps(dialect: sa.Dialect) -> Prepared:
    """One statement for the steps of a batch: a start inserts its row, an end (its row is
    there: a start is written before its step runs) sets how it ended and its time."""
    if dialect.name not in _RECORD_STEPS:
        statement = _insert_for(dialect, JOB_STEP)
        ended = {name: statement.excluded[name] for name in ("state", "finished", "duration_ms")}
        _RECORD_STEPS[dialect.name] = Prepared(
            statement.on_conflict_do_update(index_elements=["job_id", "position"], set_=ended),
            keys=_STEP_COLUMNS,
        )
    return _RECORD_STEPS[dialect.name]


"""Built once: a batch only binds its values (no statement to build and key per record)."""


def write_records(engine: Engine, records: Sequence[Record]) -> None:
    """Write queued log lines and step records in one transaction (see `write_records_in`)."""
    with engine.begin() as connection:
        write_records_in(connection, records)


def write_records_in(connection: sa.Connection, records: Sequence[Record]) -> None:
    """Write queued log lines and step records in the connection's open transaction, a
    statement for each kind.

    Steps start before they end, so the starts go first; lines name their step by name;
    the operations' own writes and the jobs' ends go last, in the order they were queued.
    """
    steps = [
        dict(zip(_STEP_COLUMNS, (r.job_id, r.position, r.name[:255], JobState.RUNNING, r.at,
                                 None, None), strict=True))
        for r in records if isinstance(r, StepStart)
    ]  # fmt: skip
    steps += [
        dict(zip(_STEP_COLUMNS, (r.job_id, r.position, "", r.state, r.at, r.at, r.duration_ms),
                 strict=True))
        for r in records if isinstance(r, StepEnd)
    ]  # fmt: skip
    if steps:
        _record_steps(connection.dialect).run(connection, steps)
    lines = [r for r in records if isinstance(r, dict)]
    if lines:
        _INSERT_LOG.run(connection, lines)
    _write_progress(connection, records)
