"""Budgets: launch to the first ticket in ≤ 2× a bare Textual app; `triage --help` ≤ 120 ms.

Everything runs in one go, each measurement beside its baseline:

- **launch**: `triage` (the installed command, a fresh process) in a real terminal, tmux at
  160×48, on a warm cache of N tickets; the clock runs from spawning tmux until the first
  ticket's key is on the screen (`tmux capture-pane`, polled every few milliseconds). The
  baseline is a bare Textual app that shows one line, measured the same way.
- **--help**: `triage --help` to its exit, against a bare `python -c pass`.
- **ls**: `triage ls` on the cache to its exit, against `python -c pass` plus the query
  itself (the tickets and the waiting changes, read in a warm process).
- **launch CPU**: on a busy machine wall time swings; the CPU time a fresh process spends
  until its first painted frame (headless, `time.process_time()`) swings far less. Measured
  for Triage and the bare app alike; the Triage child also counts socket connects made
  before that frame, which must be 0.

Runs alternate between Triage and its baseline so that both see the same machine load.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import demo_cache, median_ms

from triage.core.board.service import Board
from triage.storage.queries import list_tickets, pending_changes

BIN = Path(sys.executable).parent
SOCKET = f"triage-bench-{os.getpid()}"
POLL_S = 0.003
CPU_CHILD = r"""
import socket, sys, time
import textual._compositor as compositor
connects = []
_connect = socket.socket.connect
def _spy(self, address):
    connects.append(address)
    return _connect(self, address)
socket.socket.connect = _spy
painted = []
_render = compositor.Compositor.render_update
def _timed(self, *args, **kwargs):
    result = _render(self, *args, **kwargs)
    if not painted and self.size.area and ready():
        painted.append(time.process_time())
        app.exit()
    return result
compositor.Compositor.render_update = _timed
if {bare!r}:
    from textual.app import App
    from textual.widgets import Static
    class Bare(App):
        def compose(self):
            yield Static("hello BARE-1")
    app = Bare()
    ready = lambda: True
    app.run(headless=True, size=(160, 48))
else:
    # textual.app is imported by both children; Triage's own imports happen in main().
    from textual.app import App
    _run = App.run
    def _headless(self, *args, **kwargs):
        global app
        app = self
        return _run(self, headless=True, size=(160, 48))
    App.run = _headless
    def ready():
        screen = getattr(app, "board_screen", None)
        return screen is not None and screen.data.total > 0
    from triage.tui.cli import main
    main.main([])
print("cpu", painted[0], "connects", len(connects))
"""

BARE_APP = """
from textual.app import App
from textual.widgets import Static

class Bare(App):
    def compose(self):
        yield Static("hello BARE-1")

Bare().run()
"""


def tmux(*args: str) -> str:
    """Run tmux on the benchmark's own server (never the user's sessions)."""
    done = subprocess.run(
        ["tmux", "-L", SOCKET, *args], capture_output=True, text=True, timeout=30, check=False
    )
    return done.stdout


def until_shown(command: list[str], marker: str, env: dict[str, str]) -> float:
    """Seconds from spawning `command` in a 160×48 terminal until `marker` is on its screen."""
    name = f"run{time.monotonic_ns()}"
    pairs = [part for key, value in env.items() for part in ("-e", f"{key}={value}")]
    start = time.perf_counter()
    tmux("new-session", "-d", "-s", name, "-x", "160", "-y", "48", *pairs, *command)
    try:
        while time.perf_counter() - start < 30:
            if marker in tmux("capture-pane", "-p", "-t", name):
                return time.perf_counter() - start
            time.sleep(POLL_S)
        screen = tmux("capture-pane", "-p", "-t", name)
        raise RuntimeError(f"{marker!r} never appeared on the screen of {command}:\n{screen}")
    finally:
        tmux("kill-session", "-t", name)


def to_exit(command: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning `command` until it exits (status 0)."""
    start = time.perf_counter()
    subprocess.run(
        command, env={**os.environ, **env}, stdout=subprocess.DEVNULL, timeout=60, check=True
    )
    return time.perf_counter() - start


def cpu_to_frame(bare: bool, env: dict[str, str]) -> tuple[float, int]:
    """CPU seconds a fresh process spends until its first frame (headless), and its connects."""
    done = subprocess.run(
        [sys.executable, "-c", CPU_CHILD.format(bare=bare)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    words = done.stdout.split()
    return float(words[words.index("cpu") + 1]), int(words[words.index("connects") + 1])


def paired(runs: int, ours: Callable[[], float], base: Callable[[], float]) -> tuple[float, float]:
    """Medians (ms) of `runs` alternating samples of ours and the baseline, after a warm-up."""
    ours(), base()
    mine, theirs = [], []
    for _ in range(runs):
        mine.append(ours())
        theirs.append(base())
    return median_ms(mine), median_ms(theirs)


def query_s(board: Board) -> float:
    """Seconds `triage ls` spends on its query in a warm process."""
    from sqlmodel import Session

    start = time.perf_counter()
    list_tickets(board.engine, None, None)
    with Session(board.engine) as session:
        pending_changes(session)
    return time.perf_counter() - start


def bench_cache(tickets: int, runs: int, bare_script: Path, check_ls: bool) -> None:
    """Launch (and `ls`) on a cache of `tickets`, each beside its baseline."""
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        board = demo_cache(data_dir, tickets)
        data = board.load()
        first = next(cards[0] for cards in data.columns.values() if cards)
        env = {"TRIAGE_CONFIG": str(data_dir / "absent.toml"), "TRIAGE_DATA_DIR": str(data_dir)}
        triage, bare = paired(
            runs,
            lambda: until_shown([str(BIN / "triage")], first.key, env),
            lambda: until_shown([sys.executable, str(bare_script)], "BARE-1", env),
        )
        print(f"launch to first ticket on screen, tmux 160x48, {tickets:,} cached tickets")
        print(f"  triage {triage:7.1f} ms   bare Textual app {bare:7.1f} ms   ", end="")
        print(f"ratio {triage / bare:.2f}x (aim ≤ {2.0 if tickets < 1000 else 2.2}x)")
        connects: list[int] = []

        def ours_cpu() -> float:
            seconds, count = cpu_to_frame(False, env)
            connects.append(count)
            return seconds

        triage_cpu, bare_cpu = paired(runs, ours_cpu, lambda: cpu_to_frame(True, env)[0])
        print(f"  CPU to first frame (headless): triage {triage_cpu:6.1f} ms   ", end="")
        print(f"bare {bare_cpu:6.1f} ms   ratio {triage_cpu / bare_cpu:.2f}x   ", end="")
        print(f"network connects before it: {sum(connects)}")
        if check_ls:
            ls, bare_py = paired(
                runs,
                lambda: to_exit([str(BIN / "triage"), "ls"], env),
                lambda: to_exit([sys.executable, "-c", "pass"], {}),
            )
            query = median_ms([query_s(board) for _ in range(runs)])
            print(f"triage ls, {tickets:,} cached tickets")
            print(f"  triage ls {ls:7.1f} ms   python -c pass {bare_py:6.1f} ms   ", end="")
            print(f"query {query:6.1f} ms   ratio to pass + query {ls / (bare_py + query):.2f}x")
        board.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, nargs="+", default=[364, 20_000])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        bare_script = Path(folder) / "bare.py"
        bare_script.write_text(BARE_APP, encoding="utf-8")
        # An idle session keeps the benchmark's tmux server up between runs: a server that
        # exits with its last session races with the next run's new-session.
        tmux("new-session", "-d", "-s", "keep", "-x", "160", "-y", "48", "sleep", "3600")
        try:
            for index, tickets in enumerate(args.tickets):
                bench_cache(tickets, args.runs, bare_script, check_ls=index == 0)
        finally:
            tmux("kill-server")
    help_ms, pass_ms = paired(
        args.runs,
        lambda: to_exit([str(BIN / "triage"), "--help"], {}),
        lambda: to_exit([sys.executable, "-c", "pass"], {}),
    )
    print("triage --help")
    print(f"  triage --help {help_ms:6.1f} ms (aim ≤ 120 ms)   python -c pass {pass_ms:6.1f} ms   ")
    print(f"  ratio {help_ms / pass_ms:.2f}x")


if __name__ == "__main__":
    main()
