"""Text from Jira and from job output reaches the terminal as data: `triage ls`, `jobs`, `job`.

A summary that held an OSC (set the window title), a CSI (clear the screen), C1 controls,
bidi overrides, NUL or a newline (a forged `ls` row) came out raw; each is checked on the
raw bytes the command writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from cli_support import http_server
from sqlmodel import Session

from triage.storage.columns import BoardColumn
from triage.storage.db import open_cache, sqlite_url
from triage.storage.models import (
    Job,
    JobLog,
    JobState,
    OutboxEntry,
    OutboxKind,
    OutboxState,
    Ticket,
)

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
HOSTILE = (
    "Login\x1b]0;pwned\x07 broken\x1b[2J\x1b[H\x9b2J\x85\u202eevil\u202c\x00\x07"
    "\nSUP-999    To Do                forged-row"
)
#: Bytes that must never reach the terminal from outside text.
FORBIDDEN = [bytes([c]) for c in range(0x20) if c not in (0x09, 0x0A)] + [
    b"\x7f",
    *(chr(c).encode() for c in range(0x80, 0xA0)),
    *(chr(c).encode() for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))),
]


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env.update(TRIAGE_DATA_DIR=str(root / "data"), TRIAGE_CONFIG=str(root / "config.toml"))
    return env


def _triage(root: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "triage.tui.cli.main", *args],
        cwd=REPO,
        env={**_env(root), **extra},
        capture_output=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _forbidden_in(raw: bytes) -> list[bytes]:
    return [b for b in FORBIDDEN if b in raw]


@pytest.fixture
def hostile_root(tmp_path: Path) -> Path:
    """A cache whose two tickets, one change and one job carry hostile text everywhere."""
    engine = open_cache(sqlite_url(tmp_path / "data" / "triage.db"))
    with Session(engine) as session:
        for key in ("SUP-1", "SUP-2"):
            session.add(
                Ticket(
                    key=key, jira_id=key[4:], project="SUP", summary=HOSTILE,
                    description=HOSTILE, issue_type="Bug\x1b[31m", severity="High",
                    severity_rank=2, jira_status="To Do", column=BoardColumn.TODO,
                    assignee="Eve\x1b]8;;http://evil\x07Evil", reporter="R",
                    site="acme\u202e", labels=[], created=T0, updated=T0, synced_at=T0,
                )
            )  # fmt: skip
        session.add(
            OutboxEntry(
                ticket_key="SUP-1",
                kind=OutboxKind.COMMENT,
                payload={"body": "hi"},
                state=OutboxState.FAILED,
                last_error="Jira refused: " + HOSTILE,
            )
        )
        job = Job(
            kind="deploy", site="acme", env="test", ticket_key="SUP-1", ref="main",
            actor="me", state=JobState.FAILED, created=T0, started=T0, finished=T0,
            duration_ms=1200, summary="", error="deploy failed: " + HOSTILE,
        )  # fmt: skip
        session.add(job)
        session.flush()
        for line in ("$ drush deploy", HOSTILE, "\x1b[?1049h\x1b]52;c;ZXZpbA==\x07done"):
            session.add(JobLog(job_id=job.id or 0, at=T0, line=line))
        session.commit()
    engine.dispose()
    return tmp_path


def test_ls_prints_one_row_per_ticket_and_no_terminal_control(hostile_root: Path) -> None:
    result = _triage(hostile_root, "ls")
    assert result.returncode == 0, result.stderr
    assert _forbidden_in(result.stdout) == []
    lines = result.stdout.decode().splitlines()
    rows = [line for line in lines if line.startswith("SUP-")]
    assert [row.split()[0] for row in rows] == ["SUP-1", "SUP-2"], lines
    assert "forged-row" in rows[0] and "Login broken" in rows[0]
    assert "pwned" not in result.stdout.decode()
    # The failed change is one row too, under its ticket.
    assert len(lines) == 3, lines


def test_ls_json_keeps_the_text_and_escapes_the_controls(hostile_root: Path) -> None:
    result = _triage(hostile_root, "ls", "--json")
    assert result.returncode == 0, result.stderr
    assert _forbidden_in(result.stdout) == []
    rows = json.loads(result.stdout)
    assert [row["summary"] for row in rows] == [HOSTILE, HOSTILE]


def test_jobs_and_a_jobs_log_print_no_terminal_control(hostile_root: Path) -> None:
    listing = _triage(hostile_root, "jobs")
    assert listing.returncode == 0, listing.stderr
    assert _forbidden_in(listing.stdout) == []
    assert len(listing.stdout.decode().strip().splitlines()) == 1

    shown = _triage(hostile_root, "job", "1")
    assert shown.returncode == 0, shown.stderr
    assert _forbidden_in(shown.stdout) == []
    text = shown.stdout.decode()
    assert "$ drush deploy" in text and "done" in text
    assert "pwned" not in text and "ZXZpbA" not in text


class _HostileJira(BaseHTTPRequestHandler):
    """A Jira Data Center whose account and status names carry terminal control."""

    ANSWERS: dict[str, object] = {
        "/rest/api/2/myself": {"displayName": "Eve\x1b]0;pwned\x07", "timeZone": "UTC"},
        "/rest/api/2/field": [],
        "/rest/api/2/status": [{"name": "Blocked\x1b[2J\nSUP-999 forged"}],
    }

    def do_GET(self) -> None:
        body = json.dumps(self.ANSWERS.get(self.path.split("?")[0], {})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def hostile_jira() -> Iterator[str]:
    with http_server(_HostileJira) as url:
        yield url


def test_doctor_prints_jiras_names_without_terminal_control(
    tmp_path: Path, hostile_jira: str
) -> None:
    result = _triage(
        tmp_path, "doctor", TRIAGE_JIRA__URL=hostile_jira, TRIAGE_JIRA__DEPLOYMENT="dc",
        TRIAGE_JIRA__PROJECTS='["SUP"]', TRIAGE_JIRA_TOKEN="tok",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr  # the unmapped status is a problem to fix
    assert _forbidden_in(result.stdout + result.stderr) == []
    text = result.stdout.decode()
    assert "pwned" not in text and "logged in as Eve" in text
    assert not any(line.startswith("SUP-999") for line in text.splitlines())
