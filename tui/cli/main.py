"""The `triage` command line: the board, the demo, Jira sync, and commands for scripts.

Every mistake a user can make ends in one sentence on stderr and exit status 2.

The parser is built from every command module (`tui/cli/<group>.py`: `add_parsers` and
`COMMANDS`), so `triage --help` imports them all. The rule that keeps it fast: a command
module imports at its top only the standard library, `tui.cli.common` and
`storage.errors`/`storage.columns` (no SQLAlchemy, SQLModel, pydantic, Textual, Docker,
`jira` or httpx); everything heavy is imported inside the `run_*` functions, and names
needed only for annotations sit under `if TYPE_CHECKING:`. The settings are loaded only
after parsing. `tests/unit/test_cli_imports.py` checks it in a fresh interpreter.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from triage.storage.errors import TriageError
from triage.tui.cli import board as cli_board
from triage.tui.cli import demo as cli_demo
from triage.tui.cli import health as cli_health
from triage.tui.cli import intake as cli_intake
from triage.tui.cli import jira as cli_jira
from triage.tui.cli import queue as cli_queue
from triage.tui.cli import review as cli_review
from triage.tui.cli import security as cli_security
from triage.tui.cli import sites as cli_sites
from triage.tui.cli.common import EXIT_USAGE, Parser

if TYPE_CHECKING:
    from triage.core.config import Settings

Command = Callable[[argparse.Namespace, "Settings"], int]

COMMANDS: dict[str, Command] = {
    "board": cli_board.run_board,
    "ls": cli_board.run_ls,
    "config": cli_board.run_config,
    **cli_demo.COMMANDS,
    **cli_jira.COMMANDS,
    **cli_sites.COMMANDS,
    **cli_queue.COMMANDS,
    **cli_health.COMMANDS,
    **cli_intake.COMMANDS,
    **cli_security.COMMANDS,
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
    cli_queue.add_parsers(sub)
    cli_health.add_parsers(sub)
    cli_intake.add_parsers(sub)
    cli_security.add_parsers(sub)
    cli_review.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run `triage`; returns the exit status."""
    # Starting up makes hardly any cyclic garbage, and collecting it cost ~12% of the start:
    # the collector waits for the settings, or for the board's first frame (settle_heap).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _run(build_parser().parse_args(argv), collecting)
    finally:
        if collecting:
            gc.enable()


def _run(args: argparse.Namespace, collecting: bool) -> int:
    command = args.command or "board"
    try:
        from triage.core.config import load_settings

        settings = load_settings()
        if collecting and command != "board":
            gc.enable()
        return COMMANDS[command](args, settings)
    except TriageError as error:
        # A message may quote Jira or a URL: one line, no terminal control, no credential.
        from triage.core.redact import mask
        from triage.tui.safe_text import line

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
