"""The job runner on a real cache (SQLite and PostgreSQL), with fake operations.

Every wait is bounded and waits on an event or on the cache showing something; nothing
sleeps to let another thread get ahead, and nothing is timed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from triage.core.errors import NotFound
from triage.core.jobs.owner import HOST, process_start
from triage.core.jobs.reporting import Reporter
from triage.core.jobs.runner import JobRunner, NotClaimed, RunnerClosed
from triage.storage.db import session_scope
from triage.storage.errors import TriageError
from triage.storage.models import AuditEntry, Job, JobState

WAIT_S = 20.0


def eventually(check: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    """Wait until `check()` holds, polling the cache; fail naming `what` after `timeout`."""
    pause = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if check():
            return
        pause.wait(0.02)
    assert check(), f"timed out waiting for {what}"


def audit(engine: Engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id))))


@pytest.fixture
def runner(engine: Engine) -> Iterator[JobRunner]:
    jobs = JobRunner(engine, max_jobs=2, actor="Mia Me")
    try:
        yield jobs
    finally:
        jobs.close(timeout=WAIT_S)


def blocking(reached: threading.Event, release: threading.Event) -> Callable[[Reporter], str]:
    def operation(reporter: Reporter) -> str:
        with reporter.step("prepare"):
            reporter.log("hello from the job")
            reached.set()
            assert release.wait(WAIT_S), "the test never released the job"
        return "all done"

    return operation


def test_the_job_is_recorded_queued_before_it_runs(engine: Engine) -> None:
    reached, release = threading.Event(), threading.Event()
    with JobRunner(engine, max_jobs=1, actor="Mia Me") as runner:
        first = runner.submit(
            "clone", "acme", "dev", "SUP-1", None, False, blocking(reached, release)
        )
        assert reached.wait(WAIT_S)
        second = runner.submit("clone", "acme", "dev", "SUP-2", "main", False, lambda r: "ok")
        queued = runner.job(second)
        assert queued.state is JobState.QUEUED
        assert (queued.kind, queued.site, queued.env, queued.ticket_key, queued.ref) == (
            "clone", "acme", "dev", "SUP-2", "main"
        )  # fmt: skip
        assert queued.actor == "Mia Me" and queued.pid == os.getpid() and queued.started is None
        assert runner.job(first).state is JobState.RUNNING
        release.set()
        assert runner.wait(first, WAIT_S).state is JobState.SUCCEEDED
        done = runner.wait(second, WAIT_S)
        assert done.state is JobState.SUCCEEDED and done.summary == "ok"


def test_a_job_with_a_free_slot_is_running_from_its_first_record(engine: Engine) -> None:
    reached, release = threading.Event(), threading.Event()
    with JobRunner(engine, max_jobs=1, actor="Mia Me") as runner:
        job_id = runner.submit("clone", "acme", "dev", None, None, False,
                               blocking(reached, release))  # fmt: skip
        recorded = runner.job(job_id)  # as submit left it, whether the thread began or not
        assert recorded.state is JobState.RUNNING and recorded.started == recorded.created
        assert reached.wait(WAIT_S)
        release.set()
        assert runner.wait(job_id, WAIT_S).state is JobState.SUCCEEDED


def test_steps_and_lines_reach_the_cache_while_the_job_runs(runner: JobRunner) -> None:
    reached, release = threading.Event(), threading.Event()
    job_id = runner.submit("clone", "acme", "dev", None, None, False, blocking(reached, release))
    assert reached.wait(WAIT_S)

    eventually(lambda: "hello from the job" in [e.line for e in runner.log(job_id)], "the log line")
    [step] = runner.steps(job_id)
    assert (step.name, step.state, step.finished) == ("prepare", JobState.RUNNING, None)
    assert runner.job(job_id).state is JobState.RUNNING

    release.set()
    job = runner.wait(job_id, WAIT_S)
    assert job.state is JobState.SUCCEEDED and job.summary == "all done"
    assert job.started is not None and job.finished is not None and job.duration_ms is not None
    [step] = runner.steps(job_id)
    assert step.state is JobState.SUCCEEDED and step.duration_ms is not None
    lines = runner.log(job_id)
    assert [(e.step, e.line) for e in lines] == [
        ("prepare", "==> prepare"),
        ("prepare", "hello from the job"),
    ]
    assert [e.line for e in runner.log(job_id, after_id=lines[0].id or 0)] == ["hello from the job"]


def test_a_later_step_starts_once_the_step_before_is_on_record(runner: JobRunner) -> None:
    # What the second step's work sees in the cache, read from its own thread at once.
    seen: list[list[tuple[str, JobState]]] = []
    ids: list[int] = []
    submitted = threading.Event()

    def operation(reporter: Reporter) -> str:
        assert submitted.wait(WAIT_S)
        with reporter.step("backup"):
            reporter.log("dumped")
        with reporter.step("maintenance on"):
            seen.append([(s.name, s.state) for s in runner.steps(ids[0])])
        return "done"

    job_id = runner.submit("deploy", "acme", "prod", None, None, False, operation)
    ids.append(job_id)
    submitted.set()
    assert runner.wait(job_id, WAIT_S).state is JobState.SUCCEEDED

    assert seen == [[("backup", JobState.SUCCEEDED), ("maintenance on", JobState.RUNNING)]]


def test_no_more_than_max_jobs_run_at_once(runner: JobRunner) -> None:
    lock = threading.Lock()
    both_running = threading.Event()
    release = threading.Event()
    running = peak = 0

    def operation(reporter: Reporter) -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            if running == 2:
                both_running.set()
        try:
            assert release.wait(WAIT_S), "the test never released the jobs"
        finally:
            with lock:
                running -= 1
        return "ok"

    ids = [runner.submit("clone", "acme", "dev", None, None, False, operation) for _ in range(4)]
    assert both_running.wait(WAIT_S)
    states = [runner.job(job_id).state for job_id in ids]
    assert states.count(JobState.RUNNING) == 2 and states.count(JobState.QUEUED) == 2
    release.set()
    assert all(runner.wait(job_id, WAIT_S).state is JobState.SUCCEEDED for job_id in ids)
    assert peak == 2


def test_a_cancelled_job_stops_at_its_next_step(runner: JobRunner) -> None:
    reached, release = threading.Event(), threading.Event()
    later: list[str] = []

    def operation(reporter: Reporter) -> str:
        with reporter.step("one"):
            reached.set()
            assert release.wait(WAIT_S)
        reporter.check_cancelled()  # as core.clone.timed_step does before each step
        with reporter.step("two"):
            later.append("two ran")
        return "finished"

    job_id = runner.submit("deploy", "acme", "test", "SUP-3", "SUP-3-x", False, operation)
    assert reached.wait(WAIT_S)
    assert runner.cancel(job_id).cancel_requested
    release.set()
    job = runner.wait(job_id, WAIT_S)
    assert job.state is JobState.CANCELLED and job.error == "the job was cancelled"
    assert later == []
    assert [(s.name, s.state) for s in runner.steps(job_id)] == [("one", JobState.SUCCEEDED)]
    [entry] = audit(runner.engine)
    assert (entry.action, entry.result, entry.ticket_key) == ("deploy", "cancelled", "SUP-3")
    with pytest.raises(TriageError, match="already ended"):
        runner.cancel(job_id)


def test_a_queued_job_cancelled_never_runs(engine: Engine) -> None:
    reached, release = threading.Event(), threading.Event()
    ran: list[int] = []

    def run(reporter: object) -> str:
        ran.append(1)
        return "ran"

    with JobRunner(engine, max_jobs=1) as runner:
        first = runner.submit("clone", "acme", "dev", None, None, False, blocking(reached, release))
        assert reached.wait(WAIT_S)
        second = runner.submit("clone", "acme", "dev", None, None, False, run)
        job = runner.cancel(second)
        assert job.state is JobState.CANCELLED and job.started is None
        release.set()
        assert runner.wait(first, WAIT_S).state is JobState.SUCCEEDED
        assert runner.wait(second, WAIT_S).state is JobState.CANCELLED
    assert ran == []


def test_a_cancel_from_another_process_reaches_the_job(engine: Engine, runner: JobRunner) -> None:
    reached = threading.Event()

    def operation(reporter: Reporter) -> str:
        pause = threading.Event()
        with reporter.step("wait for the cancel"):
            reached.set()
            for _ in range(int(WAIT_S / 0.02)):
                reporter.check_cancelled()
                pause.wait(0.02)
        return "never cancelled"

    job_id = runner.submit("clone", "acme", "dev", None, None, False, operation)
    assert reached.wait(WAIT_S)
    # Another runner stands for another process: it owns no future of the job.
    with JobRunner(engine, actor="Bob Ops") as other:
        assert other.job(job_id).state is JobState.RUNNING  # alive: left alone by recover()
        other.cancel(job_id)
    job = runner.wait(job_id, WAIT_S)
    assert job.state is JobState.CANCELLED
    assert [s.state for s in runner.steps(job_id)] == [JobState.CANCELLED]


def test_a_cancel_from_another_process_stops_only_its_job(engine: Engine) -> None:
    started, release = threading.Barrier(3, timeout=WAIT_S), threading.Event()

    def operation(reporter: Reporter) -> str:
        started.wait()
        for _ in range(int(WAIT_S / 0.02)):  # the poll is shared by the runner's jobs
            reporter.check_cancelled()
            if release.wait(0.02):
                return "ran to its end"
        return "never released"

    with JobRunner(engine, max_jobs=2, actor="Mia Me") as runner:
        kept, cancelled = (runner.submit("clone", site, "dev", None, None, False, operation)
                           for site in ("acme", "globex"))  # fmt: skip
        started.wait()
        with JobRunner(engine, actor="Bob Ops") as other:
            other.cancel(cancelled)
        assert runner.wait(cancelled, WAIT_S).state is JobState.CANCELLED
        release.set()
        job = runner.wait(kept, WAIT_S)
    assert (job.state, job.summary) == (JobState.SUCCEEDED, "ran to its end")


def test_a_job_whose_claim_fails_is_neither_recorded_nor_run(runner: JobRunner) -> None:
    ran = threading.Event()

    def operation(reporter: Reporter) -> str:
        ran.set()
        return "ran"

    def taken(connection: Any, job_id: int) -> bool:
        return False  # what the job would work on is someone else's

    with pytest.raises(NotClaimed, match="was taken"):
        runner.submit("security-update", "acme", "test", None, None, False, operation,
                      claim=taken)  # fmt: skip
    claimed = runner.submit("security-update", "acme", "test", None, None, False, operation,
                            claim=lambda connection, job_id: job_id > 0)  # fmt: skip

    assert runner.wait(claimed, WAIT_S).state is JobState.SUCCEEDED
    assert [job.id for job in runner.jobs()] == [claimed]  # the refused one left no row


def test_a_job_ending_while_its_runner_closes_starts_no_other(engine: Engine) -> None:
    # A rollout's job starts the next site as it ends; a closing runner must refuse it.
    runner = JobRunner(engine, max_jobs=2, actor="Mia Me")
    reached, refused = threading.Event(), list[str]()

    def operation(reporter: Reporter) -> str:
        try:
            reached.set()
            with reporter.step("wait for the cancel"):
                for _ in range(int(WAIT_S / 0.05)):
                    reporter.check_cancelled()
                    threading.Event().wait(0.05)
            return "never cancelled"
        finally:
            try:
                runner.submit("clone", "next", "dev", None, None, False, lambda _: "ran")
            except RunnerClosed as closed:
                refused.append(str(closed))

    first = runner.submit("clone", "acme", "dev", None, None, False, operation)
    assert reached.wait(WAIT_S)
    runner.close(cancel=True, timeout=WAIT_S)

    assert refused == ["Triage is stopping its jobs: the clone job was not queued"]
    with Session(engine) as session:
        assert [job.id for job in session.exec(select(Job))] == [first]


def test_a_failure_is_recorded_with_its_sentence(runner: JobRunner) -> None:
    def operation(reporter: Reporter) -> str:
        with reporter.step("smoke checks"):
            raise TriageError("https://test.acme.example/ answered 500: look at the site's log")

    job_id = runner.submit("deploy", "acme", "test", "SUP-4", "main", False, operation)
    job = runner.wait(job_id, WAIT_S)
    assert job.state is JobState.FAILED
    assert job.error == "https://test.acme.example/ answered 500: look at the site's log"
    assert [(s.name, s.state) for s in runner.steps(job_id)] == [("smoke checks", JobState.FAILED)]
    assert runner.log(job_id)[-1].line == f"!! {job.error}"
    [entry] = audit(runner.engine)
    assert (entry.actor, entry.action, entry.site, entry.env, entry.ticket_key, entry.ref) == (
        "Mia Me", "deploy", "acme", "test", "SUP-4", "main"
    )  # fmt: skip
    assert (entry.result, entry.detail) == ("failed", job.error)
    assert entry.duration_ms == job.duration_ms


def test_an_unexpected_error_fails_the_job_and_logs_the_traceback(runner: JobRunner) -> None:
    def operation(reporter: Reporter) -> str:
        raise KeyError("web")

    job = runner.wait(runner.submit("clone", "acme", "dev", None, None, False, operation), WAIT_S)
    assert job.state is JobState.FAILED
    assert job.error == "unexpected error: KeyError: 'web'"
    assert any("Traceback" in e.line for e in runner.log(job.id or 0))


def test_every_finished_job_appends_one_audit_entry(runner: JobRunner) -> None:
    seen: list[bool] = []

    def operation(reporter: Reporter) -> str:
        seen.append(reporter.dry_run)
        return "would run 3 commands"

    first = runner.wait(
        runner.submit("deploy", "acme", "prod", None, "v1", True, operation), WAIT_S
    )
    second = runner.wait(
        runner.submit("clone", "acme", "dev", None, None, False, operation), WAIT_S
    )
    assert first.dry_run and not second.dry_run and seen == [True, False]
    entries = audit(runner.engine)
    assert [(e.action, e.result, e.detail) for e in entries] == [
        ("deploy", "succeeded", "dry run: would run 3 commands"),
        ("clone", "succeeded", "would run 3 commands"),
    ]
    assert [j.id for j in runner.jobs(limit=1)] == [second.id]
    assert [j.id for j in runner.jobs()] == [second.id, first.id]


def test_an_unknown_job_is_not_found(runner: JobRunner) -> None:
    with pytest.raises(NotFound, match="no job 999"):
        runner.job(999)


def orphan(engine: Engine, state: JobState, **fields: Any) -> int:
    with session_scope(engine) as session:
        job = Job(kind="deploy", site="acme", env="prod", state=state, host=HOST, **fields)
        session.add(job)
        session.flush()
        assert job.id is not None
        return job.id


def test_a_start_marks_the_jobs_of_gone_processes_interrupted(engine: Engine) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        mark = process_start(holder.pid)
        alive = orphan(engine, JobState.RUNNING, pid=holder.pid, process=f"{mark}:x")
        other_host = orphan(engine, JobState.RUNNING, pid=1)
        with session_scope(engine) as session:
            job = session.get(Job, other_host)
            assert job is not None
            job.host = "another-machine"
        reused = orphan(engine, JobState.RUNNING, pid=holder.pid, process="1:x")
        me = f"{process_start(os.getpid())}:gone"
        mine_closed = orphan(engine, JobState.QUEUED, pid=os.getpid(), process=me)
        with JobRunner(engine) as runner:
            assert runner.job(alive).state is JobState.RUNNING
            assert runner.job(other_host).state is JobState.RUNNING
            assert runner.job(reused).state is JobState.INTERRUPTED
            assert runner.job(mine_closed).state is JobState.INTERRUPTED
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(WAIT_S)
    with JobRunner(engine) as runner:
        job = runner.job(alive)
        assert job.state is JobState.INTERRUPTED
        assert job.error is not None and f"pid {holder.pid}" in job.error
    assert [(e.action, e.result) for e in audit(engine)] == [("deploy", "interrupted")] * 3
