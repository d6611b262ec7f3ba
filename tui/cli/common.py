"""Pieces every `triage` command module shares: the argument types and the parser class."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, NoReturn

from triage.storage.columns import BoardColumn

EXIT_USAGE = 2

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[Any]
    """What `add_subparsers` returns, for the modules that add commands to it."""
else:
    Subparsers = argparse._SubParsersAction


class Parser(argparse.ArgumentParser):
    """argparse whose mistakes are one line on stderr and exit status 2, like every other."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def column_arg(text: str) -> BoardColumn:
    """A board column named on the command line."""
    try:
        return BoardColumn.parse(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
