"""The Docker adapter: the engines of the environments, and the containers of each environment.

An environment of a site (`[sites.X.envs.Y]` in sites.toml) is a `web` and a `db` container on
one Docker engine. `Engines` connects to each engine once (the local one, unix://, tcp:// or
ssh://); the functions here create, start, stop, destroy and describe an environment, run a
command in a container with its output streamed to the reporter, stream one command's output
into another command's input (a database dump into a client, across engines too), and copy a
directory between containers through the engines' archive API.

Exceptions::

    TriageError (core.errors)
    └── DockerError             an engine or a container did not do what was asked
        ├── EngineUnreachable   the environment's engine does not answer
        ├── ContainerMissing    a container that sites.toml names does not exist
        ├── CommandFailed       a command in a container failed; `exit_code` and `tail` say how
        └── ProdProtected       destroying production was refused
"""

from __future__ import annotations

import contextlib
import os
import shlex
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import docker
import docker.errors
import requests
from docker.models.containers import Container
from docker.utils.socket import frames_iter

from core.errors import TriageError
from core.reporting import Reporter
from core.sites import PROD, Site

Role = Literal["web", "db"]
LABEL_SITE, LABEL_ENV, LABEL_TICKET, LABEL_ROLE = (
    "triage.site",
    "triage.env",
    "triage.ticket",
    "triage.role",
)
TAIL_LINES = 12


class DockerError(TriageError):
    """An engine or a container did not do what was asked."""


class EngineUnreachable(DockerError):
    """The Docker engine of an environment does not answer."""


class ContainerMissing(DockerError):
    """A container named in sites.toml does not exist on its engine."""


class ProdProtected(DockerError):
    """An operation that would destroy a production environment was refused."""


class CommandFailed(DockerError):
    """A command in a container exited with a non-zero status."""

    def __init__(self, reason: str, exit_code: int, tail: list[str], advice: str = "") -> None:
        super().__init__(f"{reason}: {advice or 'fix the cause shown and run it again'}")
        self.reason = reason
        """What failed, without the advice: for messages that give their own."""
        self.exit_code = exit_code
        self.tail = tail


class Engines:
    """One Docker client per docker_host, connected (and pinged) on first use."""

    def __init__(self, clients: Mapping[str, docker.DockerClient] | None = None) -> None:
        self._clients: dict[str, docker.DockerClient] = dict(clients or {})
        self._owned: list[docker.DockerClient] = []

    def client(self, site: Site, env_name: str) -> docker.DockerClient:
        """The client of the engine that runs `env_name` of `site`; EngineUnreachable if none."""
        host = site.env(env_name).docker_host
        if host not in self._clients:
            try:
                client = _connect(host)
                client.ping()
            except (docker.errors.DockerException, requests.RequestException, OSError):
                where = host or "the local socket (or DOCKER_HOST)"
                raise EngineUnreachable(
                    f"Docker at {where} is not reachable: start it or set docker_host for env "
                    f"{env_name} of {site.id} in sites.toml"
                ) from None
            self._clients[host] = client
            self._owned.append(client)
        return self._clients[host]

    def close(self) -> None:
        """Close the clients this object opened (not the ones it was given)."""
        for client in self._owned:
            client.close()
        self._owned.clear()


def _connect(host: str) -> docker.DockerClient:
    if not host:
        return docker.from_env(timeout=600)
    return docker.DockerClient(base_url=host, use_ssh_client=host.startswith("ssh://"), timeout=600)


@dataclass(frozen=True)
class ContainerState:
    """One container of an environment as its engine sees it."""

    name: str
    status: str
    """running, exited, created, paused, … or missing."""
    image: str = ""
    created: str = ""


@dataclass(frozen=True)
class EnvState:
    """An environment's containers, its URL, and whether a failed clone marked it unsafe."""

    site: str
    env: str
    web: ContainerState
    db: ContainerState
    url: str
    unsafe: bool = False

    @property
    def status(self) -> str:
        """running when both containers run, missing when one is missing, else the web's."""
        if "missing" in (self.web.status, self.db.status):
            return "missing"
        if self.web.status == self.db.status == "running":
            return "running"
        return self.web.status if self.web.status != "running" else self.db.status


UNSAFE_MARKER = "/.triage-unsafe"
"""A file in the web container: the database holds production data that was not sanitized."""


def container(engines: Engines, site: Site, env_name: str, role: Role) -> Container:
    """The web or db container of an environment; ContainerMissing naming what to do."""
    env = site.env(env_name)
    name = env.web_container if role == "web" else env.db_container
    try:
        return engines.client(site, env_name).containers.get(name)
    except docker.errors.NotFound:
        raise ContainerMissing(
            f"container {name} ({role} of env {env_name} of {site.id}) does not exist: create "
            f"the environment or fix {role}_container for env {env_name} in sites.toml"
        ) from None


def _container_state(client: docker.DockerClient, name: str) -> tuple[ContainerState, Any]:
    try:
        found = client.containers.get(name)
    except docker.errors.NotFound:
        return ContainerState(name, "missing"), None
    image = str(found.attrs.get("Config", {}).get("Image", ""))
    return ContainerState(name, found.status, image, str(found.attrs.get("Created", ""))), found


def state(engines: Engines, site: Site, env_name: str) -> EnvState:
    """What runs of an environment: status, image and creation time of both containers, URL."""
    env = site.env(env_name)
    client = engines.client(site, env_name)
    web, web_container = _container_state(client, env.web_container)
    db, _ = _container_state(client, env.db_container)
    url, unsafe = env.url, False
    if web_container is not None:
        if not url:
            ports = web_container.attrs["NetworkSettings"]["Ports"] or {}
            bound = (ports.get("80/tcp") or [{}])[0]
            if bound.get("HostPort"):
                url = f"http://{bound.get('HostIp') or '127.0.0.1'}:{bound['HostPort']}"
        try:
            stream, _stat = web_container.get_archive(UNSAFE_MARKER)
            for _chunk in stream:  # a few bytes; reading them all releases the connection
                pass
            unsafe = True
        except docker.errors.NotFound:
            pass
    return EnvState(site.id, env_name, web, db, url, unsafe)


def states(engines: Engines, site: Site) -> list[EnvState]:
    """The state of every environment of a site, prod first."""
    names = sorted(site.envs, key=lambda name: (name != PROD, name))
    return [state(engines, site, name) for name in names]


def _labels(site: Site, env_name: str, ticket: str, role: str = "") -> dict[str, str]:
    labels = {LABEL_SITE: site.id, LABEL_ENV: env_name, LABEL_TICKET: ticket}
    return labels | ({LABEL_ROLE: role} if role else {})


def create(
    engines: Engines,
    site: Site,
    env_name: str,
    *,
    ticket: str = "",
    ports: Mapping[str, Any] | None = None,
    wait: float = 90.0,
) -> EnvState:
    """Create and start an environment from its images, labelled with site, env and ticket."""
    env = site.env(env_name)
    if not env.web_image or not env.db_image:
        raise DockerError(
            f"env {env_name} of {site.id} has no web_image or db_image: set both "
            "in sites.toml to create it"
        )
    client = engines.client(site, env_name)
    for name in (env.web_container, env.db_container):
        if _container_state(client, name)[1] is not None:
            raise DockerError(
                f"container {name} already exists: destroy env {env_name} of "
                f"{site.id} first or name other containers in sites.toml"
            )
    labels = _labels(site, env_name, ticket)
    network = env.network or f"{site.id}-{env_name}"
    try:
        client.networks.get(network)
    except docker.errors.NotFound:
        client.networks.create(network, driver="bridge", labels=labels)
    for volume in env.volumes:
        try:
            client.volumes.get(volume)
        except docker.errors.NotFound:
            client.volumes.create(volume, labels=labels)
    password = os.environ.get(env.db_password_env, "") if env.db_password_env else ""
    db_env = {"MARIADB_DATABASE": env.db_name}
    if env.db_user != "root":
        db_env |= {"MARIADB_USER": env.db_user, "MARIADB_PASSWORD": password}
    elif password:
        db_env["MARIADB_ROOT_PASSWORD"] = password
    else:
        db_env["MARIADB_ALLOW_EMPTY_ROOT_PASSWORD"] = "1"
    web_env = {
        "DB_HOST": env.db_container,
        "DB_NAME": env.db_name,
        "DB_USER": env.db_user,
        "DB_PASSWORD": password,
        "SITE_ENV": env_name,
    }
    common: dict[str, Any] = {
        "network": network,
        "detach": True,
        "restart_policy": {"Name": "unless-stopped"},
    }
    db = client.containers.run(
        env.db_image,
        name=env.db_container,
        environment=db_env,
        labels=_labels(site, env_name, ticket, "db"),
        **common,
    )
    web = client.containers.run(
        env.web_image,
        name=env.web_container,
        environment=web_env,
        volumes={name: {"bind": path, "mode": "rw"} for name, path in env.volumes.items()},
        ports=dict(ports or {}),
        labels=_labels(site, env_name, ticket, "web"),
        **common,
    )
    _wait_ready([db, web], wait)
    return state(engines, site, env_name)


def _wait_ready(containers: Sequence[Container], timeout: float) -> None:
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


def start(engines: Engines, site: Site, env_name: str, *, wait: float = 90.0) -> EnvState:
    """Start an environment's containers, the database first, and wait until they are up."""
    parts = [container(engines, site, env_name, role) for role in ("db", "web")]
    for item in parts:
        item.start()
    _wait_ready(parts, wait)
    return state(engines, site, env_name)


def stop(engines: Engines, site: Site, env_name: str) -> EnvState:
    """Stop an environment's containers, the web first."""
    for role in ("web", "db"):
        container(engines, site, env_name, role).stop(timeout=20)
    return state(engines, site, env_name)


def destroy(engines: Engines, site: Site, env_name: str, *, force_prod: bool = False) -> list[str]:
    """Remove the containers, volumes and network labelled with the environment; their names.

    Only what Triage created (and labelled) goes; production only when `force_prod` says so.
    """
    if env_name == PROD and not force_prod:
        raise ProdProtected(
            f"refusing to destroy the production environment of {site.id}: "
            "remove it by hand if you really mean it"
        )
    site.env(env_name)
    client = engines.client(site, env_name)
    wanted = [f"{LABEL_SITE}={site.id}", f"{LABEL_ENV}={env_name}"]
    removed = []
    for item in client.containers.list(all=True, filters={"label": wanted}):
        item.remove(force=True, v=True)
        removed.append(str(item.name))
    for volume in client.volumes.list(filters={"label": wanted}):
        volume.remove(force=True)
        removed.append(str(volume.name))
    for network in client.networks.list(filters={"label": wanted}):
        network.remove()
        removed.append(str(network.name))
    return removed


def command_line(
    target: Container,
    cmd: Sequence[str],
    env: Mapping[str, str] | None = None,
    workdir: str | None = None,
    stdin: bool = False,
) -> str:
    """The `docker exec` line of a command, secrets in its environment masked."""
    options = ["-i"] if stdin else []
    for key in env or {}:
        options += ["-e", f"{key}=***"]
    if workdir:
        options += ["-w", workdir]
    return "docker exec " + shlex.join([*options, str(target.name), *cmd])


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
) -> str:
    """Run `cmd` in a container, each output line to reporter.log; its stdout; CommandFailed.

    In a dry run the command is only printed, unless `read_only` says it changes nothing.
    """
    if reporter.dry_run and not read_only:
        reporter.log(command_line(target, cmd, env, workdir))
        return ""
    api = target.client.api
    exec_id = _exec_create(target, cmd, environment=dict(env or {}), workdir=workdir)
    out: list[str] = []
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    pending = {1: b"", 2: b""}
    sock = api.exec_start(exec_id["Id"], socket=True)
    try:
        for stream, chunk in frames_iter(sock, False):
            *lines, pending[stream] = (pending[stream] + chunk).split(b"\n")
            for raw in lines:
                _keep(raw, stream == 1, out, tail, reporter, echo)
    finally:
        _close(sock)
    for stream, rest in pending.items():
        if rest:
            _keep(rest, stream == 1, out, tail, reporter, echo)
    code = _exit_code(api, exec_id["Id"])
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
        for stream, data in frames_iter(src_sock, False):
            if stream == 2:
                source_tail.extend(data.decode(errors="replace").splitlines())
                continue
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
