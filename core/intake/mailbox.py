"""The mailbox adapters: IMAP through `imap-tools`, or a Maildir, behind one small interface.

A mail stays on the server until intake has recorded it; only then is it marked taken
(the `TriageTaken` keyword, or a move to the done folder), so a crash in between leaves it
to be seen again and skipped by its recorded Message-ID.

Exceptions::

    MailboxError          from core.errors.TriageError; the message says what to do
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from imap_tools import AND, MailBox, MailBoxUnencrypted, MailMessage
from imap_tools.errors import MailboxLoginError

from triage.core.config import Settings
from triage.core.errors import ConfigError
from triage.storage.errors import TriageError

TAKEN_KEYWORD = "TriageTaken"
KEYRING_SERVICE = "triage-intake"
PASSWORD_ENV = "TRIAGE_INTAKE_PASSWORD"
FETCH_BULK = 100


class MailboxError(TriageError):
    """The mailbox could not be read or changed."""


@dataclass(frozen=True)
class RawMail:
    """One mail as the mailbox holds it: its id there, and its bytes."""

    uid: str
    data: bytes


class Mailbox(Protocol):
    """What intake needs of a mailbox."""

    def unread(self) -> Iterator[RawMail]: ...
    def mark_taken(self, uids: list[str]) -> None: ...
    def wait(self, timeout: float) -> None: ...
    def close(self) -> None: ...


class _RawMessage(MailMessage):
    """A fetched mail that keeps its bytes and skips parsing (intake parses it itself)."""

    def __init__(self, fetch_data: list[Any]) -> None:
        raw, uid, flags = self._get_message_data_parts(fetch_data)
        self._raw_uid_data = uid
        self._raw_flag_data = flags
        self.raw: bytes = raw


class MaildirMailbox:
    """A Maildir: mails in new/, or in cur/ without the S flag, are new; taking one moves it
    to cur/ with the S flag (one rename, as mail clients do)."""

    def __init__(self, path: Path) -> None:
        if not (path / "cur").is_dir() or not (path / "new").is_dir():
            raise ConfigError(f"{path} is not a Maildir (no cur/ or new/): fix intake.maildir")
        self.path = path

    def unread(self) -> Iterator[RawMail]:
        """Every mail not yet taken, in file-name (delivery) order."""
        found = [f"new/{name}" for name in os.listdir(self.path / "new")]
        for name in os.listdir(self.path / "cur"):
            _, _, info = name.partition(":2,")
            if "S" not in info:
                found.append(f"cur/{name}")
        for uid in sorted(found, key=lambda u: u[4:]):
            try:
                yield RawMail(uid, (self.path / uid).read_bytes())
            except FileNotFoundError:
                continue  # taken by another reader meanwhile

    def mark_taken(self, uids: list[str]) -> None:
        """Move each mail to cur/ with the S (seen) flag added."""
        for uid in uids:
            base, _, flags = uid[4:].partition(":2,")
            new_flags = "".join(sorted(set(flags) | {"S"}))
            try:
                os.rename(self.path / uid, self.path / "cur" / f"{base}:2,{new_flags}")
            except FileNotFoundError:
                continue

    def wait(self, timeout: float) -> None:
        """A Maildir has no push: just let the time pass (the caller bounds it)."""
        time.sleep(timeout)

    def close(self) -> None:
        """Nothing to release."""


class ImapMailbox:
    """An IMAP folder; taken mails get the TriageTaken keyword or move to the done folder."""

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        password: str,
        *,
        folder: str = "INBOX",
        ssl: bool = True,
        done_folder: str = "",
        timeout: float = 30.0,
    ) -> None:
        self.done_folder = done_folder
        try:
            client = (MailBox if ssl else MailBoxUnencrypted)(host, port, timeout=timeout)
            client.email_message_class = _RawMessage
            self.client = client.login(user, password, initial_folder=folder)
        except MailboxLoginError:
            raise MailboxError(
                f"the IMAP server {host} refused user {user!r}: check intake.user and "
                f"{PASSWORD_ENV} (or the keyring entry)"
            ) from None
        except OSError as error:
            raise MailboxError(
                f"the IMAP server {host}:{port} is not reachable ({error}): "
                "check intake.host, intake.port and intake.ssl"
            ) from None
        if done_folder and not self.client.folder.exists(done_folder):
            self.client.folder.create(done_folder)

    def unread(self) -> Iterator[RawMail]:
        """Every mail without the keyword, oldest first, read in bulk without marking seen."""
        for message in self.client.fetch(
            AND(no_keyword=TAKEN_KEYWORD), mark_seen=False, bulk=FETCH_BULK
        ):
            assert isinstance(message, _RawMessage)
            if message.uid is not None:
                yield RawMail(message.uid, message.raw)

    def mark_taken(self, uids: list[str]) -> None:
        """Set the keyword, then move to the done folder if there is one."""
        if not uids:
            return
        self.client.flag(uids, TAKEN_KEYWORD, True)
        if self.done_folder:
            self.client.move(uids, self.done_folder)

    def supports_idle(self) -> bool:
        """Whether the server announces IDLE."""
        return "IDLE" in self.client.client.capabilities

    def wait(self, timeout: float) -> None:
        """Wait for the server to announce a change (IDLE) or `timeout` seconds."""
        if self.supports_idle():
            self.client.idle.wait(timeout=timeout)
        else:
            time.sleep(timeout)
            self.client.client.noop()

    def close(self) -> None:
        """Log out, ignoring a connection that is already gone."""
        try:
            self.client.logout()
        except Exception:  # noqa: BLE001 - closing must not hide the real error
            pass


def password(settings: Settings) -> str | None:
    """The IMAP password: TRIAGE_INTAKE_PASSWORD, else the OS keyring."""
    given = os.environ.get(PASSWORD_ENV)
    if given:
        return given
    try:
        import keyring
        from keyring.errors import KeyringError

        found: str | None = keyring.get_password(
            KEYRING_SERVICE, f"{settings.intake.host}|{settings.intake.user}"
        )
        return found
    except (ImportError, KeyringError, RuntimeError):
        return None


def open_mailbox(settings: Settings) -> ImapMailbox | MaildirMailbox:
    """The configured mailbox: the Maildir if set, else IMAP; ConfigError says what is missing."""
    intake = settings.intake
    if intake.maildir is not None:
        return MaildirMailbox(intake.maildir.expanduser())
    if not intake.host or not intake.user:
        raise ConfigError(
            "no mailbox is configured: set [intake] host and user (or maildir) in the config file"
        )
    secret = password(settings)
    if not secret:
        raise ConfigError(
            f"no IMAP password for {intake.user} on {intake.host}: set {PASSWORD_ENV} "
            f"or store it in the keyring (service {KEYRING_SERVICE!r})"
        )
    return ImapMailbox(
        intake.host,
        intake.port,
        intake.user,
        secret,
        folder=intake.folder,
        ssl=intake.ssl,
        done_folder=intake.done_folder,
    )
