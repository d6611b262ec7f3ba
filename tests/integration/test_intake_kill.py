"""Kill -9 during intake (and during its push), then again: every mail taken exactly once.

Four copies of the real-world fixtures (each copy with its own Message-IDs) wait in a
Dovecot mailbox. Round after round a child process takes mail in batches of three and then
pushes the outbox to the sandbox Jira; the parent SIGKILLs it at a different point each
round: after some mails are recorded, or after some Jira calls. Finally the parent runs
intake and the push to the end, and Jira must hold each new ticket once (with its
attachments once), each comment once, and the cache one row per mail.
"""

from __future__ import annotations

import collections
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import intake_fixtures
import pytest
from dovecot import DovecotServer
from intake_fixtures import PASSWORD, REPO, copy_of, deliver, fixtures, untaken
from jira_support import CLIENT_USER
from kill_support import kill_when
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from triage.core.config import Settings
from triage.core.intake.mailbox import open_mailbox
from triage.core.intake.run import Intake
from triage.core.tracker.client import JiraTracker
from triage.core.tracker.push import Pusher
from triage.core.tracker.sync import Sync
from triage.sandbox.agency import adf_to_text
from triage.sandbox.jira_server import JiraSandbox
from triage.storage.models import IntakeMail, IntakeState, OutboxEntry, OutboxState, utcnow

imap = intake_fixtures.imap
box = intake_fixtures.box
agency = intake_fixtures.agency
settings = intake_fixtures.settings
cache = intake_fixtures.cache

COPIES = 4
#: Each round kills the child after this many recorded mails ("mails") or Jira calls ("calls").
#: The mail rounds come first: a child records all mail left before its first Jira call.
KILL_AT = [
    ("mails", 1),
    ("mails", 4),
    ("mails", 7),
    ("mails", 10),
    ("calls", 2),
    ("calls", 5),
    ("calls", 9),
    ("calls", 14),
    ("calls", 30),
]

CHILD = r"""
import sys
from pathlib import Path

repo, data_dir, jira_url, flavour, jira_user, imap_port, imap_user = sys.argv[1:8]
sys.path.insert(0, repo)

from triage.core.board.service import Board
from triage.core.config import load_settings
from triage.core.intake.mailbox import open_mailbox
from triage.core.intake.run import Intake
from triage.core.tracker.push import Pusher
from triage.core.tracker.client import Credentials, JiraTracker
from triage.storage.db import open_cache, sqlite_url

settings = load_settings(
    Path(data_dir) / "absent.toml",
    data_dir=data_dir,
    jira={"projects": ["SUP"]},
    intake={"host": "127.0.0.1", "port": int(imap_port), "ssl": False, "user": imap_user},
)
engine = open_cache(sqlite_url(Path(data_dir) / "cache.db"))
mailbox = open_mailbox(settings)
print(Intake(engine, settings, mailbox, batch=3).run_once().summary(), flush=True)
mailbox.close()
board = Board(engine, settings)
tracker = JiraTracker(Credentials(jira_url, "sandbox-token", jira_user), flavour)
print(Pusher(engine, settings, tracker).run().summary())
"""


def recorded(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "cache.db", timeout=10) as connection:
        return int(connection.execute("SELECT count(*) FROM intake_mail").fetchone()[0])


def run_and_kill(
    sb: JiraSandbox, imap: DovecotServer, box: str, data_dir: Path, flavour: str, when: str, n: int
) -> int | None:
    """Run intake and push in a child; SIGKILL it at the given point. Its exit code."""
    start_mails, start_calls = recorded(data_dir), sb.total_calls()
    reached: Callable[[], bool] = (
        (lambda: recorded(data_dir) - start_mails >= n)
        if when == "mails"
        else (lambda: sb.total_calls() - start_calls >= n)
    )
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(REPO), str(data_dir), sb.url, flavour]
        + [CLIENT_USER[flavour], str(imap.port), box],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env={**os.environ, "TRIAGE_INTAKE_PASSWORD": PASSWORD},
    )
    return kill_when(child, reached, f"{n} {when}")


def bodies(sb: JiraSandbox, key: str) -> list[str]:
    found = sb.issue(key)["fields"]["comment"]["comments"]
    return [b if isinstance(b := c["body"], str) else adf_to_text(b) for c in found]


@pytest.mark.timeout(300)
def test_kill_9_during_intake_then_again_takes_every_mail_once(
    imap: DovecotServer,
    box: str,
    sandbox: JiraSandbox,
    flavour: str,
    tracker: JiraTracker,
    settings: Settings,
    cache: Engine,
    tmp_path: Path,
) -> None:
    Sync(cache, settings, tracker).run()
    deliver(imap, box, [copy_of(raw, c) for c in range(COPIES) for raw in fixtures()])
    sandbox.latency_ms = 15.0

    killed = 0
    for when, n in KILL_AT:
        if run_and_kill(sandbox, imap, box, tmp_path, flavour, when, n) == -signal.SIGKILL:
            killed += 1
    assert killed >= 6, "the child should have been killed mid-run several times"

    sandbox.latency_ms = 0.0
    mailbox = open_mailbox(settings)
    try:
        Intake(cache, settings, mailbox).run_once()
    finally:
        mailbox.close()
    # The killed children's leases on their changes lapse; then this push takes them over.
    lapsed = timedelta(seconds=settings.jira.push_lease_seconds + 1)
    result = Pusher(cache, settings, tracker, lambda: utcnow() + lapsed).run()
    assert (result.failed, result.conflicts, result.waiting) == (0, 0, 0), result.summary()

    assert untaken(imap, box) == 0
    with Session(cache) as session:
        rows = list(session.exec(select(IntakeMail)))
        states = collections.Counter(e.state for e in session.exec(select(OutboxEntry)))
    assert len(rows) == 12 * COPIES == len({r.message_id for r in rows})
    kinds = collections.Counter(r.state for r in rows)
    assert kinds == {
        IntakeState.TICKET: 7 * COPIES,
        IntakeState.COMMENT: 2 * COPIES,
        IntakeState.SKIPPED: 2 * COPIES,
        IntakeState.FAILED: COPIES,
    }
    assert states == {OutboxState.DONE: 9 * COPIES}

    made = [r for r in rows if r.state is IntakeState.TICKET]
    in_jira = tracker.keys('project = SUP AND labels = "triage-email"')
    assert sorted(in_jira) == sorted(str(r.ticket_key) for r in made)
    for row in made:
        fields = sandbox.issue(str(row.ticket_key))["fields"]
        if "attach" in row.message_id:
            assert len(fields["attachment"]) == 3, row.ticket_key
        if "req1" in row.message_id:
            assert len(bodies(sandbox, str(row.ticket_key))) == 1, row.ticket_key
    sup5 = bodies(sandbox, "SUP-5")
    for copy in range(COPIES):
        assert sum(f"Thanks (copy {copy})" in body for body in sup5) == 1, sup5
