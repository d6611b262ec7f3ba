"""The Docker adapter: the engines of the environments, and the containers of each environment.

An environment of a site (`[sites.X.envs.Y]` in sites.toml) is a `web` and a `db` container on
one Docker engine. `Engines` connects to each engine once (the local one, unix://, tcp:// or
ssh://); the functions here create, start, stop, destroy and describe an environment. Running a
command in a container, streaming one command's output into another's input and copying a
directory between containers are in `core.containers`, and importable from here too.

Exceptions::

    TriageError (core.errors)
    └── DockerError             an engine or a container did not do what was asked
        ├── EngineUnreachable   the environment's engine does not answer
        ├── ContainerMissing    a container that sites.toml names does not exist
        ├── CommandFailed       a command in a container failed (core.containers)
        └── ProdProtected       destroying production was refused
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import docker
import docker.errors
import requests
from docker.models.containers import Container

from triage.core.sites.containers import (
    DockerError,
    wait_ready,
)
from triage.core.sites.inventory import PROD, Site

Role = Literal["web", "db"]
LABEL_SITE, LABEL_ENV, LABEL_TICKET, LABEL_ROLE = (
    "triage.site",
    "triage.env",
    "triage.ticket",
    "triage.role",
)


class EngineUnreachable(DockerError):
    """The Docker engine of an environment does not answer."""


class ContainerMissing(DockerError):
    """A container named in sites.toml does not exist on its engine."""


class ProdProtected(DockerError):
    """An operation that would destroy a production environment was refused."""


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


BACKUP_SCHEMA_SUFFIX = "_triage_backup"
"""The schema beside an environment's database that holds its tables from before a clone."""
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
    shared_db: bool = False,
    labels: Mapping[str, str] | None = None,
) -> EnvState:
    """Create and start an environment from its images, labelled with site, env and ticket.

    With `shared_db`, the db container is a database server that several environments share
    (each its own `db_name`): it must exist and run; only this environment's database and its
    user's grants are made in it. `labels` are added to everything made here.
    """
    env = site.env(env_name)
    if not env.web_image or (not env.db_image and not shared_db):
        raise DockerError(
            f"env {env_name} of {site.id} has no web_image or db_image: set both "
            "in sites.toml to create it"
        )
    client = engines.client(site, env_name)
    for name in (env.web_container,) if shared_db else (env.web_container, env.db_container):
        if _container_state(client, name)[1] is not None:
            raise DockerError(
                f"container {name} already exists: destroy env {env_name} of "
                f"{site.id} first or name other containers in sites.toml"
            )
    extra = dict(labels or {})
    tags = _labels(site, env_name, ticket) | extra
    network = env.network or f"{site.id}-{env_name}"
    try:
        client.networks.get(network)
    except docker.errors.NotFound:
        client.networks.create(network, driver="bridge", labels=tags)
    for volume in env.volumes:
        try:
            client.volumes.get(volume)
        except docker.errors.NotFound:
            client.volumes.create(volume, labels=tags)
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
    if shared_db:
        db = _shared_server(client, site, env_name)
    else:
        db = client.containers.run(
            env.db_image,
            name=env.db_container,
            environment=db_env,
            labels=_labels(site, env_name, ticket, "db") | extra,
            **common,
        )
    web = client.containers.run(
        env.web_image,
        name=env.web_container,
        environment=web_env,
        volumes={name: {"bind": path, "mode": "rw"} for name, path in env.volumes.items()},
        ports=dict(ports or {}),
        labels=_labels(site, env_name, ticket, "web") | extra,
        **common,
    )
    wait_ready([db, web], wait)
    if shared_db:
        _database_in(db, env.db_name, env.db_user, password)
    if env.db_user != "root":
        # A clone moves the old tables into a schema beside the database: the user needs it.
        schema = (env.db_name + BACKUP_SCHEMA_SUFFIX).replace("`", "``").replace("_", "\\_")
        user = env.db_user.replace("'", "''")
        db.exec_run(["mariadb", "-e", f"GRANT ALL PRIVILEGES ON `{schema}`.* TO '{user}'@'%'"])
    return state(engines, site, env_name)


def _shared_server(client: docker.DockerClient, site: Site, env_name: str) -> Container:
    name = site.env(env_name).db_container
    try:
        server: Container = client.containers.get(name)
    except docker.errors.NotFound:
        raise ContainerMissing(
            f"the shared database server {name} (env {env_name} of {site.id}) does not exist: "
            "start it first, or let the environment have a db container of its own"
        ) from None
    return server


def _database_in(db: Container, name: str, user: str, password: str) -> None:
    """Create database `name` (and `user` with its grants) in a shared server, as root."""
    ident = "`" + name.replace("`", "``") + "`"
    statements = [f"CREATE DATABASE IF NOT EXISTS {ident}"]
    if user != "root":
        quoted = user.replace("'", "''")
        secret = password.replace("\\", "\\\\").replace("'", "''")
        statements += [
            f"CREATE USER IF NOT EXISTS '{quoted}'@'%' IDENTIFIED BY '{secret}'",
            f"GRANT ALL PRIVILEGES ON {ident}.* TO '{quoted}'@'%'",
        ]
    result = db.exec_run(["mariadb", "-e", "; ".join(statements)])
    if result.exit_code != 0:
        output = result.output.decode(errors="replace").strip()
        raise DockerError(f"could not create database {name} in {db.name}: {output}")


def start(engines: Engines, site: Site, env_name: str, *, wait: float = 90.0) -> EnvState:
    """Start an environment's containers, the database first, and wait until they are up."""
    parts = [container(engines, site, env_name, role) for role in ("db", "web")]
    for item in parts:
        item.start()
    wait_ready(parts, wait)
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
