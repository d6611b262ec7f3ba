"""Shared pieces of the intake tests: the Dovecot server, the sandbox Jira, mail delivery.

The intake test modules take the fixtures from here by name, as the site tests do with
`site_fixtures`.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dovecot import INSTALL_HINT, DovecotServer, DovecotUnavailable, find_dovecot
from imap_tools import AND, MailBoxUnencrypted
from sqlalchemy.engine import Engine

from triage.core.config import Settings, load_settings
from triage.sandbox.agency import Agency, build_agency
from triage.storage.db import open_cache, sqlite_url

REPO = Path(__file__).resolve().parents[2]
MAIL = REPO / "tests" / "fixtures" / "mail"
PASSWORD = "imap-secret"
BOXES = 40
_next_box = itertools.count()


@pytest.fixture(scope="session")
def imap() -> Iterator[DovecotServer]:
    """A Dovecot on loopback for the session, with users box0…box39 (password PASSWORD)."""
    binary = find_dovecot()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    server = DovecotServer(binary, {f"box{n}": PASSWORD for n in range(BOXES)})
    try:
        server.start()
    except DovecotUnavailable as error:
        pytest.fail(str(error))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def box(imap: DovecotServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """A mailbox of its own for one test; its password in TRIAGE_INTAKE_PASSWORD."""
    monkeypatch.setenv("TRIAGE_INTAKE_PASSWORD", PASSWORD)
    return f"box{next(_next_box)}"


@pytest.fixture(scope="module")
def agency() -> Agency:
    # An hour before the real now: the sandbox stamps its own changes with the real now.
    return build_agency(tickets=300, seed=5, now=datetime.now(UTC) - timedelta(hours=1))


@pytest.fixture
def settings(tmp_path: Path, imap: DovecotServer, box: str) -> Settings:
    return load_settings(
        tmp_path / "absent.toml",
        data_dir=str(tmp_path),
        jira={"projects": ["SUP"]},
        intake={
            "host": "127.0.0.1",
            "port": imap.port,
            "ssl": False,
            "user": box,
            "domains": {
                "acme.example": {"client": "Acme", "sites": ["acme-www"]},
                "beta-sklep.example": {"client": "Beta Sklep", "sites": ["beta-shop"]},
            },
        },
    )


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Engine]:
    engine = open_cache(sqlite_url(tmp_path / "cache.db"))
    try:
        yield engine
    finally:
        engine.dispose()


def fixtures() -> list[bytes]:
    """Every fixture mail, in delivery order."""
    return [path.read_bytes() for path in sorted(MAIL.glob("*.eml"))]


def copy_of(raw: bytes, copy: int) -> bytes:
    """A fixture as copy `copy`: its own Message-IDs (and thread ids), its own text."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return raw + f" copy {copy}".encode()
    head = re.sub(
        rb"(?im)^((?:Message-ID|In-Reply-To|References):\s*<)",
        lambda m: m.group(1) + f"c{copy}.".encode(),
        head,
    )
    body = body.replace(b"Thanks, the new image", f"Thanks (copy {copy}), the new image".encode())
    return head + sep + body


def deliver(imap: DovecotServer, user: str, mails: list[bytes]) -> None:
    """Put mails into the user's INBOX over IMAP, as a mail server would."""
    with MailBoxUnencrypted("127.0.0.1", imap.port, timeout=10).login(user, PASSWORD) as mailbox:
        for raw in mails:
            mailbox.append(raw, "INBOX")


def untaken(imap: DovecotServer, user: str) -> int:
    """Mails in the user's INBOX not yet marked taken."""
    with MailBoxUnencrypted("127.0.0.1", imap.port, timeout=10).login(user, PASSWORD) as mailbox:
        return len(mailbox.uids(AND(no_keyword="TriageTaken")))
