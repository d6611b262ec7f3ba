"""A Docker engine for the tests: the one there is, or a dockerd started (and stopped) here.

`ensure_docker()` gives a client of a running engine: the one DOCKER_HOST names, the one on
/var/run/docker.sock, or a `dockerd` started here (as root). A dockerd started here is stopped,
by its process id, when the last test process that uses it exits: each user holds a shared lock
on /run/triage-dockerd/users.lock, and the one that can take it exclusively at exit stops it.
An engine that the tests did not start is never stopped.

The images the tests run are built by the product (triage.sandbox.images.ensure_images, offline
from sandbox/images/); the helpers at the end look into the containers made from them.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import io
import os
import shutil
import signal
import socket
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from triage.sandbox.images import file_lock, lock_fd
from triage.sandbox.rootfs import ImagesUnavailable, tail

SOCKET = "/var/run/docker.sock"
RUN_DIR = Path("/run/triage-dockerd")
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
LOCK_TIMEOUT_S = 90.0
CLIENT_TIMEOUT_S = 600

INSTALL_HINT = (
    "Docker's engine (dockerd) was not found: install docker.io (apt-get install docker.io) "
    "or set DOCKER_HOST to a running engine"
)


class DockerUnavailable(ImagesUnavailable):
    """No Docker engine can be used here; the message says why.

    A test skips on it (or on the images' ImagesUnavailable), or fails when CI is set.
    """


# --- the engine ---------------------------------------------------------------------------

_users_lock: int | None = None  # our shared hold on RUN_DIR/users.lock, while we use our dockerd
_started: subprocess.Popen[bytes] | None = None


def ensure_docker() -> docker.DockerClient:
    """A client of a running Docker engine, started here (and stopped at exit) if need be."""
    host = os.environ.get("DOCKER_HOST")
    if host:
        client = _connect(None)
        if client is None:
            raise DockerUnavailable(
                f"DOCKER_HOST={host} names a Docker engine that does not answer"
            )
        return client
    _join_users()
    try:
        client = _connect(SOCKET)
        if client is not None:
            _keep_hold_if_ours()
            return client
        dockerd = _find_dockerd()
        if dockerd is None:
            raise DockerUnavailable(INSTALL_HINT)
        if os.geteuid() != 0:
            raise DockerUnavailable(
                f"no Docker engine answers on {SOCKET}, and starting dockerd needs root: "
                "start it (as root: dockerd &) or run the tests as root"
            )
        with file_lock(RUN_DIR / "start.lock", exclusive=True, timeout=LOCK_TIMEOUT_S):
            client = _connect(SOCKET)  # another test process may have started it meanwhile
            if client is None:
                _start_dockerd(dockerd)
                client = _connect(SOCKET)
                if client is None:
                    raise DockerUnavailable(f"dockerd started but {SOCKET} does not answer")
        _keep_hold_if_ours()
        return client
    except BaseException:
        _leave_users()
        raise


def _find_dockerd() -> str | None:
    found = shutil.which("dockerd")
    if found:
        return found
    for candidate in ("/usr/sbin/dockerd", "/usr/bin/dockerd", "/usr/local/bin/dockerd"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def _socket_answers(path: str = SOCKET) -> bool:
    """Whether an engine answers /_ping on the unix socket `path` (no client, no warnings)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(5)
            probe.connect(path)
            probe.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            answer = probe.recv(64)
    except OSError:
        return False
    return answer.startswith(b"HTTP/1.") and b" 200 " in answer


def _connect(socket_path: str | None) -> docker.DockerClient | None:
    """A pinged client of the engine at `socket_path` (None: DOCKER_HOST), or None."""
    if socket_path is not None and not _socket_answers(socket_path):
        return None
    try:
        if socket_path is None:
            client = docker.from_env(timeout=CLIENT_TIMEOUT_S)
        else:
            client = docker.DockerClient(base_url=f"unix://{socket_path}", timeout=CLIENT_TIMEOUT_S)
    except docker.errors.DockerException:
        return None
    try:
        client.ping()
    except (docker.errors.DockerException, OSError):
        client.close()
        return None
    return client


def _pidfile() -> Path:
    return RUN_DIR / "dockerd.pid"


def _our_dockerd_pid() -> int | None:
    """The process id of the dockerd that the tests started, if it still runs."""
    try:
        pid = int(_pidfile().read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    if comm != "dockerd" or str(_pidfile()).encode() not in cmdline:
        return None
    return pid


def _iptables_works() -> bool:
    """Whether dockerd can manage its NAT rules here (else it runs with --iptables=false)."""
    iptables = shutil.which("iptables") or "/usr/sbin/iptables"
    try:
        probe = subprocess.run(
            [iptables, "-t", "nat", "-L", "-n"], capture_output=True, timeout=15, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return probe.returncode == 0


def _start_dockerd(dockerd: str) -> None:
    """Start dockerd on SOCKET with its own pidfile and log in RUN_DIR; wait until it answers."""
    global _started
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    pidfile = _pidfile()
    if _our_dockerd_pid() is None:
        pidfile.unlink(missing_ok=True)  # stale, from a dockerd that is gone
    args = [dockerd, "--host", f"unix://{SOCKET}", "--pidfile", str(pidfile)]
    if not _iptables_works():
        # No NAT: containers still talk on user networks, published ports go through
        # docker-proxy, and the builds use the host's network (see _build).
        args += ["--iptables=false", "--ip-masq=false"]
    log = RUN_DIR / "dockerd.log"
    with open(log, "ab") as log_file:
        process = subprocess.Popen(
            args,
            cwd=RUN_DIR,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a ^C of the tests reaches us, and we stop it in order
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _socket_answers():
        if process.poll() is not None:
            raise DockerUnavailable(
                f"dockerd ({' '.join(args)}) exited with status {process.returncode}: {tail(log)}"
            )
        if time.monotonic() > deadline:
            _stop_pid(process.pid, process)
            raise DockerUnavailable(
                f"dockerd did not answer on {SOCKET} within {START_TIMEOUT_S:.0f} s: {tail(log)}"
            )
        time.sleep(0.2)
    _started = process


def _join_users() -> None:
    """Hold a shared lock while we use an engine, so that nobody stops our dockerd under us."""
    global _users_lock
    if _users_lock is not None or os.environ.get("DOCKER_HOST"):
        return
    try:
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(RUN_DIR / "users.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return  # not root: we never start dockerd, so there is nothing to protect
    try:
        lock_fd(fd, fcntl.LOCK_SH, LOCK_TIMEOUT_S, "the dockerd users' lock")
    except BaseException:
        os.close(fd)
        raise
    _users_lock = fd


def _keep_hold_if_ours() -> None:
    """Keep the shared lock (and stop at exit if last) only when the engine is our dockerd."""
    if _our_dockerd_pid() is None:
        _leave_users()
        return
    atexit.unregister(_at_exit)
    atexit.register(_at_exit)


def _leave_users() -> None:
    global _users_lock
    fd, _users_lock = _users_lock, None
    if fd is not None:
        os.close(fd)


def _at_exit() -> None:
    """Stop the dockerd the tests started, by its pid, if no other test process still uses it."""
    global _started
    fd = _users_lock
    if fd is None:
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # another test process uses it: the last one stops it
        pid = _our_dockerd_pid()
        if pid is not None:
            process = _started if _started is not None and _started.pid == pid else None
            _stop_pid(pid, process)
            _pidfile().unlink(missing_ok=True)
        _started = None
    finally:
        _leave_users()


def _stop_pid(pid: int, process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM `pid`, wait (bounded) for it to go, SIGKILL it if it does not."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if _wait_gone(pid, process, STOP_TIMEOUT_S):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait_gone(pid, process, 10.0)


def _wait_gone(pid: int, process: subprocess.Popen[bytes] | None, timeout: float) -> bool:
    if process is not None:
        try:
            process.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _gone(pid):
            return True
        time.sleep(0.1)
    return False


def _gone(pid: int) -> bool:
    """Whether `pid` has exited (a zombie that nobody reaps yet counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


# --- helpers for tests that run the images ------------------------------------------------


def wait_healthy(container: Container, timeout: float = 60.0) -> None:
    """Wait (bounded) until the container's HEALTHCHECK reports healthy."""
    deadline = time.monotonic() + timeout
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        container.reload()
        state = container.attrs.get("State", {})
        if state.get("Status") in ("exited", "dead"):
            logs = container.logs(tail=15).decode(errors="replace").strip()
            raise RuntimeError(f"{container.name} exited ({state.get('ExitCode')}): {logs}")
        health = state.get("Health") or {}
        if health.get("Status") == "healthy":
            return
        time.sleep(0.25)
    last = ((state.get("Health") or {}).get("Log") or [{}])[-1].get("Output", "")
    raise TimeoutError(f"{container.name} was not healthy within {timeout:.0f} s: {last.strip()}")


def host_port(container: Container, port: str = "80/tcp") -> int:
    """The host port published for the container's `port`."""
    container.reload()
    bindings = container.attrs["NetworkSettings"]["Ports"].get(port) or []
    if not bindings:
        raise RuntimeError(f"{container.name} publishes no host port for {port}")
    return int(bindings[0]["HostPort"])


def put_file(container: Container, path: str, data: bytes, mode: int = 0o644) -> None:
    """Write `data` to `path` (its directory must exist) in the container."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(os.path.basename(path))
        info.size = len(data)
        info.mode = mode
        info.mtime = int(time.time())
        archive.addfile(info, io.BytesIO(data))
    if not container.put_archive(os.path.dirname(path) or "/", buffer.getvalue()):
        raise RuntimeError(f"could not write {path} into {container.name}")


def load_sql(container: Container, database: str, sql: bytes) -> None:
    """Run `sql` with the mariadb client as root (socket) in a triage/mariadb container."""
    put_file(container, "/tmp/load.sql", sql)
    result = container.exec_run(
        ["sh", "-c", 'mariadb "$1" < /tmp/load.sql && rm -f /tmp/load.sql', "sh", database]
    )
    if result.exit_code != 0:
        output = result.output.decode(errors="replace").strip()
        raise RuntimeError(f"loading SQL into {database} failed ({result.exit_code}): {output}")
