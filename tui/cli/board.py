"""`triage`, `triage ls` and `triage config`: the board and the cache as scripts see it."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from triage.tui.cli.common import Subparsers, column_arg

if TYPE_CHECKING:  # the parser imports this module: heavy imports live in the commands
    from triage.core.config import Settings
    from triage.core.tracker.client import Tracker


def add_parsers(sub: Subparsers) -> None:
    """The board's commands."""
    sub.add_parser("board", help="open the board on the cache (the default)")
    ls = sub.add_parser("ls", help="print the cached tickets, with changes not yet in Jira")
    ls.add_argument("--status", type=column_arg, metavar="COLUMN", help="only this board column")
    ls.add_argument("--site", metavar="ID", help="only this site")
    ls.add_argument("--json", action="store_true", help="print JSON for scripts")
    sub.add_parser("config", help="show the config file, data directory and settings in force")


def tracker_factory(settings: Settings) -> Callable[[], Tracker] | None:
    """How the app reaches Jira: None when no server is configured (local only)."""
    if not settings.jira.url:
        return None
    from triage.core.tracker.account import connect

    return lambda: connect(settings)


def run_board(args: argparse.Namespace, settings: Settings) -> int:
    """Open the board on the cache; a demo cache syncs with its demo while one runs."""
    from triage.core.board.service import Board
    from triage.core.demo_run import is_demo, running_demo
    from triage.storage.db import open_cache
    from triage.tui.app import make_app

    engine = open_cache(settings.resolved_database_url())
    if is_demo(engine):
        demo = running_demo(settings.resolved_data_dir())
        if demo is None:  # local only: changes wait in the outbox for the next demo
            app = make_app(Board(engine, settings))
        else:
            app = make_app(Board(engine, demo.settings(settings)), demo.tracker)
    else:
        app = make_app(Board(engine, settings), tracker_factory(settings))
    app.run()
    # Textual has printed the traceback of a crash; the exit status must say so too.
    return app.return_code or 0


def run_ls(args: argparse.Namespace, settings: Settings) -> int:
    """Print the cached tickets, as a table or JSON."""
    from sqlmodel import Session

    from triage.core.board.service import Board
    from triage.core.redact import mask
    from triage.storage.db import open_cache
    from triage.storage.queries import list_tickets, pending_changes
    from triage.tui import safe_text
    from triage.tui.safe_text import line

    engine = open_cache(settings.resolved_database_url())
    tickets = list_tickets(engine, args.status, args.site)
    mine = Board(engine, settings).me.authors()
    with Session(engine) as session:
        waiting: dict[str, list[dict[str, object]]] = {}
        for entry in pending_changes(session):
            waiting.setdefault(entry.ticket_key, []).append(
                {
                    "id": entry.id,
                    "kind": entry.kind.value,
                    "state": entry.state.value,
                    "error": mask(entry.last_error) if entry.last_error else None,
                    "author": entry.author,
                    "mine": entry.author_id in mine,
                }
            )
    if args.json:
        rows = [
            {
                "key": t.key,
                "summary": t.summary,
                "column": t.column.value if t.column else None,
                "jira_status": t.jira_status,
                "site": t.site,
                "client": t.client,
                "assignee": t.assignee,
                "type": t.issue_type,
                "severity": t.severity,
                "updated": t.updated.isoformat(),
                "pending": waiting.get(t.key, []),
            }
            for t in tickets
        ]
        print(safe_text.json_dumps(rows))
        return 0
    for t in tickets:
        # Every field came from Jira: one line each, no terminal control, whatever it holds.
        column = t.column.value if t.column else f"({line(t.jira_status)})"
        print(
            f"{line(t.key):<10} {column:<20} {line(t.site) or '-':<18} "
            f"{line(t.assignee) or '-':<18} {line(t.summary)}"
        )
        for change in waiting.get(t.key, []):
            error = f": {line(str(change['error']))}" if change["error"] else ""
            if not change["mine"]:  # only its author's push sends it, under their account
                error += (
                    f", waiting for {line(str(change['author'] or '')) or 'its author'} to push"
                )
            print(f"{'':<10} change {change['id']}: {change['kind']} {change['state']}{error}")
    return 0


def run_config(args: argparse.Namespace, settings: Settings) -> int:
    """Show where the config and data live and the settings in force."""
    import json

    from triage.core import paths
    from triage.core.config import masked
    from triage.core.redact import mask

    path = paths.config_file()
    state = "" if path.exists() else " (not there; defaults in force)"
    print(f"config file:    {path}{state}")
    print(f"data directory: {settings.resolved_data_dir()}")
    print(f"cache:          {mask(settings.resolved_database_url())}")
    print("settings in force (secrets masked):")
    print(json.dumps(masked(settings), indent=2, ensure_ascii=False))
    return 0
