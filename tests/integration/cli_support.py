"""Running `triage` as a user does, for the command-line tests (a support module, no tests)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60


def clean_env(root: Path, **extra: str) -> dict[str, str]:
    """os.environ without any TRIAGE_* variable, with the data dir and config under `root`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env["TRIAGE_DATA_DIR"] = str(root / "data")
    env["TRIAGE_CONFIG"] = str(root / "config.toml")
    env.update(extra)
    return env


def triage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run `triage ARGS` from the repository root, bounded in time."""
    return subprocess.run(
        [sys.executable, "-m", "triage.tui.cli.main", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """Assert the run ended in exit status 2 with one line on stderr; that line."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A server on a free loopback port answering with `handler`; its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
