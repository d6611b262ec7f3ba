"""`triage intake --watch`: take mail, wait for more (IDLE where the server has it), again.

Every wait is bounded (the poll interval), a stop request from SIGINT/SIGTERM ends a wait
under way at once, and a lost connection is reopened with a growing, bounded delay, so the
service keeps running through a restart of the mail server.
"""

from __future__ import annotations

import imaplib
import threading
from collections.abc import Callable

from imap_tools.errors import ImapToolsError

from triage.core.intake.mailbox import Mailbox, MailboxError
from triage.core.intake.run import Intake, IntakeResult

RETRY_FIRST_S = 1.0
RETRY_MAX_S = 60.0
CONNECTION_ERRORS = (OSError, imaplib.IMAP4.error, ImapToolsError, MailboxError)


class StopWaiting(Exception):  # noqa: N818 - a signal to stop, not an error
    """Raised inside a wait by the stop request, so a long IDLE ends at once."""


class Stopper:
    """A stop request from a signal: it sets the event, and ends a wait that is under way."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.waiting = False

    def request(self, *_: object) -> None:
        """Ask the watch to stop (usable as a signal handler)."""
        self.event.set()
        if self.waiting:
            self.waiting = False
            raise StopWaiting

    def wait(self, mailbox: Mailbox, timeout: float) -> None:
        """Wait on the mailbox for at most `timeout` seconds, unless a stop comes first."""
        if self.event.is_set():
            return
        self.waiting = True
        try:
            mailbox.wait(timeout)
        except StopWaiting:
            pass
        finally:
            self.waiting = False

    def pause(self, seconds: float) -> None:
        """Sleep at most `seconds`, less if a stop comes."""
        self.event.wait(seconds)


def watch(
    intake: Intake,
    stopper: Stopper,
    report: Callable[[IntakeResult], None],
    *,
    reopen: Callable[[], Mailbox] | None = None,
    problem: Callable[[str], None] = lambda line: None,
    rounds: int | None = None,
) -> IntakeResult:
    """Take mail and wait, until stopped or `rounds` looks are done; the counts of them all.

    With `reopen`, a lost mailbox connection is reported to `problem` and opened again.
    """
    total = IntakeResult()
    done = 0
    delay = RETRY_FIRST_S
    while not stopper.event.is_set() and (rounds is None or done < rounds):
        try:
            result = intake.run_once()
            total.add(result)
            report(result)
            done += 1
            if rounds is not None and done >= rounds:
                break
            stopper.wait(intake.mailbox, intake.settings.intake.poll_seconds)
            delay = RETRY_FIRST_S
        except CONNECTION_ERRORS as error:
            if reopen is None:
                raise
            problem(f"intake: the mailbox is unreachable ({error}); trying again in {delay:.0f} s")
            intake.mailbox.close()
            stopper.pause(delay)
            delay = min(delay * 2, RETRY_MAX_S)
            if not stopper.event.is_set():
                try:
                    intake.mailbox = reopen()
                except CONNECTION_ERRORS:
                    continue
    return total
