"""E-mail intake end to end: a real Dovecot on loopback, the sandbox Jira in both flavours.

Real-world mails are delivered over IMAP; intake takes them into the cache and the outbox;
the push creates the tickets (with their attachments) and posts the comments. What reached
Jira is read from the sandbox's own store.
"""

from __future__ import annotations

from pathlib import Path

import intake_fixtures
from dovecot import DovecotServer
from intake_fixtures import deliver, fixtures, untaken
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
from triage.storage.models import IntakeMail, IntakeState, Ticket

imap = intake_fixtures.imap
box = intake_fixtures.box
agency = intake_fixtures.agency
settings = intake_fixtures.settings
cache = intake_fixtures.cache


def text(value: object) -> str:
    if isinstance(value, str):
        return value
    assert value is None or isinstance(value, dict), value
    return adf_to_text(value)


def comments(sb: JiraSandbox, key: str) -> list[str]:
    return [text(c["body"]) for c in sb.issue(key)["fields"]["comment"]["comments"]]


def made_by_mail(cache: Engine) -> dict[str, str]:
    """Message-ID -> ticket key of every mail that became a ticket."""
    with Session(cache) as session:
        rows = session.exec(select(IntakeMail).where(IntakeMail.state == IntakeState.TICKET))
        return {row.message_id: str(row.ticket_key) for row in rows}


def push(cache: Engine, settings: Settings, tracker: JiraTracker) -> str:
    result = Pusher(cache, settings, tracker).run()
    assert (result.failed, result.conflicts, result.waiting) == (0, 0, 0), result.summary()
    return result.summary()


def test_every_kind_of_mail_lands_in_jira_once(
    imap: DovecotServer,
    box: str,
    sandbox: JiraSandbox,
    tracker: JiraTracker,
    settings: Settings,
    cache: Engine,
) -> None:
    Sync(cache, settings, tracker).run()
    before_sup5 = comments(sandbox, "SUP-5")
    deliver(imap, box, fixtures())

    mailbox = open_mailbox(settings)
    try:
        result = Intake(cache, settings, mailbox).run_once()
    finally:
        mailbox.close()
    assert (result.tickets, result.comments, result.skipped, result.failed) == (7, 2, 2, 1)
    assert untaken(imap, box) == 0
    push(cache, settings, tracker)

    keys = made_by_mail(cache)
    assert len(keys) == 7 and all(key.startswith("SUP-") for key in keys.values())
    in_jira = set(tracker.keys('project = SUP AND labels = "triage-email"'))
    assert in_jira == set(keys.values())

    request = sandbox.issue(keys["<CAKq1-req1@mail.acme.example>"])["fields"]
    assert request["summary"] == "Contact form on www.acme.example sends nothing"
    assert request["priority"]["name"] == "High"
    assert "main lead channel" in text(request["description"])
    assert request["customfield_10102"]["value"] == "Acme"
    assert request["customfield_10101"] == "acme-www"
    # The reply by In-Reply-To only: on that new ticket, its quote stripped.
    (reply,) = comments(sandbox, keys["<CAKq1-req1@mail.acme.example>"])
    assert "formularz dalej nie działa" in reply and "since this morning" not in reply
    # The reply by subject key: on SUP-5 (the leftmost key), its quote stripped.
    added = comments(sandbox, "SUP-5")[len(before_sup5) :]
    assert len(added) == 1 and "On mobile it is still cut." in added[0]
    assert "We replaced the header image" not in added[0]

    outlook = sandbox.issue(keys[next(k for k in keys if k.startswith("<DB9PR01"))])["fields"]
    assert outlook["priority"]["name"] == "Highest"
    assert "newsletter sign-up returns an error 500" in text(outlook["description"])
    assert "MsoNormal" not in text(outlook["description"])
    polish = sandbox.issue(keys["<20261130130000.pl1@beta-sklep.example>"])["fields"]
    assert polish["summary"] == "Błąd na stronie głównej – pilne!"
    assert polish["customfield_10102"]["value"] == "Beta Sklep"
    long = sandbox.issue(keys["<CAKq1-long@mail.acme.example>"])["fields"]
    assert len(long["summary"]) == 255
    forwarded = sandbox.issue(keys["<CAKq1-fwd@mail.acme.example>"])["fields"]
    assert "8% VAT for books" in text(forwarded["description"])
    unknown = sandbox.issue(keys["<q-1@unknown-corp.example>"])["fields"]
    assert "triage-email-unknown-sender" in unknown["labels"]
    assert "\x1b" not in text(unknown["description"])

    attached = sandbox.issue(keys["<CAKq1-attach@mail.acme.example>"])["fields"]["attachment"]
    assert sorted(a["filename"] for a in attached) == [
        "attachment-3.png",
        "cennik-2027.pdf",
        "prices.csv",
    ]
    pdf = next(a for a in attached if a["filename"] == "cennik-2027.pdf")
    assert sandbox.attachment(pdf["id"]).startswith(b"%PDF-1.4")

    # The board has the new tickets at once, marked as from e-mail.
    with Session(cache) as session:
        ticket = session.get(Ticket, keys["<CAKq1-req1@mail.acme.example>"])
    assert ticket is not None and "triage-email" in ticket.labels

    # A second look and a second push change nothing.
    mailbox = open_mailbox(settings)
    try:
        again = Intake(cache, settings, mailbox).run_once()
    finally:
        mailbox.close()
    assert (again.taken, again.already) == (0, 0)
    assert push(cache, settings, tracker).startswith("push: 0 done")
    assert set(tracker.keys('project = SUP AND labels = "triage-email"')) == in_jira


def test_a_taken_mail_moves_to_the_done_folder_when_one_is_set(
    imap: DovecotServer, box: str, settings: Settings, cache: Engine, tmp_path: Path
) -> None:
    deliver(imap, box, fixtures()[:2])
    moved = settings.model_copy(
        update={"intake": settings.intake.model_copy(update={"done_folder": "Triaged"})}
    )
    mailbox = open_mailbox(moved)
    try:
        assert Intake(cache, moved, mailbox).run_once().taken == 2
    finally:
        mailbox.close()
    assert len(list((imap.maildir(box) / ".Triaged" / "cur").iterdir())) == 2
    assert untaken(imap, box) == 0
