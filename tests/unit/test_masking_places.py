"""Credentials never reach a job's log, its record, the audit log or a Jira comment.

Every shape of issue 7 goes through each place: a token as the user of a URL, an empty user
with a password, a password holding "@", and a `?password=` query parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from triage.core.board.service import Board
from triage.core.config import load_settings
from triage.core.jobs.reporting import ListReporter, Reporter
from triage.core.jobs.runner import JobRunner
from triage.storage.columns import BoardColumn
from triage.storage.errors import TriageError
from triage.storage.models import AuditEntry, Comment, OutboxEntry, Ticket

TicketRow = Callable[..., dict[str, Any]]
WAIT_S = 20.0
SHAPES = {
    "ghp_T0KEN": "https://ghp_T0KEN@git.example.com/acme.git",
    "Pw0rd": "https://:Pw0rd@git.example.com/acme.git",
    "p@ss@w0rd": "https://deploy:p@ss@w0rd@git.example.com/acme.git",
    "hunter2": "postgresql+psycopg://u@db.example/t?password=hunter2",
}
TEXT = "remote " + " and ".join(SHAPES.values()) + " failed"


def _assert_masked(text: str) -> None:
    for secret in SHAPES:
        assert secret not in text, (secret, text)
    assert "git.example.com/acme.git" in text and "db.example/t" in text


@pytest.fixture
def runner(engine: Engine) -> Iterator[JobRunner]:
    jobs = JobRunner(engine, max_jobs=1, actor="Mia Me")
    try:
        yield jobs
    finally:
        jobs.close(timeout=WAIT_S)


@pytest.mark.parametrize("fails", [False, True])
def test_a_jobs_log_record_and_audit_entry_hold_no_credential(
    runner: JobRunner, fails: bool
) -> None:
    def operation(reporter: Reporter) -> str:
        with reporter.step("push " + SHAPES["ghp_T0KEN"]):
            reporter.log("$ git push " + TEXT)
            reporter.log("line one\nline two " + SHAPES["hunter2"])
        if fails:
            raise TriageError(TEXT)
        return TEXT

    job = runner.wait(
        runner.submit("deploy", "acme", "test", None, "main", False, operation), WAIT_S
    )
    lines = [entry.line for entry in runner.log(job.id or 0)]
    assert len(lines) >= 4
    _assert_masked("\n".join(lines))
    _assert_masked(job.error if fails else job.summary)  # type: ignore[arg-type]
    assert all("ghp_T0KEN" not in step.name for step in runner.steps(job.id or 0))
    with Session(runner.engine) as session:
        [entry] = session.exec(select(AuditEntry)).all()
    _assert_masked(entry.detail)


def test_an_unexpected_errors_traceback_holds_no_credential(runner: JobRunner) -> None:
    def operation(reporter: Reporter) -> str:
        raise RuntimeError(TEXT)

    job = runner.wait(runner.submit("clone", "acme", "dev", None, None, False, operation), WAIT_S)
    _assert_masked(job.error or "")
    _assert_masked("\n".join(entry.line for entry in runner.log(job.id or 0)))


def test_a_list_reporter_echo_holds_no_credential(capsys: pytest.CaptureFixture[str]) -> None:
    reporter = ListReporter(echo=True)
    with reporter.step("fetch " + SHAPES["Pw0rd"]):
        reporter.log(TEXT)
    printed = capsys.readouterr().out
    _assert_masked(printed)
    _assert_masked(" ".join(reporter.lines))


@pytest.fixture
def board(engine: Engine, ticket_row: TicketRow, tmp_path: Path) -> Board:
    with Session(engine) as session:
        session.add(Ticket(**ticket_row("SUP-1", column=BoardColumn.IN_PROGRESS)))
        session.commit()
    return Board(engine, load_settings(tmp_path / "absent.toml", me="Mia Me"))


def test_comments_for_jira_and_the_audit_hold_no_credential(board: Board) -> None:
    board.comment("SUP-1", "Test site built: " + TEXT)
    board.move("SUP-1", BoardColumn.NEEDS_WORK, comment="Deploy failed: " + TEXT)
    board.move("SUP-1", BoardColumn.CODE_REVIEW, override_reason="hotfix via " + TEXT)
    with Session(board.engine) as session:
        bodies = [c.body for c in session.exec(select(Comment).order_by(col(Comment.id)))]
        payloads = [str(e.payload) for e in session.exec(select(OutboxEntry))]
        audits = [a.detail for a in session.exec(select(AuditEntry))]
    assert len(bodies) == 2 and len(audits) == 1
    for text in (*bodies, *audits):
        _assert_masked(text)
    assert not [secret for secret in SHAPES if secret in " ".join(payloads)]


def test_masking_a_comment_keeps_its_words(board: Board) -> None:
    board.comment("SUP-1", "Deployed, see https://test.acme.example/node/1 (ok)")
    with Session(board.engine) as session:
        [comment] = session.exec(select(Comment)).all()
    assert comment.body == "Deployed, see https://test.acme.example/node/1 (ok)"
