"""The demo as a user runs it, again and again: in a real terminal (tmux), with other commands
working against its sandbox from a second terminal while it runs, and changes that wait for
the next demo after it quits."""

from __future__ import annotations

import json
import shlex
import sqlite3
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.test_cli import REPO, clean_env, triage

WAIT_S = 60.0
DEMO = ("demo", "--tickets", "60", "--seed", "5")


class Terminal:
    """One tmux server of its own, running one command in an 80×24 window."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.socket = str(root / "tmux.sock")
        self.env = env

    def tmux(self, *args: str) -> str:
        import subprocess

        done = subprocess.run(
            ["tmux", "-S", self.socket, *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout

    def start(self, *args: str, width: int = 80, height: int = 24) -> None:
        """Run `triage ARGS` in the window; when it ends, the shell says how."""
        variables = " ".join(f"{k}={shlex.quote(v)}" for k, v in self.env.items() if "TRIAGE" in k)
        command = " ".join(shlex.quote(a) for a in (sys.executable, "-m", "tui.cli", *args))
        here = shlex.quote(str(REPO))
        script = f"cd {here} && env {variables} {command}; echo ended $?; sleep 600"
        self.tmux("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), script)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    def wait_for(self, text: str) -> str:
        """The screen once it shows `text`; fails after WAIT_S with the screen it saw."""
        return wait_until(lambda: text in self.screen(), f"{text!r} on screen", self.screen)

    def close(self) -> None:
        try:
            self.tmux("kill-server")
        except Exception:  # noqa: BLE001 - already gone
            pass


def wait_until(ready: Callable[[], bool], what: str, seen: Callable[[], str] = lambda: "") -> str:
    """Poll `ready` until it holds, bounded by WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if ready():
            return seen()
        time.sleep(0.2)
    raise AssertionError(f"no {what} after {WAIT_S:.0f} s; last seen:\n{seen()}")


def meta(root: Path, key: str) -> str | None:
    connection = sqlite3.connect(root / "data" / "triage.db")
    try:
        row = connection.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    finally:
        connection.close()
    return None if row is None else str(row[0])


def run_file(root: Path) -> dict[str, object] | None:
    path = root / "data" / "demo-run.json"
    return json.loads(path.read_text()) if path.exists() else None


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return clean_env(tmp_path)


@pytest.fixture
def terminal(tmp_path: Path, env: dict[str, str]) -> Iterator[Terminal]:
    term = Terminal(tmp_path, env)
    try:
        yield term
    finally:
        term.close()


def open_demo(terminal: Terminal, root: Path, *args: str) -> None:
    """Start the demo in the terminal and wait for its board and its app's own sync."""
    terminal.start(*DEMO, *args)
    terminal.wait_for(" demo ")
    before = meta(root, "synced_at")
    terminal.keys("r")  # sync now, as the app does in the background every few minutes
    wait_until(lambda: meta(root, "synced_at") != before, "sync from the app", terminal.screen)


def quit_demo(terminal: Terminal) -> None:
    terminal.keys("q")
    terminal.wait_for("ended 0")


def test_demo_runs_again_after_its_app_synced(
    tmp_path: Path, env: dict[str, str], terminal: Terminal
) -> None:
    open_demo(terminal, tmp_path)
    quit_demo(terminal)
    assert meta(tmp_path, "workspace") == "demo"

    again = triage(env, *DEMO, "--no-open")
    assert again.returncode == 0, again.stderr
    assert "60 issues" in again.stdout


def test_triage_reopens_the_demo_as_the_demo(
    tmp_path: Path, env: dict[str, str], terminal: Terminal
) -> None:
    open_demo(terminal, tmp_path)
    quit_demo(terminal)
    terminal.close()

    terminal.start()  # plain `triage`
    screen = terminal.wait_for(" tickets ")
    assert " demo " in screen.splitlines()[0], screen
    terminal.keys("q")
    terminal.wait_for("ended 0")


def sandbox_status(run: dict[str, object], key: str) -> str:
    """The status the running demo's sandbox Jira holds for `key`, read over its REST API."""
    request = urllib.request.Request(
        f"{run['url']}/rest/api/2/issue/{key}?fields=status",
        headers={"Authorization": f"Bearer {run['token']}"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        return str(json.load(answer)["fields"]["status"]["name"])
