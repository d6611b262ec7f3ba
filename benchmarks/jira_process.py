"""Helpers for benchmarks that run Triage against the sandbox Jira, each in its own process.

The sandbox serves a demo agency from a process of its own (so its JSON rendering does not
share the interpreter lock with the client under test); the client runs as a fresh
`triage` process whose wall time and peak memory are measured. `--before REF` builds a
copy of the repository at a git ref, so a benchmark prints the old figures beside the new
ones in one run.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
USER = {"cloud": "me@agency.example", "dc": "me"}
TOKEN = "sandbox-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def sandbox_process(flavour: str, tickets: int, latency_ms: float) -> Iterator[str]:
    """A sandbox Jira in its own process; yields its URL once it answers."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "triage.sandbox.jira_server",
        f"--flavour={flavour}",
        f"--port={port}",
        f"--tickets={tickets}",
        f"--latency-ms={latency_ms}",
        "--seed=1",
    ]
    # Its stderr is dropped: a client that exits mid-request makes it print a reset.
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "Jira … sandbox with N tickets at URL"
        if " at " not in line:
            raise RuntimeError(f"the sandbox did not start: {line!r}")
        SANDBOX_PID[0] = process.pid
        yield line.rsplit(" at ", 1)[1].strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def workspace(folder: Path, url: str, flavour: str) -> dict[str, str]:
    """Environment for a `triage` process: a config naming the sandbox, an empty data dir."""
    folder.mkdir(parents=True, exist_ok=True)
    user = USER[flavour] if flavour == "cloud" else ""
    (folder / "config.toml").write_text(
        f'[jira]\nurl = "{url}"\nuser = "{user}"\nprojects = ["SUP"]\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env.update(
        TRIAGE_CONFIG=str(folder / "config.toml"),
        TRIAGE_DATA_DIR=str(folder / "data"),
        TRIAGE_JIRA_TOKEN=TOKEN,
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


LAST_CPU = [0.0]
SANDBOX_PID = [0]


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_measured(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, str]:
    """Run a process; its wall seconds, its own peak resident memory in MB, its stdout.

    `LAST_CPU[0]` is then the process's own CPU seconds (user + system), a figure that a
    machine busy with other work changes far less than the wall time.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        LAST_CPU[0] = usage.ru_utime + usage.ru_stime
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {err.read().strip()[-500:]}")
        return wall, usage.ru_maxrss / 1024, out.read()


def tree_at(ref: str, into: Path) -> Path:
    """A copy of the repository's files at git `ref`, in `into`."""
    archive = subprocess.run(
        ["git", "archive", ref], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into
