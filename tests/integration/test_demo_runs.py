"""The demo as a user runs it, again and again: in a real terminal (tmux), with other commands
working against its sandbox from a second terminal while it runs, and changes that wait for
the next demo after it quits."""

from __future__ import annotations

import base64
import json
import re
import shlex
import sqlite3
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_support import REPO, clean_env, one_line_error, triage

WAIT_S = 60.0
DEMO = ("demo", "--tickets", "60", "--seed", "5")


class Terminal:
    """One tmux server of its own, running one command in an 80×24 window."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.socket = str(root / "tmux.sock")
        self.env = env
        self.session = "t0"

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
        command = " ".join(
            shlex.quote(a) for a in (sys.executable, "-m", "triage.tui.cli.main", *args)
        )
        here = shlex.quote(str(REPO))
        script = f"cd {here} && env {variables} {command}; echo ended $?; sleep 600"
        self.session = f"t{int(self.session[1:]) + 1}"
        size = ("-x", str(width), "-y", str(height))
        self.tmux("new-session", "-d", "-s", self.session, *size, script)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.session)

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.session, *keys)

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

    terminal.start()  # plain `triage`
    screen = terminal.wait_for(" tickets ")
    assert " demo " in screen.splitlines()[0], screen
    terminal.keys("q")
    terminal.wait_for("ended 0")


def sandbox_status(run: dict[str, object], key: str) -> str:
    """The status the running demo's sandbox Jira holds for `key`, read over its REST API."""
    login = base64.b64encode(f"{run['user']}:{run['token']}".encode()).decode()
    request = urllib.request.Request(
        f"{run['url']}/rest/api/2/issue/{key}?fields=status",
        headers={"Authorization": f"Basic {login}"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - loopback
        return str(json.load(answer)["fields"]["status"]["name"])


def row(env: dict[str, str], key: str) -> dict[str, object]:
    listed = json.loads(triage(env, "ls", "--json").stdout)
    return next(r for r in listed if r["key"] == key)


def first_todo(env: dict[str, str]) -> str:
    return str(json.loads(triage(env, "ls", "--status", "to do", "--json").stdout)[0]["key"])


def test_doctor_sync_and_push_reach_the_running_demo(
    tmp_path: Path, env: dict[str, str], terminal: Terminal
) -> None:
    open_demo(terminal, tmp_path)
    run = run_file(tmp_path)
    assert run is not None, "the running demo says where its sandbox listens"
    assert (tmp_path / "data" / "demo-run.json").stat().st_mode & 0o077 == 0

    doctor = triage(env, "doctor")
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert str(run["url"]) in doctor.stdout

    key = first_todo(env)
    assert triage(env, "move", key, "in progress").returncode == 0
    pushed = triage(env, "push")
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.startswith("push: "), pushed.stdout
    assert sandbox_status(run, key) == "In Progress"

    synced = triage(env, "sync")
    assert synced.returncode == 0, synced.stderr
    assert meta(tmp_path, "workspace") == "demo"

    second = one_line_error(triage(env, "demo", "--no-open"))
    assert "already runs" in second, "two demos would fight over one cache"

    quit_demo(terminal)
    assert run_file(tmp_path) is None, "the demo takes its run file away when it quits"


def test_after_the_demo_quits_push_says_to_start_it(tmp_path: Path, env: dict[str, str]) -> None:
    assert triage(env, *DEMO, "--no-open").returncode == 0
    key = first_todo(env)
    assert triage(env, "move", key, "in progress").returncode == 0

    for command in ("push", "sync", "doctor"):
        line = one_line_error(triage(env, command))
        assert "triage demo" in line and "--reset" in line, line
    assert row(env, key)["pending"], "the change still waits"


def test_the_next_demo_pushes_what_waits_and_keeps_its_jira(
    tmp_path: Path, env: dict[str, str]
) -> None:
    assert triage(env, *DEMO, "--no-open").returncode == 0
    key = first_todo(env)
    assert triage(env, "move", key, "in progress").returncode == 0

    again = triage(env, "demo", "--no-open")  # the last demo's options by default
    assert again.returncode == 0, again.stderr
    assert re.search(r"left (\d+) change\(s\) waiting; push: \1 done", again.stdout), again.stdout
    assert "--reset" in again.stdout
    assert "60 issues" in again.stdout
    moved = row(env, key)
    assert (moved["column"], moved["pending"]) == ("In Progress", [])

    third = triage(env, "demo", "--no-open")
    assert third.returncode == 0, third.stderr
    assert "waiting" not in third.stdout
    assert row(env, key)["column"] == "In Progress", "the demo's Jira kept the move"


def test_reset_drops_what_waits(tmp_path: Path, env: dict[str, str]) -> None:
    assert triage(env, *DEMO, "--no-open").returncode == 0
    key = first_todo(env)
    assert triage(env, "move", key, "in progress").returncode == 0

    reset = triage(env, "demo", "--no-open", "--reset")
    assert reset.returncode == 0, reset.stderr
    assert re.search(r"dropped \d+ change\(s\)", reset.stdout), reset.stdout
    assert "60 issues" in reset.stdout, "the same agency, afresh"
    dropped = row(env, key)
    assert (dropped["column"], dropped["pending"]) == ("To Do", [])


def test_another_agency_with_changes_waiting_is_refused(
    tmp_path: Path, env: dict[str, str]
) -> None:
    assert triage(env, *DEMO, "--no-open").returncode == 0
    key = first_todo(env)
    assert triage(env, "move", key, "in progress").returncode == 0

    line = one_line_error(triage(env, "demo", "--no-open", "--seed", "6"))
    assert "--reset" in line and "--seed 5" in line, line
    assert row(env, key)["pending"], "nothing was dropped"
