"""The `triage` command line: the board, the demo, and commands for scripts.

Every mistake a user can make ends in one sentence on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from core import paths
from core.board import Board
from core.config import Settings, load_settings, masked
from core.errors import TriageError
from storage.db import StorageError, open_cache, redact
from storage.models import BoardColumn, utcnow
from storage.queries import list_tickets, pending_changes

EXIT_USAGE = 2

Command = Callable[[argparse.Namespace, Settings], int]


class _Parser(argparse.ArgumentParser):
    """argparse whose mistakes are one line on stderr and exit status 2, like every other."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _column(text: str) -> BoardColumn:
    try:
        return BoardColumn.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    """The parser of every `triage` command."""
    parser = _Parser(
        prog="triage",
        description="The support team's kanban over a local Jira cache. "
        "With no command, opens the board on the cache.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("board", help="open the board on the cache (the default)")

    demo = sub.add_parser("demo", help="build a demo agency in the cache and open the board")
    demo.add_argument("--tickets", type=int, default=2000, help="how many tickets (default 2000)")
    demo.add_argument("--seed", type=int, default=0, help="random seed; same seed, same agency")
    demo.add_argument("--no-open", action="store_true", help="build the cache, do not open it")

    ls = sub.add_parser("ls", help="print the cached tickets")
    ls.add_argument("--status", type=_column, metavar="COLUMN", help="only this board column")
    ls.add_argument("--site", metavar="ID", help="only this site")
    ls.add_argument("--json", action="store_true", help="print JSON for scripts")

    sub.add_parser("config", help="show the config file, data directory and settings in force")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `triage`; returns the exit status."""
    args = build_parser().parse_args(argv)
    command = args.command or "board"
    try:
        settings = load_settings()
        return COMMANDS[command](args, settings)
    except (TriageError, StorageError) as error:
        print(f"triage: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `triage ls | head`: the reader left; say nothing more.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0


def _board(settings: Settings) -> Board:
    return Board(open_cache(settings.resolved_database_url()), settings)


def run_board(args: argparse.Namespace, settings: Settings) -> int:
    """Open the board on the cache."""
    from tui.app import make_app

    make_app(_board(settings)).run()
    return 0


def run_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Build the demo agency into the cache, then open the board."""
    from core.demo import ensure_demo_cache, load_demo
    from sandbox.agency import build_agency

    if args.tickets < 1:
        raise TriageError("--tickets must be at least 1: pass a positive number")
    board = _board(settings)
    ensure_demo_cache(board.engine)
    agency = build_agency(tickets=args.tickets, seed=args.seed, now=utcnow())
    count = load_demo(board.engine, settings, agency.issues, agency.fields, seed=args.seed)
    print(
        f"demo: {count:,} tickets of {len(agency.clients)} clients and {len(agency.sites)} sites "
        f"in {redact(settings.resolved_database_url())}"
    )
    if args.no_open:
        return 0
    from tui.app import make_app

    make_app(Board(board.engine, settings)).run()
    return 0


def run_ls(args: argparse.Namespace, settings: Settings) -> int:
    """Print the cached tickets, as a table or JSON."""
    from sqlmodel import Session

    engine = open_cache(settings.resolved_database_url())
    tickets = list_tickets(engine, args.status, args.site)
    with Session(engine) as session:
        waiting: dict[str, list[str]] = {}
        for entry in pending_changes(session):
            waiting.setdefault(entry.ticket_key, []).append(
                f"{entry.kind.value}:{entry.state.value}"
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
        json.dump(rows, sys.stdout, indent=2, ensure_ascii=False)
        print()
        return 0
    for t in tickets:
        column = t.column.value if t.column else f"({t.jira_status})"
        flag = " *" if t.key in waiting else ""
        print(
            f"{t.key:<10} {column:<20} {t.site or '-':<18} {(t.assignee or '-'):<18} "
            f"{t.summary}{flag}"
        )
    return 0


def run_config(args: argparse.Namespace, settings: Settings) -> int:
    """Show where the config and data live and the settings in force."""
    path = paths.config_file()
    state = "" if path.exists() else " (not there; defaults in force)"
    print(f"config file:    {path}{state}")
    print(f"data directory: {settings.resolved_data_dir()}")
    print(f"cache:          {redact(settings.resolved_database_url())}")
    print("settings in force (secrets masked):")
    print(json.dumps(masked(settings), indent=2, ensure_ascii=False))
    return 0


COMMANDS: dict[str, Command] = {
    "board": run_board,
    "demo": run_demo,
    "ls": run_ls,
    "config": run_config,
}


if __name__ == "__main__":
    sys.exit(main())
