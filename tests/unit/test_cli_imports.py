"""`triage --help` stays light: building the parser imports no database, UI or network library.

The rule is in the docstring of `tui/cli/main.py`: command modules import the heavy libraries
inside their `run_*` functions. Checked in a fresh interpreter, by looking at `sys.modules`
after every command's `--help` has been printed.
"""

from __future__ import annotations

import gc
import json
import subprocess
import sys

import pytest

from triage.core.tracker.push import Resolution
from triage.tui.cli import jira as cli_jira
from triage.tui.cli.main import COMMANDS

#: Libraries the parser must not load: each costs tens of milliseconds or more to import.
HEAVY = ("sqlalchemy", "sqlmodel", "pydantic", "pydantic_settings", "textual", "docker")
HEAVY_NETWORK = ("jira", "httpx", "requests")

CHILD = r"""
import contextlib, io, json, sys
from triage.tui.cli.main import build_parser, main
printed = io.StringIO()
with contextlib.redirect_stdout(printed):
    for argv in [["--help"]] + [[name, "--help"] for name in json.loads(sys.argv[1])]:
        try:
            main(argv)
        except SystemExit as done:
            assert done.code == 0, (argv, done.code)
roots = sorted({name.split(".")[0] for name in sys.modules})
print(json.dumps({"roots": roots, "help": printed.getvalue()}))
"""


def loaded_by_help() -> tuple[set[str], str]:
    """The top-level modules a fresh interpreter holds after every `--help`, and the text."""
    result = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(sorted(COMMANDS))],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer = json.loads(result.stdout)
    return set(answer["roots"]), str(answer["help"])


def test_help_of_every_command_imports_no_heavy_library() -> None:
    roots, text = loaded_by_help()
    assert "usage: triage" in text
    for name in COMMANDS:
        assert f"usage: triage {name}" in text, name
    assert roots.isdisjoint(HEAVY + HEAVY_NETWORK), sorted(roots & {*HEAVY, *HEAVY_NETWORK})


def test_resolve_choices_are_the_resolutions() -> None:
    assert cli_jira.RESOLUTIONS == tuple(r.value for r in Resolution)


def test_the_collector_runs_again_after_triage_returns() -> None:
    from triage.tui.cli.main import main

    assert gc.isenabled()
    with pytest.raises(SystemExit):
        main(["--help"])
    assert gc.isenabled()
    with pytest.raises(SystemExit):
        main(["move", "KEY-1", "no such column"])
    assert gc.isenabled()
