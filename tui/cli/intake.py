"""`triage intake`: support mail into tickets and comments, once or as a watching service."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import TYPE_CHECKING, Any

from triage.tui.cli.common import Subparsers

if TYPE_CHECKING:  # the parser imports this module: heavy imports live in the commands
    from sqlalchemy.engine import Engine

    from triage.core.config import Settings
    from triage.core.intake.run import IntakeResult
    from triage.core.tracker.push import Pusher


def add_parsers(sub: Subparsers) -> None:
    """The intake command."""
    intake = sub.add_parser(
        "intake", help="turn new support mail into tickets and comments (through the outbox)"
    )
    intake.add_argument(
        "--watch", action="store_true", help="keep taking mail (IDLE where the server has it)"
    )
    intake.add_argument(
        "--push", action="store_true", help="push the outbox to Jira after each look"
    )
    intake.add_argument(
        "--list-failed", action="store_true", help="list the mails that could not be read"
    )


def run_intake(args: argparse.Namespace, settings: Settings) -> int:
    """Take mail once, or keep taking it until SIGINT/SIGTERM; one summary line per look."""
    from triage.core.intake.run import Intake
    from triage.core.intake.watch import Stopper, watch
    from triage.storage.db import open_cache

    engine = open_cache(settings.resolved_database_url())
    if args.list_failed:
        return _list_failed(engine)
    from triage.core.intake.mailbox import open_mailbox

    intake = Intake(engine, settings, open_mailbox(settings))
    try:
        pusher = _pusher(engine, settings) if args.push else None

        def report(result: IntakeResult) -> None:
            if result.taken or result.already or not args.watch:
                print(result.summary(), flush=True)
            if pusher is not None:
                print(pusher.run().summary(), flush=True)

        if not args.watch:
            report(intake.run_once())
            return 0
        stopper = Stopper()
        previous = {
            sig: signal.signal(sig, stopper.request) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            print(f"intake: watching {_where(settings)}; Ctrl+C stops", file=sys.stderr, flush=True)
            total = watch(
                intake,
                stopper,
                report,
                reopen=lambda: open_mailbox(settings),
                problem=lambda line: print(line, file=sys.stderr, flush=True),
            )
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        print(f"intake stopped; in all: {total.summary()}", flush=True)
        return 0
    finally:
        intake.mailbox.close()


def _pusher(engine: Engine, settings: Settings) -> Pusher:
    from triage.core.tracker import account
    from triage.core.tracker.push import Pusher

    return Pusher(engine, settings, account.connect(settings))


def _where(settings: Settings) -> str:
    intake = settings.intake
    if intake.maildir is not None:
        return f"the Maildir {intake.maildir}"
    return f"{intake.folder} of {intake.user} on {intake.host}"


def _list_failed(engine: Engine) -> int:
    from sqlmodel import Session

    from triage.core.intake.mail import clean_line
    from triage.storage import intake as store

    with Session(engine) as session:
        failed = store.failed_mails(session)
    if not failed:
        print("no unreadable mails")
        return 0
    for mail in failed:
        size = len(mail.raw or b"")
        subject = clean_line(mail.subject) or "(no subject)"
        print(
            f"{mail.id:>5}  {mail.received:%Y-%m-%d %H:%M}  {clean_line(mail.message_id)}  "
            f"{subject}  [{size} bytes] {clean_line(mail.reason)}"
        )
    return 0


COMMANDS: dict[str, Any] = {"intake": run_intake}
