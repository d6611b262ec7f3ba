"""A job whose process is killed mid-way is marked interrupted by the next start.

A child interpreter starts a job whose operation blocks; once the job's row says `running`,
the test kills the child with SIGKILL (no cleanup runs), then starts a new runner on the same
cache, as the app or the command line does on start.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from triage.core.jobs.runner import JobRunner
from triage.storage.models import AuditEntry, JobState

REPO = Path(__file__).resolve().parents[2]
WAIT_S = 60.0

CHILD = """
import sys, threading
from triage.core.jobs.runner import JobRunner
from triage.storage.db import open_cache

runner = JobRunner(open_cache(sys.argv[1]), max_jobs=1, actor="child")

def operation(reporter):
    with reporter.step("import the database"):
        reporter.log("importing")
        print("running", flush=True)
        threading.Event().wait(120)
    return "never reached"

print("job", runner.submit("clone", "acme", "dev", "SUP-9", "main", False, operation), flush=True)
threading.Event().wait(120)
"""


def read_lines(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line.strip())


def test_a_killed_job_is_interrupted_after_restart(db_url: str, engine: Engine) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, db_url],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=read_lines, args=(child.stdout, lines), daemon=True).start()
    try:
        said = {lines.get(timeout=WAIT_S), lines.get(timeout=WAIT_S)}
        [job_line] = [line for line in said if line.startswith("job ")]
        assert "running" in said
        job_id = int(job_line.split()[1])
        # A runner that does not recover only reads: the row says running, from the child.
        reader = JobRunner(engine, recover=False)
        job = reader.job(job_id)
        assert (job.state, job.pid) == (JobState.RUNNING, child.pid)
        reader.close()
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(WAIT_S)
        assert child.stdout is not None
        child.stdout.close()

    with JobRunner(engine, actor="Mia Me") as runner:
        job = runner.job(job_id)
        assert job.state is JobState.INTERRUPTED
        assert job.finished is not None and job.error is not None
        assert f"pid {child.pid}" in job.error
        assert [(s.name, s.state) for s in runner.steps(job_id)] == [
            ("import the database", JobState.INTERRUPTED)
        ]
    with JobRunner(engine) as again:
        assert again.job(job_id).state is JobState.INTERRUPTED
    with Session(engine) as session:
        entries = list(session.exec(select(AuditEntry).order_by(col(AuditEntry.id))))
    assert [(e.action, e.actor, e.ticket_key, e.result) for e in entries] == [
        ("clone", "child", "SUP-9", "interrupted")
    ]
