"""`triage intake --watch` as a service: IDLE wakes it for new mail, SIGTERM/SIGINT stop it.

The poll interval is ten minutes, so a mail taken within the test's bounded wait was
announced by the server (IDLE), and a prompt exit shows the stop ends a wait under way.
A restart of the mail server is ridden out: the watch reconnects and goes on.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import intake_fixtures
import pytest
from dovecot import INSTALL_HINT, DovecotServer, find_dovecot
from intake_fixtures import PASSWORD, REPO, deliver, fixtures

imap = intake_fixtures.imap
box = intake_fixtures.box

WAIT_S = 30.0


def wait_for(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    pytest.fail(f"{what} did not happen within {WAIT_S} s")


def taken(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db, timeout=10) as connection:
        try:
            return int(connection.execute("SELECT count(*) FROM intake_mail").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


def start_watch(tmp_path: Path, port: int, user: str) -> tuple[subprocess.Popen[bytes], Path, Path]:
    """`triage intake --watch` on the user's mailbox, polling only every ten minutes."""
    config = tmp_path / "config.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\n'
        '[jira]\nprojects = ["SUP"]\n'
        f'[intake]\nhost = "127.0.0.1"\nport = {port}\nssl = false\nuser = "{user}"\n'
        "poll_seconds = 600\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env.update(TRIAGE_CONFIG=str(config), TRIAGE_INTAKE_PASSWORD=PASSWORD)
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "triage.tui.cli.main", "intake", "--watch"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
    return child, out, err


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_watch_takes_new_mail_as_it_arrives_and_stops_cleanly(
    imap: DovecotServer, box: str, tmp_path: Path, stop: signal.Signals
) -> None:
    db = tmp_path / "triage.db"
    child, out, err = start_watch(tmp_path, imap.port, box)
    try:
        wait_for(lambda: b"watching" in err.read_bytes(), "the watch start")
        first, second = fixtures()[:2]
        deliver(imap, box, [first])
        wait_for(lambda: taken(db) == 1, "taking the first mail")
        deliver(imap, box, [second])
        wait_for(lambda: taken(db) == 2, "taking the second mail")
        child.send_signal(stop)
        code = child.wait(timeout=WAIT_S)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
    assert code == 0, err.read_text()
    printed = out.read_text()
    assert "intake: 1 new tickets, 0 comments" in printed
    assert "intake: 0 new tickets, 1 comments" in printed
    assert "intake stopped; in all: intake: 1 new tickets, 1 comments" in printed


@pytest.fixture
def own_imap() -> Iterator[DovecotServer]:
    """A Dovecot of this test's own, which the test stops and starts again."""
    binary = find_dovecot()
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    server = DovecotServer(binary, {"restart": PASSWORD})
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_watch_rides_out_a_restart_of_the_mail_server(
    own_imap: DovecotServer, tmp_path: Path
) -> None:
    db = tmp_path / "triage.db"
    child, out, err = start_watch(tmp_path, own_imap.port, "restart")
    try:
        wait_for(lambda: b"watching" in err.read_bytes(), "the watch start")
        first, second = fixtures()[:2]
        deliver(own_imap, "restart", [first])
        wait_for(lambda: taken(db) == 1, "taking the first mail")
        own_imap.halt()
        wait_for(lambda: b"unreachable" in err.read_bytes(), "noticing the server is gone")
        own_imap.start()
        deliver(own_imap, "restart", [second])
        wait_for(lambda: taken(db) == 2, "taking the mail after the restart")
        child.send_signal(signal.SIGTERM)
        code = child.wait(timeout=WAIT_S)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
    assert code == 0, err.read_text()
    assert "intake stopped; in all: intake: 1 new tickets, 1 comments" in out.read_text()
