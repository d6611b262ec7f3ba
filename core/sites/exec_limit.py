"""The time limit of a command run in a container: the `timeout` line, and a bounded read.

A limited command runs under coreutils `timeout` in the container (the site images are
Debian): at the limit it sends TERM to the command's process group, and KILL `KILL_AFTER`
seconds later to whatever ignored it, so the process really ends in the container rather
than only our wait for it. Its exit code is then 124 (ended on TERM) or 137 (killed).

The exec's output is read from the engine's socket with a time limit too, so that an engine
that stops answering cannot hold the caller forever: `read_frames` raises TimeoutError when
nothing came for the limit and twice `KILL_AFTER` (by then `timeout` has ended the command
and the engine should have closed the stream).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from docker.utils.socket import frames_iter

KILL_AFTER = 10
"""Seconds between TERM at the limit and KILL for a command that did not end on TERM."""
_HEADER = 8
"""Bytes of the header the engine puts before each block of a stream (kind, 0, 0, 0, size)."""
_BLOCK = 1 << 16
TIMEOUT_ADVICE = "check what it waits for (a network, a lock) or allow it more time"
"""What to do about a command stopped at its limit, when its caller has nothing better."""


def seconds(limit: float) -> str:
    """A limit as `timeout` takes it and messages show it: 900, 1.5."""
    return str(int(limit)) if limit == int(limit) else f"{limit:g}"


def limited(cmd: Sequence[str], limit: float | None) -> list[str]:
    """`cmd` under coreutils `timeout` when there is a limit; as it is without one."""
    if limit is None:
        return list(cmd)
    return ["timeout", f"--kill-after={KILL_AFTER}", seconds(limit), *cmd]


def stopped(code: int, elapsed: float, limit: float) -> bool:
    """Whether `timeout` stopped the command: its codes, once the limit has passed.

    A command may exit 124 or 137 by itself (137: killed, by the kernel's OOM killer say);
    before its limit, that is its own failure.
    """
    return code in (124, 137) and elapsed >= limit


def stopped_reason(what: str, limit: float, code: int) -> str:
    """What ran past its limit, for CommandTimedOut (`code` -1: the engine went silent)."""
    reason = f"{what} did not finish within {seconds(limit)} s"
    if code == -1:
        reason += f" (its engine sent nothing for {seconds(limit + 2 * KILL_AFTER)} s)"
    return reason


def read_frames(sock: Any, limit: float | None) -> Iterator[tuple[int, bytes]]:
    """An exec's output as (stream, bytes) blocks, 1 stdout and 2 stderr, as they come.

    Without a limit this is the docker SDK's reader. With one, each wait for the engine is
    bounded (see the module's docstring): TimeoutError when it sent nothing for that long.
    """
    if limit is None:
        yield from frames_iter(sock, False)
        return
    raw = getattr(sock, "_sock", sock)
    raw.settimeout(limit + 2 * KILL_AFTER)
    pending = bytearray()
    while True:
        data = raw.recv(_BLOCK)
        if not data:
            return
        pending += data
        start = 0
        while len(pending) - start >= _HEADER:
            size = int.from_bytes(pending[start + 4 : start + _HEADER], "big")
            end = start + _HEADER + size
            if end > len(pending):
                break
            yield pending[start], bytes(pending[start + _HEADER : end])
            start = end
        del pending[:start]
