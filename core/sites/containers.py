"""Containers at work: wait until they are up, run a command, pipe one into another, copy files.

Exceptions::

    TriageError (core.errors)
    └── DockerError             an engine or a container did not do what was asked
        └── CommandFailed       a command in a container failed; `exit_code` and `tail` say how
            └── CommandTimedOut a command ran past its time limit and was stopped; `limit`

The other kinds of DockerError (EngineUnreachable, ContainerMissing, ProdProtected) are about
environments and live in `core.environments`.
"""

from __future__ import annotations

import contextlib
import shlex
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import docker.errors
from docker.models.containers import Container
from docker.utils.socket import frames_iter

from triage.core.jobs.reporting import Reporter
from triage.core.sites.exec_limit import (
    TIMEOUT_ADVICE,
    limited,
    read_frames,
    stopped,
    stopped_reason,
)
from triage.storage.errors import TriageError

TAIL_LINES = 12
BLOCK = 1 << 20
"""Bytes read from an exec's socket at a time when relaying one stream into another."""


class DockerError(TriageError):
    """An engine or a container did not do what was asked."""


class CommandFailed(DockerError):
    """A command in a container exited with a non-zero status."""

    def __init__(self, reason: str, exit_code: int, tail: list[str], advice: str = "") -> None:
        super().__init__(f"{reason}: {advice or 'fix the cause shown and run it again'}")
        self.reason = reason
        """What failed, without the advice: for messages that give their own."""
        self.exit_code = exit_code
        self.tail = tail


class CommandTimedOut(CommandFailed):
    """A command ran past its time `limit` (seconds): `timeout` in the container stopped it."""

    def __init__(
        self, target: Container, cmd: Sequence[str], limit: float, code: int, tail: Sequence[str]
    ) -> None:
        reason = stopped_reason(f"`{_describe(cmd)}` in {target.name}", limit, code)
        super().__init__(reason, code, list(tail), TIMEOUT_ADVICE)
        self.limit = limit


def wait_ready(containers: Sequence[Container], timeout: float) -> None:
    """Wait (bounded) until each container runs and, if it has a health check, is healthy."""
    deadline = time.monotonic() + timeout
    for item in containers:
        while True:
            item.reload()
            status = item.attrs["State"].get("Status")
            health = (item.attrs["State"].get("Health") or {}).get("Status", "healthy")
            if status == "running" and health == "healthy":
                break
            if status in ("exited", "dead") or time.monotonic() > deadline:
                raise DockerError(
                    f"{item.name} did not come up ({status}, {health}): read "
                    f"`docker logs {item.name}` and fix the cause"
                )
            time.sleep(0.25)


def command_line(
    target: Container,
    cmd: Sequence[str],
    env: Mapping[str, str] | None = None,
    workdir: str | None = None,
    stdin: bool = False,
    timeout: float | None = None,
) -> str:
    """The `docker exec` line of a command (under its time limit), secrets in its env masked."""
    options = ["-i"] if stdin else []
    for key in env or {}:
        options += ["-e", f"{key}=***"]
    if workdir:
        options += ["-w", workdir]
    return "docker exec " + shlex.join([*options, str(target.name), *limited(cmd, timeout)])


def _describe(cmd: Sequence[str]) -> str:
    text = (
        cmd[2] if len(cmd) >= 3 and cmd[:2] in (["sh", "-c"], ["bash", "-c"]) else shlex.join(cmd)
    )
    return text if len(text) <= 160 else text[:157] + "…"


def _failed(target: Container, cmd: Sequence[str], code: int, tail: Sequence[str]) -> CommandFailed:
    shown = " | ".join(tail) or "no output"
    reason = f"`{_describe(cmd)}` failed in {target.name} with exit code {code} ({shown})"
    return CommandFailed(reason, code, list(tail))


def exec_in(
    target: Container,
    cmd: Sequence[str],
    reporter: Reporter,
    *,
    env: Mapping[str, str] | None = None,
    workdir: str | None = None,
    read_only: bool = False,
    echo: bool = True,
    timeout: float | None = None,
) -> str:
    """Run `cmd` in a container, each output line to reporter.log; its stdout; CommandFailed.

    In a dry run the command is only printed, unless `read_only` says it changes nothing.
    With a `timeout` (seconds) the command runs under coreutils `timeout` in the container,
    which ends it (and its children) at the limit: CommandTimedOut then.
    """
    if reporter.dry_run and not read_only:
        reporter.log(command_line(target, cmd, env, workdir, timeout=timeout))
        return ""
    api = target.client.api
    argv = limited(cmd, timeout)
    exec_id = _exec_create(target, argv, environment=dict(env or {}), workdir=workdir)
    out: list[str] = []
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    pending = {1: b"", 2: b""}
    started = time.monotonic()
    sock = api.exec_start(exec_id["Id"], socket=True)
    try:
        for stream, chunk in read_frames(sock, timeout):
            *lines, pending[stream] = (pending[stream] + chunk).split(b"\n")
            for raw in lines:
                _keep(raw, stream == 1, out, tail, reporter, echo)
    except TimeoutError:
        if timeout is None:
            raise
        raise CommandTimedOut(target, cmd, timeout, -1, tail) from None
    finally:
        _close(sock)
    for stream, rest in pending.items():
        if rest:
            _keep(rest, stream == 1, out, tail, reporter, echo)
    code = _exit_code(api, exec_id["Id"])
    if timeout is not None and stopped(code, time.monotonic() - started, timeout):
        raise CommandTimedOut(target, cmd, timeout, code, tail)
    if code != 0:
        raise _failed(target, cmd, code, tail)
    return "\n".join(out)


def _exec_create(target: Container, cmd: Sequence[str], **options: Any) -> dict[str, str]:
    try:
        created: dict[str, str] = target.client.api.exec_create(target.id, list(cmd), **options)
    except docker.errors.APIError as error:
        raise DockerError(
            f"{target.name} cannot run commands ({error.explanation or error}): start it, or "
            "its environment, and try again"
        ) from None
    return created


def _keep(
    raw: bytes, is_stdout: bool, out: list[str], tail: deque[str], reporter: Reporter, echo: bool
) -> None:
    line = raw.decode(errors="replace").rstrip("\r")
    if is_stdout:
        out.append(line)
    tail.append(line)
    if echo:
        reporter.log(line)


def _exit_code(api: Any, exec_id: str) -> int:
    deadline = time.monotonic() + 10
    while True:
        info = api.exec_inspect(exec_id)
        if not info["Running"] or time.monotonic() > deadline:
            return int(info["ExitCode"] if info["ExitCode"] is not None else -1)
        time.sleep(0.02)


def pipe(
    source: Container,
    source_cmd: Sequence[str],
    sink: Container,
    sink_cmd: Sequence[str],
    reporter: Reporter,
    *,
    source_env: Mapping[str, str] | None = None,
    sink_env: Mapping[str, str] | None = None,
) -> int:
    """Stream `source_cmd`'s stdout into `sink_cmd`'s stdin (engines may differ); bytes moved.

    Nothing touches the disk on the way: the engines' exec sockets are joined here.
    """
    if reporter.dry_run:
        reporter.log(
            f"{command_line(source, source_cmd, source_env)} | "
            f"{command_line(sink, sink_cmd, sink_env, stdin=True)}"
        )
        return 0
    src_api, dst_api = source.client.api, sink.client.api
    src_id = _exec_create(source, source_cmd, environment=dict(source_env or {}))
    dst_id = _exec_create(sink, sink_cmd, stdin=True, environment=dict(sink_env or {}))["Id"]
    dst_sock = dst_api.exec_start(dst_id, socket=True)
    sink_tail: deque[str] = deque(maxlen=TAIL_LINES)
    drain = threading.Thread(target=_collect, args=(dst_sock, sink_tail), daemon=True)
    drain.start()
    src_sock = src_api.exec_start(src_id["Id"], socket=True)
    raw_out: socket.socket = getattr(dst_sock, "_sock", dst_sock)
    source_tail: deque[str] = deque(maxlen=TAIL_LINES)
    moved, sink_open = 0, True
    try:
        for data in _stdout_blocks(src_sock, source_tail):
            try:
                if not drain.is_alive():  # the client's output ended: it has exited early
                    raise BrokenPipeError
                raw_out.sendall(data)
            except OSError:
                sink_open = False  # the client stopped reading: its exit code says why
                break
            moved += len(data)
    finally:
        _close(src_sock)  # the source, if still writing, ends on a broken pipe
        if sink_open:
            with contextlib.suppress(OSError):
                raw_out.shutdown(socket.SHUT_WR)
        drain.join(timeout=600)
        _close(dst_sock)
    sink_code = _exit_code(dst_api, dst_id)
    if sink_code != 0:
        raise _failed(sink, sink_cmd, sink_code, sink_tail)
    source_code = _exit_code(src_api, src_id["Id"])
    if source_code != 0:
        raise _failed(source, source_cmd, source_code, source_tail)
    return moved


def _stdout_blocks(sock: Any, stderr_tail: deque[str]) -> Iterator[bytes]:
    """An exec's stdout in blocks of up to BLOCK bytes; its stderr lines go to `stderr_tail`.

    The engine frames the output as the process writes it (4 kB writes from a dump client):
    reading the socket a block at a time and taking the frames apart here keeps the relay at a
    few calls per megabyte instead of several per frame.
    """
    raw = getattr(sock, "_sock", sock)
    pending = bytearray()
    while True:
        data = raw.recv(BLOCK)
        if not data:
            return
        pending += data
        out, start = bytearray(), 0
        while len(pending) - start >= 8:
            size = int.from_bytes(pending[start + 4 : start + 8], "big")
            end = start + 8 + size
            if end > len(pending):
                break
            if pending[start] == 2:
                text = pending[start + 8 : end].decode(errors="replace")
                stderr_tail.extend(text.splitlines())
            else:
                out += pending[start + 8 : end]
            start = end
        del pending[:start]
        if out:
            yield bytes(out)


def _close(sock: Any) -> None:
    """Close an exec's hijacked connection: the HTTP response, then the socket under it."""
    for part in (getattr(sock, "_response", None), sock, getattr(sock, "_sock", None)):
        if part is not None:
            with contextlib.suppress(Exception):
                part.close()


def _collect(sock: Any, tail: deque[str]) -> None:
    for _stream, data in frames_iter(sock, False):
        tail.extend(data.decode(errors="replace").splitlines())


def copy_files(
    source: Container, source_path: str, sink: Container, sink_path: str, reporter: Reporter
) -> None:
    """Make `sink_path` a copy of `source_path`: emptied, then filled by a streamed tar."""
    if sink_path.rstrip("/") in ("", "/"):
        raise DockerError(f"refusing to replace / in {sink.name}: set files_path in sites.toml")
    clear = ["sh", "-c", 'mkdir -p "$1" && find "$1" -mindepth 1 -delete', "sh", sink_path]
    if reporter.dry_run:
        reporter.log(command_line(sink, clear))
        reporter.log(f"docker cp {source.name}:{source_path}/. {sink.name}:{sink_path}")
        return
    exec_in(sink, clear, reporter)
    try:
        stream, _stat = source.client.api.get_archive(source.id, source_path.rstrip("/") + "/.")
    except docker.errors.NotFound:
        raise DockerError(
            f"{source_path} does not exist in {source.name}: fix files_path in sites.toml"
        ) from None
    if not sink.client.api.put_archive(sink.id, sink_path, _counted(stream, reporter)):
        raise DockerError(f"{sink.name} did not take the files: check its disk space and retry")


def _counted(stream: Iterator[bytes], reporter: Reporter) -> Iterator[bytes]:
    total = 0
    for chunk in stream:
        total += len(chunk)
        yield chunk
    reporter.log(f"copied {total / 1e6:.1f} MB of files (tar)")
