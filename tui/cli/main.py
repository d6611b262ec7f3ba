"""The `triage` command line: the board, the demo, Jira sync, and commands for scripts.

Every mistake a user can make ends in one sentence on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from triage.core.config import Settings, load_settings
from triage.core.redact import mask
from triage.storage.errors import TriageError
from triage.tui.cli import board as cli_board
from triage.tui.cli import demo as cli_demo
from triage.tui.cli import jira as cli_jira
from triage.tui.cli import review as cli_review
from triage.tui.cli import sites as cli_sites
from triage.tui.cli.common import EXIT_USAGE, Parser
from triage.tui.safe_text import line

Command = Callable[[argparse.Namespace, Settings], int]

COMMANDS: dict[str, Command] = {
    "board": cli_board.run_board,
    "ls": cli_board.run_ls,
    "config": cli_board.run_config,
    **cli_demo.COMMANDS,
    **cli_jira.COMMANDS,
    **cli_sites.COMMANDS,
    **cli_review.COMMANDS,
}


def build_parser() -> argparse.ArgumentParser:
    """The parser of every `triage` command."""
    parser = Parser(
        prog="triage",
        description="The support team's kanban over a local Jira cache. "
        "With no command, opens the board on the cache.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    cli_board.add_parsers(sub)
    cli_demo.add_parsers(sub)
    cli_jira.add_parsers(sub)
    cli_sites.add_parsers(sub)
    cli_review.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `triage`; returns the exit status."""
    args = build_parser().parse_args(argv)
    command = args.command or "board"
    try:
        settings = load_settings()
        return COMMANDS[command](args, settings)
    except TriageError as error:
        # A message may quote Jira or a URL: one line, no terminal control, no credential.
        print(f"triage: {line(mask(str(error)))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `triage ls | head`: the reader left; say nothing more.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return 0


if __name__ == "__main__":
    sys.exit(main())
