"""Jira from the command line: login, doctor, sync, and changes through the outbox."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import TYPE_CHECKING

from triage.storage.errors import TriageError
from triage.tui.cli.common import Subparsers, column_arg

if TYPE_CHECKING:  # the parser imports this module: heavy imports live in the commands
    from sqlalchemy.engine import Engine

    from triage.core.config import Settings
    from triage.core.tracker.client import JiraTracker

EXIT_PROBLEMS = 1
RESOLUTIONS = ("retry", "discard", "accept-remote")
"""The values of `core.tracker.push.Resolution`, spelled here to keep the parser light."""


def add_parsers(sub: Subparsers) -> None:
    """The Jira commands."""
    sub.add_parser("login", help="store the Jira token in the OS keyring (asks for it)")
    sub.add_parser("doctor", help="check the Jira connection, fields and status mapping")
    sync = sub.add_parser("sync", help="bring the cache up to date with Jira, then push")
    sync.add_argument("--full", action="store_true", help="fetch everything, not only changes")
    sync.add_argument(
        "--allow-deletes",
        action="store_true",
        help="delete what Jira no longer has even beyond sync.max_delete_share",
    )
    sub.add_parser("push", help="send the changes waiting in the outbox to Jira")
    move = sub.add_parser("move", help="move a ticket to a column (through the outbox)")
    move.add_argument("key", metavar="KEY")
    move.add_argument("column", type=column_arg, metavar="COLUMN")
    move.add_argument("--comment", help="why; Needs Work and Feedback/Impediment need one")
    move.add_argument("--override", metavar="REASON", help="move past a blocking rule, audited")
    comment = sub.add_parser("comment", help="comment on a ticket (through the outbox)")
    comment.add_argument("key", metavar="KEY")
    comment.add_argument("text", metavar="TEXT")
    resolve = sub.add_parser("resolve", help="settle a change in conflict with Jira")
    resolve.add_argument("change", type=int, metavar="ID", help="the change's id (`triage ls`)")
    resolve.add_argument("how", choices=RESOLUTIONS)


def jira_for(settings: Settings) -> tuple[Settings, Engine, JiraTracker]:
    """The cache, and the Jira it mirrors: a demo cache reaches the demo running on it."""
    from triage.core.demo_run import jira_for_cache
    from triage.core.tracker import account
    from triage.storage.db import open_cache

    engine = open_cache(settings.resolved_database_url())
    settings, demo = jira_for_cache(settings, engine)
    return settings, engine, demo.tracker() if demo else account.connect(settings)


def run_login(args: argparse.Namespace, settings: Settings) -> int:
    """Ask for the token, check it against Jira, keep it in the keyring."""
    from triage.core.redact import mask
    from triage.core.tracker import account, identity
    from triage.core.tracker.client import Credentials, JiraTracker
    from triage.storage.db import open_cache
    from triage.tui.safe_text import line

    if not settings.jira.url:
        raise TriageError("set [jira] url (and user, for Cloud) in the config file first")
    where = line(mask(settings.jira.url))
    prompt = f"API token for {line(settings.jira.user) or 'the token'} on {where}: "
    token = getpass.getpass(prompt).strip()
    if not token:
        raise TriageError("no token typed: run `triage login` again and paste the token")
    tracker = JiraTracker(Credentials(settings.jira.url, token, settings.jira.user))
    me = tracker.myself()
    account.store_token(settings, token)
    identity.remember(open_cache(settings.resolved_database_url()), settings, me)
    print(f"logged in as {line(str(me.get('displayName')))} on {where} ({tracker.flavour})")
    return 0


def run_doctor(args: argparse.Namespace, settings: Settings) -> int:
    """Check what can go wrong with a Jira workspace, one line each."""
    from sqlmodel import Session

    from triage.core.redact import mask
    from triage.core.tracker import identity
    from triage.core.tracker.mapping import StatusMapper, resolve_fields
    from triage.core.tracker.sync import base_jql
    from triage.storage import queries
    from triage.tui.safe_text import line

    problems = 0

    def check(ok: bool, good: str, bad: str) -> None:
        nonlocal problems
        problems += 0 if ok else 1
        # Status and field names are Jira's text: one line each, no terminal control.
        print(("  ok   " if ok else "  FIX  ") + line(good if ok else bad))

    settings, engine, tracker = jira_for(settings)
    print(f"Jira: {line(mask(settings.jira.url)) or '(none configured)'}")
    me = tracker.myself()
    identity.remember(engine, settings, me)
    check(
        True,
        f"logged in as {me.get('displayName')} ({tracker.flavour}, time zone {me.get('timeZone')})",
        "",
    )
    check(
        bool(settings.jira.projects or settings.jira.jql),
        f"mirrors {base_jql(settings)}",
        "no projects or jql configured: set jira.projects",
    )
    fields = resolve_fields(tracker.fields(), settings.jira.fields)
    check(
        not fields.unresolved,
        "custom fields resolved: "
        + ", ".join(
            f"{role}={value}"
            for role, value in fields.__dict__.items()
            if role != "unresolved" and value
        ),
        "custom fields not found in Jira: "
        + ", ".join(fields.unresolved)
        + " (fix [jira.fields] by name or id)",
    )
    mapper = StatusMapper(settings.jira.status_map)
    unmapped = sorted(
        {str(s["name"]) for s in tracker.statuses() if mapper.column(str(s["name"])) is None}
    )
    check(
        not unmapped,
        "every Jira status maps to a board column",
        "statuses that map to no column (add them to [jira.status_map]): " + ", ".join(unmapped),
    )
    with Session(engine) as session:
        waiting = queries.pending_changes(session)
    conflicts = sum(1 for entry in waiting if entry.state.value == "conflict")
    check(
        conflicts == 0,
        f"{len(waiting)} changes waiting for Jira, none in conflict",
        f"{conflicts} changes in conflict: settle them with `triage resolve ID HOW`",
    )
    return EXIT_PROBLEMS if problems else 0


def run_sync(args: argparse.Namespace, settings: Settings) -> int:
    """Sync the cache, then push the outbox; one summary line each."""
    from triage.core.redact import mask
    from triage.core.tracker.push import Pusher
    from triage.core.tracker.sync import Sync
    from triage.tui.cli.demo import _progress
    from triage.tui.safe_text import line

    settings, engine, tracker = jira_for(settings)
    pushed = Pusher(engine, settings, tracker).run()
    result = Sync(engine, settings, tracker, progress=_progress).run(
        full=args.full, allow_deletes=args.allow_deletes
    )
    print(file=sys.stderr)
    print(line(result.summary()))
    print(line(mask(pushed.summary())))
    return 0


def run_push(args: argparse.Namespace, settings: Settings) -> int:
    """Push the outbox; exit 1 when a change is in conflict or failed."""
    from triage.core.redact import mask
    from triage.core.tracker.push import Pusher
    from triage.tui.safe_text import line

    settings, engine, tracker = jira_for(settings)
    result = Pusher(engine, settings, tracker).run()
    print(line(mask(result.summary())))
    return EXIT_PROBLEMS if result.conflicts or result.failed else 0


def run_move(args: argparse.Namespace, settings: Settings) -> int:
    """Move a ticket by the workflow rules; the change waits in the outbox for `push`."""
    from triage.core.board.changes import MoveRefused
    from triage.core.board.service import Board
    from triage.storage.db import open_cache

    board = Board(open_cache(settings.resolved_database_url()), settings)
    try:
        card = board.move(
            args.key, args.column, comment=args.comment, override_reason=args.override
        )
    except MoveRefused as error:
        hint = ""
        if error.check.needs_comment and not args.comment:
            hint = ": add --comment TEXT"
        elif error.check.overridable:
            hint = "; to move it anyway, add --override REASON (recorded in the audit log)"
        raise TriageError(f"{error}{hint}") from None
    print(f"{card.key} → {args.column.value} (waiting in the outbox; `triage push` sends it)")
    return 0


def run_comment(args: argparse.Namespace, settings: Settings) -> int:
    """Comment on a ticket; the comment waits in the outbox for `push`."""
    from triage.core.board.service import Board
    from triage.storage.db import open_cache

    board = Board(open_cache(settings.resolved_database_url()), settings)
    card = board.comment(args.key, args.text)
    print(f"comment on {card.key} waiting in the outbox; `triage push` sends it")
    return 0


def run_resolve(args: argparse.Namespace, settings: Settings) -> int:
    """Settle a conflict: retry (move anyway), discard, or accept Jira's state."""
    from triage.core.board.service import Board
    from triage.core.tracker.push import Resolution
    from triage.storage.db import open_cache

    engine = open_cache(settings.resolved_database_url())
    how = Resolution(args.how)
    entry = Board(engine, settings).resolve(args.change, how)
    if how is Resolution.DISCARD and settings.jira.url:
        # The watermark has passed Jira's move: fetch the ticket again to show Jira's state.
        from triage.core.tracker.rounds import refetch_tickets

        settings, engine, tracker = jira_for(settings)
        refetch_tickets(engine, settings, tracker, [entry.ticket_key])
    print(f"change {entry.id} on {entry.ticket_key}: {entry.state.value}")
    return 0


COMMANDS = {
    "login": run_login,
    "doctor": run_doctor,
    "sync": run_sync,
    "push": run_push,
    "move": run_move,
    "comment": run_comment,
    "resolve": run_resolve,
}
