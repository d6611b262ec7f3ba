"""The intake run on a real Maildir and a real cache (SQLite and PostgreSQL), without Jira."""

from __future__ import annotations

import mailbox as stdlib_mailbox
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from triage.core.config import Settings, load_settings
from triage.core.intake.mailbox import MaildirMailbox
from triage.core.intake.run import Intake
from triage.storage import intake as store
from triage.storage.models import IntakeMail, IntakeState, OutboxEntry, OutboxKind, Ticket
from triage.storage.queries import card_rows

REPO = Path(__file__).resolve().parents[2]
MAIL = REPO / "tests" / "fixtures" / "mail"


@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    """A Maildir holding every fixture mail, delivered in file-name order."""
    path = tmp_path / "Maildir"
    stdlib_mailbox.Maildir(path, create=True).close()
    for number, source in enumerate(sorted(MAIL.glob("*.eml"))):
        # Delivered byte for byte, named so the order is the delivery order.
        (path / "new" / f"{number:04d}.fixture").write_bytes(source.read_bytes())
    return path


@pytest.fixture
def settings(tmp_path: Path, maildir: Path) -> Settings:
    return load_settings(
        tmp_path / "absent.toml",
        data_dir=str(tmp_path),
        jira={"projects": ["SUP"]},
        intake={
            "maildir": str(maildir),
            "domains": {"acme.example": {"client": "Acme", "sites": ["acme-www"]}},
        },
    )


def outbox(engine: Engine) -> list[OutboxEntry]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxEntry).order_by(col(OutboxEntry.id))))


def test_every_fixture_is_taken_once_as_ticket_comment_skip_or_kept(
    engine: Engine, settings: Settings, maildir: Path
) -> None:
    result = Intake(engine, settings, MaildirMailbox(maildir), batch=4).run_once()
    assert (result.tickets, result.comments, result.skipped, result.failed) == (7, 2, 2, 1)
    entries = outbox(engine)
    creates = [e for e in entries if e.kind is OutboxKind.CREATE_ISSUE]
    comments = {e.ticket_key: e.payload["body"] for e in entries if e.kind is OutboxKind.COMMENT}
    assert len(creates) == 7
    first = next(e for e in creates if e.payload["message_id"] == "<CAKq1-req1@mail.acme.example>")
    assert first.payload["priority"] == "High"
    assert "triage-email" in first.payload["labels"]
    assert first.payload["dedupe_label"] in first.payload["labels"]
    # The reply by In-Reply-To only lands on the new ticket, still known by its placeholder.
    assert "formularz dalej nie działa" in comments[first.ticket_key]
    assert "since this morning" not in comments[first.ticket_key]
    assert "On mobile it is still cut." in comments["SUP-5"]
    assert "We replaced the header image" not in comments["SUP-5"]

    again = Intake(engine, settings, MaildirMailbox(maildir)).run_once()
    assert (again.taken, again.already) == (0, 0)
    assert len(outbox(engine)) == len(entries)


class CrashBeforeMarking(MaildirMailbox):
    """A process that dies after recording its first batch, before marking it taken."""

    def mark_taken(self, uids: list[str]) -> None:
        raise KeyboardInterrupt("killed")


def test_mails_recorded_but_not_marked_are_not_taken_again(
    engine: Engine, settings: Settings, maildir: Path
) -> None:
    with pytest.raises(KeyboardInterrupt):
        Intake(engine, settings, CrashBeforeMarking(maildir), batch=5).run_once()
    recorded = len(outbox(engine))
    assert recorded > 0
    result = Intake(engine, settings, MaildirMailbox(maildir), batch=5).run_once()
    assert result.already == 5
    assert result.taken == 12 - 5
    with Session(engine) as session:
        rows = list(session.exec(select(IntakeMail)))
    assert len(rows) == 12 == len({r.message_id for r in rows})
    assert len([e for e in outbox(engine) if e.kind is OutboxKind.CREATE_ISSUE]) == 7


def test_an_unparseable_mail_is_kept_raw_and_listed(
    engine: Engine,
    settings: Settings,
    maildir: Path,
    tmp_path: Path,
) -> None:
    Intake(engine, settings, MaildirMailbox(maildir)).run_once()
    with Session(engine) as session:
        failed = store.failed_mails(session)
    assert len(failed) == 1
    assert failed[0].raw == (MAIL / "12_unparseable.eml").read_bytes()
    assert failed[0].state is IntakeState.FAILED
    config = tmp_path / "config.toml"
    config.write_text(f'database_url = "{engine.url.render_as_string(hide_password=False)}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    listed = subprocess.run(
        [sys.executable, "-m", "triage.tui.cli.main", "intake", "--list-failed"],
        cwd=REPO,
        env={**env, "TRIAGE_CONFIG": str(config)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert "the mail has no headers" in listed.stdout
    assert "@triage.invalid>" in listed.stdout


def test_the_board_marks_tickets_from_email(engine: Engine) -> None:
    when = datetime(2026, 11, 30, 9, tzinfo=UTC)
    with Session(engine) as session:
        session.add(Ticket(key="SUP-1", labels=["triage-email", "site:x"], updated=when))
        session.add(Ticket(key="SUP-2", labels=["other"], updated=when))
        session.add(Ticket(key="SUP-3", labels=["triage-email-unknown"], updated=when))
        session.commit()
    marks = {row.key: row.from_email for row in card_rows(engine, when)}
    assert marks == {"SUP-1": True, "SUP-2": False, "SUP-3": False}


@pytest.fixture
def empty_maildir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "empty"
    stdlib_mailbox.Maildir(path, create=True).close()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_a_mail_without_message_id_is_taken_once_by_its_digest(
    engine: Engine, settings: Settings, empty_maildir: Path
) -> None:
    box = stdlib_mailbox.Maildir(empty_maildir)
    box.add(b"From: a@acme.example\r\nSubject: no id\r\n\r\nhello\r\n")
    box.close()
    mailbox = MaildirMailbox(empty_maildir)
    first = Intake(engine, settings, mailbox).run_once()
    assert first.tickets == 1
    # Delivered again (same bytes, unmarked): the same digest, so taken before.
    box = stdlib_mailbox.Maildir(empty_maildir)
    box.add(b"From: a@acme.example\r\nSubject: no id\r\n\r\nhello\r\n")
    box.close()
    second = Intake(engine, settings, MaildirMailbox(empty_maildir)).run_once()
    assert (second.tickets, second.already) == (0, 1)


def test_missing_mailbox_settings_say_what_to_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from triage.core.errors import ConfigError
    from triage.core.intake.mailbox import open_mailbox

    bare = load_settings(tmp_path / "absent.toml", jira={"projects": ["SUP"]})
    with pytest.raises(ConfigError, match=r"set \[intake\] host and user"):
        open_mailbox(bare)
    imap = load_settings(tmp_path / "absent.toml", intake={"host": "127.0.0.1", "user": "support"})
    monkeypatch.setattr("keyring.get_password", lambda service, user: None)
    with pytest.raises(ConfigError, match="set TRIAGE_INTAKE_PASSWORD"):
        open_mailbox(imap)
    not_a_maildir = load_settings(tmp_path / "absent.toml", intake={"maildir": str(tmp_path)})
    with pytest.raises(ConfigError, match="is not a Maildir"):
        open_mailbox(not_a_maildir)


def test_intake_without_a_project_says_what_to_set(engine: Engine, tmp_path: Path) -> None:
    from triage.core.errors import ConfigError

    bare = load_settings(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match=r"set \[intake\] project"):
        Intake(engine, bare, MaildirMailbox.__new__(MaildirMailbox))


def test_a_mail_intake_cannot_handle_is_kept_and_the_rest_are_taken(
    engine: Engine, settings: Settings, maildir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import triage.core.intake.run as run
    from triage.core.intake.mail import ParsedMail
    from triage.core.intake.route import ticket_fields as real

    def fragile(mail: ParsedMail, settings: Settings) -> dict[str, object]:
        if "VAT" in str(getattr(mail, "subject", "")):
            raise ValueError("a bug meets a strange mail")
        return real(mail, settings)

    monkeypatch.setattr(run, "ticket_fields", fragile)
    result = Intake(engine, settings, MaildirMailbox(maildir)).run_once()
    assert (result.tickets, result.comments, result.skipped, result.failed) == (6, 2, 2, 2)
    with Session(engine) as session:
        failed = store.failed_mails(session)
    kept = next(m for m in failed if "VAT" in m.subject)
    assert "ValueError: a bug meets a strange mail" in kept.reason
    assert kept.raw == (MAIL / "04_forwarded.eml").read_bytes()
