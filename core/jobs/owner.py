"""Whether the process that runs a job is alive: its host, its pid and when it started."""

from __future__ import annotations

import os
import socket

from triage.storage.models import Job

HOST = socket.gethostname()

#: Runners of this process still open; a job of this process whose runner is not here is dead.
LIVE_RUNNERS: set[str] = set()


def process_start(pid: int) -> str | None:
    """A mark of when process `pid` started ("" where unknown), or None if it is not alive."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return fields[19]  # starttime, in clock ticks since boot
    except FileNotFoundError:
        return None
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return ""
    return ""


def owner_alive(job: Job) -> bool:
    """Whether the process that runs `job` still does; another machine's is taken as alive."""
    if job.host and job.host != HOST:
        return True  # its own machine's next start judges it
    if job.pid is None:
        return False
    start, _, token = job.process.partition(":")
    current = process_start(job.pid)
    if current is None or (start and current and start != current):
        return False
    if job.pid == os.getpid():
        return token in LIVE_RUNNERS
    return True
