"""Killing a child process at a chosen moment, for the kill -9 tests (a support module)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable

import pytest

ROUND_TIMEOUT_S = 60.0


def kill_when(child: subprocess.Popen[bytes], reached: Callable[[], bool], what: str) -> int | None:
    """SIGKILL `child` once `reached()` holds; its exit code (it may also end by itself).

    Fails the test when the child never reaches `what` within the round's time, or fails.
    """
    deadline = time.monotonic() + ROUND_TIMEOUT_S
    try:
        while child.poll() is None and time.monotonic() < deadline:
            if reached():
                os.kill(child.pid, signal.SIGKILL)
                break
            time.sleep(0.002)
        else:
            if child.poll() is None:
                os.kill(child.pid, signal.SIGKILL)
                pytest.fail(f"the child did not reach {what} in {ROUND_TIMEOUT_S} s")
        _, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=10)
    if child.returncode not in (0, -signal.SIGKILL):
        pytest.fail(f"the child failed ({child.returncode}):\n{err.decode()}")
    return child.returncode
