"""A Docker engine and the sandbox's images for the tests, without any image registry.

`ensure_docker()` gives a client of a running engine: the one DOCKER_HOST names, the one on
/var/run/docker.sock, or a `dockerd` started here (as root). A dockerd started here is stopped,
by its process id, when the last test process that uses it exits: each user holds a shared lock
on /run/triage-dockerd/users.lock, and the one that can take it exclusively at exit stops it.
An engine that the tests did not start is never stopped.

`ensure_images(client)` builds the sandbox images from sandbox/images/ offline:

- triage/base: Debian bookworm (minbase) made by debootstrap from the host's own Debian mirror
  (/etc/apt/sources.list*), customised by base/customize.sh and imported; the root filesystem
  tarball is cached in /var/cache/triage-images, so a new import takes seconds;
- triage/mariadb and triage/php-site: `FROM triage/base` with Debian's packages.

Each image carries a label with the hash of what it was built from (files, suite, mirror, the
parent's hash) and is built again only when that hash changes. Builds use the default bridge
network and fall back to the host's network when apt cannot reach the mirror from it.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

REPO = Path(__file__).resolve().parent.parent
IMAGES_DIR = REPO / "sandbox" / "images"
SCHEMA_SQL = IMAGES_DIR / "schema.sql"

BASE_IMAGE = "triage/base"
MARIADB_IMAGE = "triage/mariadb"
PHP_SITE_IMAGE = "triage/php-site"
IMAGES = (BASE_IMAGE, MARIADB_IMAGE, PHP_SITE_IMAGE)
HASH_LABEL = "org.triage.build-hash"

SUITE = "bookworm"
VARIANT = "minbase"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"

SOCKET = "/var/run/docker.sock"
RUN_DIR = Path("/run/triage-dockerd")
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
LOCK_TIMEOUT_S = 90.0
BUILD_LOCK_TIMEOUT_S = 1200.0
DEBOOTSTRAP_TIMEOUT_S = 900.0
CLIENT_TIMEOUT_S = 600

INSTALL_HINT = (
    "Docker's engine (dockerd) was not found: install docker.io (apt-get install docker.io) "
    "or set DOCKER_HOST to a running engine"
)
DEBOOTSTRAP_HINT = (
    "debootstrap was not found, and triage/base is built from a Debian root filesystem that it "
    "makes: install debootstrap (apt-get install debootstrap debian-archive-keyring)"
)
# apt's words when the build network cannot reach the mirror.
_NETWORK_FAILURE = re.compile(
    r"Temporary failure resolving|Could not resolve|Failed to fetch|Unable to connect|"
    r"Could not connect|Network is unreachable|Connection timed out|Unable to locate package"
)

Progress = Callable[[str], None]


class DockerUnavailable(RuntimeError):
    """No Docker engine can be used, or an image cannot be made here; the message says why.

    A test skips on it, or fails when the environment variable CI is set.
    """


class ImageBuildError(RuntimeError):
    """An image build failed; the message ends with the tail of its log."""


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
        with _file_lock(RUN_DIR / "start.lock", exclusive=True, timeout=LOCK_TIMEOUT_S):
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
                f"dockerd ({' '.join(args)}) exited with status {process.returncode}: {_tail(log)}"
            )
        if time.monotonic() > deadline:
            _stop_pid(process.pid, process)
            raise DockerUnavailable(
                f"dockerd did not answer on {SOCKET} within {START_TIMEOUT_S:.0f} s: {_tail(log)}"
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
        _lock_fd(fd, fcntl.LOCK_SH, LOCK_TIMEOUT_S, "the dockerd users' lock")
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


# --- locks and small helpers --------------------------------------------------------------


def _lock_fd(fd: int, kind: int, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise DockerUnavailable(
                    f"waited {timeout:.0f} s for {what} in vain: another test process holds it"
                ) from None
            time.sleep(0.2)


@contextlib.contextmanager
def _file_lock(path: Path, *, exclusive: bool, timeout: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        _lock_fd(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, timeout, str(path))
        yield
    finally:
        os.close(fd)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


# --- the images ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Mirrors:
    """The Debian mirrors the images install from: the host's own, read from its apt sources."""

    debian: str
    security: str | None  # None: the host has no security suite configured
    updates: bool


def host_mirrors(sources_dir: Path = Path("/etc/apt")) -> Mirrors:
    """The host's Debian mirror for SUITE (TRIAGE_TEST_DEBIAN_MIRROR overrides it)."""
    entries: list[tuple[str, str]] = []  # (uri, suite) of the `deb` sources
    files = [sources_dir / "sources.list", *sorted((sources_dir / "sources.list.d").glob("*"))]
    for path in files:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if path.name.endswith(".sources"):
            entries += _deb822_entries(text)
        elif path.name.endswith(".list"):
            entries += _one_line_entries(text)
    debian = next((uri for uri, suite in entries if suite == SUITE), None)
    security = next((uri for uri, suite in entries if suite == f"{SUITE}-security"), None)
    updates = any(suite == f"{SUITE}-updates" for _, suite in entries)
    override = os.environ.get("TRIAGE_TEST_DEBIAN_MIRROR")
    if override:
        debian = override
    if debian is None:
        return Mirrors(DEFAULT_MIRROR, DEFAULT_SECURITY_MIRROR, True)
    return Mirrors(debian.rstrip("/"), security.rstrip("/") if security else None, updates)


def _one_line_entries(text: str) -> list[tuple[str, str]]:
    entries = []
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb":
            entries.append((words[1], words[2]))
    return entries


def _deb822_entries(text: str) -> list[tuple[str, str]]:
    entries = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = None
        for line in stanza.splitlines():
            if line.startswith("#"):
                continue
            if line[:1].isspace() and key is not None:
                fields[key] += " " + line.strip()
            elif ":" in line:
                key, value = line.split(":", 1)
                key = key.strip().lower()
                fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                entries.append((uri, suite))
    return entries


def image_cache_dir() -> Path:
    """Where the root filesystem tarball is kept between runs."""
    given = os.environ.get("TRIAGE_TEST_IMAGE_CACHE")
    if given:
        return Path(given)
    system = Path("/var/cache/triage-images")
    if os.geteuid() == 0 or os.access(system, os.W_OK):
        return system
    return Path.home() / ".cache" / "triage-images"


def _hash_tree(digest: Any, directory: Path) -> None:
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        digest.update(str(path.relative_to(directory)).encode() + b"\0")
        digest.update(b"x" if os.access(path, os.X_OK) else b"-")
        digest.update(path.read_bytes() + b"\0")


def base_hash(mirrors: Mirrors) -> str:
    """The hash of what triage/base is made from."""
    digest = hashlib.sha256(b"triage/base 1\0")
    digest.update(f"{SUITE} {VARIANT} {mirrors}\0".encode())
    _hash_tree(digest, IMAGES_DIR / "base")
    return digest.hexdigest()


def context_hash(name: str, parent_hash: str) -> str:
    """The hash of the build context sandbox/images/<name> on a parent of `parent_hash`."""
    digest = hashlib.sha256(f"{name}\0{parent_hash}\0".encode())
    _hash_tree(digest, IMAGES_DIR / name)
    return digest.hexdigest()


def _current_id(client: docker.DockerClient, image: str, wanted: str) -> str | None:
    """The id of `image` if it exists and was built from what has the hash `wanted`."""
    try:
        found = client.images.get(image)
    except docker.errors.ImageNotFound:
        return None
    labels = found.labels or {}
    return str(found.id) if labels.get(HASH_LABEL) == wanted else None


def _old_ids(client: docker.DockerClient, image: str) -> list[str]:
    try:
        return [str(client.images.get(image).id)]
    except docker.errors.ImageNotFound:
        return []


def ensure_images(client: docker.DockerClient, progress: Progress | None = None) -> dict[str, str]:
    """Build the sandbox images that are missing or out of date; {name: image id} of all three.

    Another test process building at the same time is waited for (a lock in the cache dir).
    """
    say = progress or (lambda _line: None)
    cache = image_cache_dir()
    mirrors = host_mirrors()
    with _file_lock(cache / "build.lock", exclusive=True, timeout=BUILD_LOCK_TIMEOUT_S):
        ids: dict[str, str] = {}
        replaced: list[str] = []  # ids of the images that the new ones replace
        parent = base_hash(mirrors)
        found = _current_id(client, BASE_IMAGE, parent)
        if found is None:
            replaced += _old_ids(client, BASE_IMAGE)
            found = _make_base(client, parent, mirrors, cache, say)
        ids[BASE_IMAGE] = found
        for name, image in (("mariadb", MARIADB_IMAGE), ("php-site", PHP_SITE_IMAGE)):
            wanted = context_hash(name, parent)
            found = _current_id(client, image, wanted)
            if found is None:
                replaced = _old_ids(client, image) + replaced  # children go before the base
                found = _build(client, image, IMAGES_DIR / name, wanted, say)
            ids[image] = found
        for old in replaced:
            if old not in ids.values():
                with contextlib.suppress(docker.errors.APIError):
                    client.images.remove(old)  # fails, harmlessly, while a container uses it
    return ids


def _make_base(
    client: docker.DockerClient, wanted: str, mirrors: Mirrors, cache: Path, say: Progress
) -> str:
    tarball = cache / f"{SUITE}-{VARIANT}-{wanted[:16]}.tar"
    if not tarball.is_file():
        _make_rootfs(tarball, mirrors, say)
        for stale in cache.glob(f"{SUITE}-{VARIANT}-*.tar"):
            if stale != tarball:
                stale.unlink(missing_ok=True)
    say(f"importing {tarball} as {BASE_IMAGE}")
    client.api.import_image_from_file(
        str(tarball),
        repository=BASE_IMAGE,
        tag="latest",
        changes=[
            f"LABEL {HASH_LABEL}={wanted}",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV LANG=C.UTF-8",
            'CMD ["bash"]',
        ],
    )
    new = _current_id(client, BASE_IMAGE, wanted)
    if new is None:
        raise ImageBuildError(f"docker import of {tarball} did not give {BASE_IMAGE}")
    return new


def _make_rootfs(tarball: Path, mirrors: Mirrors, say: Progress) -> None:
    """debootstrap SUITE into a scratch dir, customise it, and pack it into `tarball`."""
    debootstrap = shutil.which("debootstrap") or (
        "/usr/sbin/debootstrap" if os.access("/usr/sbin/debootstrap", os.X_OK) else None
    )
    if debootstrap is None:
        raise DockerUnavailable(DEBOOTSTRAP_HINT)
    if os.geteuid() != 0:
        raise DockerUnavailable(
            f"{BASE_IMAGE} is missing and debootstrap, which makes it, needs root: run the tests "
            "as root once, or import a Debian root filesystem as triage/base yourself"
        )
    tarball.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rootfs-", dir=tarball.parent))
    root = work / "root"
    try:
        include = ["ca-certificates"] if mirrors.debian.startswith("https:") else []
        command = [debootstrap, f"--variant={VARIANT}"]
        if include:
            command.append(f"--include={','.join(include)}")
        command += [SUITE, str(root), mirrors.debian]
        say(f"running {' '.join(command)}")
        _run(command, DEBOOTSTRAP_TIMEOUT_S, "debootstrap", root / "debootstrap/debootstrap.log")
        customize = [
            "sh",
            str(IMAGES_DIR / "base" / "customize.sh"),
            str(root),
            SUITE,
            mirrors.debian,
            mirrors.security or "",
            "yes" if mirrors.updates else "no",
        ]
        _run(customize, 300, "customize.sh")
        partial = tarball.with_suffix(".tar.partial")
        _run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."], 300, "tar")
        os.replace(partial, tarball)
    finally:
        _remove_tree(work)


def _run(command: list[str], timeout: float, what: str, log: Path | None = None) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as error:
        raise ImageBuildError(f"{what} did not finish within {timeout:.0f} s") from error
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip().splitlines()[-15:]
        detail = " | ".join(output)
        if log is not None and log.is_file():
            detail += " | log: " + _tail(log)
        raise ImageBuildError(f"{what} failed with exit code {done.returncode}: {detail}")


def _remove_tree(path: Path) -> None:
    """Remove a debootstrap scratch dir, unmounting what a failed run may have left mounted."""
    resolved = str(path.resolve())
    try:
        mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    except OSError:
        mounts = []
    inside = sorted((m for m in mounts if m.startswith(resolved + "/")), key=len, reverse=True)
    for mount in inside:
        subprocess.run(["umount", "-l", mount], capture_output=True, timeout=30, check=False)
    if inside:
        mounts = [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
        if any(m.startswith(resolved + "/") for m in mounts):
            return  # never delete through a mount point: leave the scratch dir for a human
    shutil.rmtree(path, ignore_errors=True)


def _build(
    client: docker.DockerClient, image: str, context: Path, wanted: str, say: Progress
) -> str:
    """Build `image` from `context`, labelled with `wanted`; retry on the host network."""
    try:
        return _build_once(client, image, context, wanted, say, network_mode=None)
    except ImageBuildError as error:
        if not _NETWORK_FAILURE.search(str(error)):
            raise
    say(f"{image}: apt could not reach the mirror from the bridge; building on the host network")
    return _build_once(client, image, context, wanted, say, network_mode="host")


def _build_once(
    client: docker.DockerClient,
    image: str,
    context: Path,
    wanted: str,
    say: Progress,
    network_mode: str | None,
) -> str:
    say(f"building {image} from {context}")
    lines: list[str] = []
    error = None
    stream = client.api.build(
        path=str(context),
        tag=f"{image}:latest",
        labels={HASH_LABEL: wanted},
        rm=True,
        forcerm=True,
        pull=False,
        decode=True,
        network_mode=network_mode,
    )
    for chunk in stream:
        if "stream" in chunk:
            for line in str(chunk["stream"]).splitlines():
                if line.strip():
                    lines.append(line)
                    say(line)
        if "error" in chunk:
            error = str(chunk["error"]).strip()
    if error is not None:
        tail = " | ".join(lines[-20:])
        raise ImageBuildError(f"building {image} failed: {error} | {tail}")
    new = _current_id(client, image, wanted)
    if new is None:
        raise ImageBuildError(f"building {image} left no image labelled {wanted[:12]}")
    return new


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
