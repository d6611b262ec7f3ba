"""One raw mail read into the parts intake needs: ids, sender, subject, text, attachments.

Everything taken from a mail is data: control characters (and bidi overrides) are stripped
from every string, so nothing a sender writes can steer a terminal or hide text.
"""

from __future__ import annotations

import email
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message, MIMEPart
from email.utils import getaddresses, parsedate_to_datetime

from triage.core.intake.html_text import html_to_text
from triage.core.text import clean_block
from triage.storage.errors import TriageError

_MSG_ID = re.compile(r"<[^<>\s]+>")
PRIORITIES = {"1": "Highest", "2": "High", "3": "Medium", "4": "Low", "5": "Lowest"}
IMPORTANCE = {"high": "High", "low": "Low"}
BULK = ("bulk", "list", "junk")


class Unparseable(TriageError):
    """A mail intake cannot read; it is kept with this reason."""


def clean(text: str) -> str:
    """`text` with line breaks as newlines, terminal control removed (tabs and newlines stay)."""
    return clean_block(text)


def clean_line(text: str) -> str:
    """`text` as one line: whitespace runs as one space, terminal control removed."""
    return " ".join(clean_block(text).split())


@dataclass
class Attachment:
    """A file sent with a mail, inline images included."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class ParsedMail:
    """What intake reads from one mail."""

    message_id: str
    subject: str = ""
    sender: str = ""
    """The sender's address, lower case."""
    sender_name: str = ""
    date: datetime | None = None
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    text: str = ""
    priority: str | None = None
    auto: str | None = None
    """Why this is an auto-reply or bulk mail, or None for a mail a person wrote."""
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def domain(self) -> str:
        """The sender's mail domain."""
        return self.sender.rpartition("@")[2]

    @property
    def thread_ids(self) -> list[str]:
        """The Message-IDs this mail answers, nearest first."""
        return [*self.in_reply_to, *reversed(self.references)]


def fallback_id(raw: bytes) -> str:
    """A stable Message-ID for a mail that has none: a digest of its bytes."""
    return f"<{hashlib.sha256(raw).hexdigest()[:32]}@triage.invalid>"


def message_id_of(raw: bytes) -> str:
    """The mail's Message-ID as written (headers only are read), or a digest of its bytes."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    try:
        header = email.message_from_bytes(head, policy=policy.compat32).get("Message-ID")
    except Exception:  # noqa: BLE001 - any failure means: no usable id
        header = None
    found = _MSG_ID.search(str(header or ""))
    return clean_line(found.group(0))[:255] if found else fallback_id(raw)


def parse(raw: bytes) -> ParsedMail:
    """Read a mail; Unparseable says why intake cannot take it."""
    try:
        message = email.message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        return _read(raw, message)
    except Unparseable:
        raise
    except Exception as error:  # noqa: BLE001 - a broken mail is kept, never a crash
        raise Unparseable(f"the mail could not be read ({type(error).__name__}: {error})") from None


def _read(raw: bytes, message: EmailMessage) -> ParsedMail:
    if not message.keys():
        raise Unparseable("the mail has no headers")
    addresses = getaddresses([str(v) for v in message.get_all("From", [])])
    name, address = next(((n, a) for n, a in addresses if "@" in a), ("", ""))
    if not address:
        raise Unparseable("the mail has no sender address (From)")
    mail = ParsedMail(
        message_id=message_id_of(raw),
        subject=clean_line(str(message.get("Subject", ""))),
        sender=clean_line(address).lower(),
        sender_name=clean_line(name),
        date=_date(message),
        in_reply_to=_ids(message.get("In-Reply-To")),
        references=_ids(message.get("References")),
        priority=_priority(message),
        auto=_auto(message),
    )
    mail.text = clean(_body_text(message)).strip()
    mail.attachments = _attachments(message)
    return mail


def _ids(header: object) -> list[str]:
    return [clean_line(found) for found in _MSG_ID.findall(str(header or ""))]


def _date(message: Message) -> datetime | None:
    try:
        when = parsedate_to_datetime(str(message.get("Date", "")))
    except (TypeError, ValueError):
        return None
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def _priority(message: Message) -> str | None:
    x_priority = str(message.get("X-Priority", "")).strip()[:1]
    if x_priority in PRIORITIES:
        return PRIORITIES[x_priority]
    return IMPORTANCE.get(str(message.get("Importance", "")).strip().lower())


def _auto(message: Message) -> str | None:
    submitted = str(message.get("Auto-Submitted", "")).split(";")[0].strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"
    precedence = str(message.get("Precedence", "")).strip().lower()
    if precedence in BULK:
        return f"Precedence: {precedence}"
    for header in ("X-Autoreply", "X-Autorespond"):
        if message.get(header):
            return f"{header}: {clean_line(str(message.get(header)))}"
    return None


def _body_text(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return ""
    text = _content(body)
    return html_to_text(text) if body.get_content_subtype() == "html" else text


def _content(part: Message) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except (LookupError, UnicodeError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    return content if isinstance(content, str) else ""


def _attachments(message: EmailMessage) -> list[Attachment]:
    found: list[Attachment] = []
    parts: list[Message] = list(message.iter_attachments())
    # Inline images sit inside multipart/related, where iter_attachments does not look.
    for related in (p for p in message.walk() if p.get_content_type() == "multipart/related"):
        assert isinstance(related, MIMEPart)
        body = related.get_body(preferencelist=("html", "plain"))
        parts.extend(p for p in related.iter_parts() if p is not body and p not in parts)
    for number, part in enumerate(parts, start=1):
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload(0)
            data = inner.as_bytes() if isinstance(inner, Message) else b""
        else:
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
        name = clean_line(part.get_filename() or "").replace("/", "_").replace("\\", "_")
        if not name:
            name = f"attachment-{number}{mimetypes.guess_extension(kind) or '.bin'}"
        found.append(Attachment(name[:200], kind, data))
    return found
