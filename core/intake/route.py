"""Where a mail goes: skipped, a comment on the ticket it answers, or a new ticket.

A reply names its ticket by a key in the subject (`Re: [SUP-123] …`, the leftmost key of a
known project wins) or by its In-Reply-To/References pointing at a mail already taken.
Anything else from a person is a new request: the sender's domain says which client (and
sites) it is for, through `[intake.domains]`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal

from triage.core.config import IntakeClient, Settings
from triage.core.intake.mail import ParsedMail
from triage.core.intake.reply import strip_quoted
from triage.storage.intake import EMAIL_LABEL

SUMMARY_MAX = 255
DEDUPE_PREFIX = "triage-mail-"
UNKNOWN_SENDER_LABEL = "triage-email-unknown-sender"
_KEY = re.compile(r"(?<![A-Za-z0-9])([A-Za-z][A-Za-z0-9_]*)-(\d+)(?![A-Za-z0-9])")


@dataclass(frozen=True)
class Route:
    """What to do with one mail."""

    kind: Literal["skip", "comment", "ticket"]
    key: str | None = None
    reason: str = ""


def projects(settings: Settings) -> set[str]:
    """Project keys intake knows: the mirrored projects and the intake project."""
    known = {p.upper() for p in settings.jira.projects}
    if settings.intake.project:
        known.add(settings.intake.project.upper())
    return known


def subject_key(subject: str, known: set[str]) -> str | None:
    """The leftmost ticket key of a known project in a subject."""
    for found in _KEY.finditer(subject):
        project = found.group(1).upper()
        if project in known:
            return f"{project}-{found.group(2)}"
    return None


def route(mail: ParsedMail, known: set[str], thread_key: str | None) -> Route:
    """Skip it, comment on a ticket, or open a new one; `thread_key` is the thread's ticket."""
    if mail.auto:
        return Route("skip", reason=mail.auto)
    key = subject_key(mail.subject, known)
    if key:
        return Route("comment", key, f"subject names {key}")
    if thread_key:
        return Route("comment", thread_key, "answers a mail already taken")
    return Route("ticket", reason="a new request")


def client_of(domain: str, domains: dict[str, IntakeClient]) -> IntakeClient | None:
    """The client of a mail domain, subdomains included (mail.acme.example → acme.example)."""
    parts = domain.lower().split(".")
    lowered = {name.lower(): client for name, client in domains.items()}
    for start in range(len(parts) - 1):
        found = lowered.get(".".join(parts[start:]))
        if found is not None:
            return found
    return None


def dedupe_label(message_id: str) -> str:
    """The label that makes creating the ticket of this mail happen exactly once in Jira."""
    return DEDUPE_PREFIX + hashlib.sha256(message_id.encode()).hexdigest()[:20]


def sender_line(mail: ParsedMail) -> str:
    """`Name <address>`, or the address alone."""
    return f"{mail.sender_name} <{mail.sender}>" if mail.sender_name else mail.sender


def comment_body(mail: ParsedMail) -> str:
    """A reply as a comment: who wrote it, and only what they wrote this time."""
    text = strip_quoted(mail.text) if mail.text else "(no text)"
    return f"E-mail from {sender_line(mail)}:\n\n{text}"


def ticket_fields(mail: ParsedMail, settings: Settings) -> dict[str, Any]:
    """The new ticket's fields from a mail, as the create-issue outbox payload carries them."""
    intake = settings.intake
    project = intake.project or (settings.jira.projects[0] if settings.jira.projects else "")
    client = client_of(mail.domain, intake.domains)
    labels = [EMAIL_LABEL]
    footer = [f"Sent by {sender_line(mail)}"]
    if mail.date is not None:
        footer[0] += f" on {mail.date:%Y-%m-%d %H:%M} UTC"
    if client is None:
        labels.append(UNKNOWN_SENDER_LABEL)
        footer.append(f"Unknown sender domain {mail.domain!r}: add it to [intake.domains].")
    if mail.attachments:
        footer.append("Attached: " + ", ".join(a.filename for a in mail.attachments))
    summary = mail.subject or f"E-mail from {mail.sender}"
    description = (mail.text or "(no text)") + "\n\n---\n" + "\n".join(footer)
    fields: dict[str, Any] = {
        "project": project.upper(),
        "issuetype": intake.issue_type,
        "summary": summary[:SUMMARY_MAX],
        "description": description,
        "priority": mail.priority,
        "labels": labels,
        "client": client.client if client else None,
        "site": client.sites[0] if client and client.sites else None,
        "reporter_email": mail.sender,
    }
    return fields
