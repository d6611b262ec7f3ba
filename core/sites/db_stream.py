"""Copying production's database into another environment's, as fast as the engines allow.

One consistent dump (`--single-transaction`; the data of the skipped tables left out, their
structure kept) goes into the target's client. When both environments run on one engine, the
target pulls: a network of the clone's own joins the two db containers for the copy, and the
dump runs inside the target's db container against production's server, piped straight into
the client there, so the SQL never passes through Triage. The network is removed afterwards;
production's password travels only in the environment of that one command. When the engines
differ, or the target cannot log in to production over that network, the engines' exec
streams are joined with large buffers instead (`core.containers.pipe`).

The dump stays one stream: dumps of tables side by side would each see another moment of
production, and the one client keeps the target's server busy on the cores it has.
"""

from __future__ import annotations

import contextlib
import shlex
import uuid

import docker.errors
from docker.models.containers import Container
from docker.models.networks import Network

from triage.core.sites.containers import CommandFailed, command_line, exec_in, pipe
from triage.core.sites.site_env import SiteEnv

SOURCE_ALIAS = "triage-clone-source"
"""How production's db container is named on a clone's network (the network's id follows):
a server that several clones share (sites on one database server) is a different host on
each clone's network, so one clone's name never answers for another's."""
DUMP_OPTIONS = ["--single-transaction", "--quick", "--no-tablespaces", "--skip-lock-tables"]


def dump_command(prod: SiteEnv, skipped: list[str], host: str = "") -> str:
    """The shell line of the dump of prod: structure of every table, data of all but `skipped`."""
    database = prod.env.db_name
    base = [*prod.client("mysqldump"), *DUMP_OPTIONS]
    if host:
        base.append(f"--host={host}")
    ignore = [f"--ignore-table={database}.{table}" for table in skipped]
    parts = [shlex.join([*base, "--no-data", database, *skipped])] if skipped else []
    parts.append(shlex.join([*base, *ignore, database]))
    return " && ".join(parts)


def copy_database(prod: SiteEnv, dest: SiteEnv, skipped: list[str]) -> int:
    """Load prod's database (data of `skipped` left out) into dest's; the bytes of SQL."""
    reporter = dest.reporter
    if prod.env.docker_host != dest.env.docker_host:
        reporter.log("production runs on another engine: the dump is relayed through Triage")
    elif reporter.dry_run:
        return _pull(prod, dest, skipped)
    else:
        network = _join(prod.db, dest.db)
        if network is None:
            reporter.log("the engine made no network for the copy: it is relayed through Triage")
        else:
            host = _alias(network)
            try:
                if _reachable(prod, dest, host):
                    return _pull(prod, dest, skipped, host)
            finally:
                _part(network, prod.db, dest.db)
    return pipe(
        prod.db, ["sh", "-c", dump_command(prod, skipped)], dest.db,
        [*dest.client(), dest.env.db_name], reporter,
        source_env=prod.db_env, sink_env=dest.db_env,
    )  # fmt: skip


def _join(source: Container, sink: Container) -> Network | None:
    """A network of the copy's own with both db containers on it; None if the engine refuses."""
    try:
        network = sink.client.networks.create(
            f"triage-clone-{uuid.uuid4().hex[:12]}", driver="bridge", internal=True,
            labels={"triage.role": "clone"},
        )  # fmt: skip
    except docker.errors.APIError:
        return None
    try:
        network.connect(source, aliases=[_alias(network)])
        network.connect(sink)
    except docker.errors.APIError:
        _part(network, source, sink)
        return None
    return network


def _alias(network: Network) -> str:
    return f"{SOURCE_ALIAS}-{network.name.rsplit('-', 1)[-1]}"


def _part(network: Network, source: Container, sink: Container) -> None:
    """Take both containers off the copy's network and remove it."""
    for item in (sink, source):
        with contextlib.suppress(docker.errors.APIError):
            network.disconnect(item, force=True)
    with contextlib.suppress(docker.errors.APIError):
        network.remove()


def _source_env(prod: SiteEnv, dest: SiteEnv) -> dict[str, str]:
    return {"SOURCE_PWD": prod.db_env.get("MYSQL_PWD", ""), **dest.db_env}


def _reachable(prod: SiteEnv, dest: SiteEnv, host: str) -> bool:
    """Whether the target's container logs in to production's server over the network."""
    probe = [*prod.client(), f"--host={host}", "--connect-timeout=10", "-e", "SELECT 1",
             prod.env.db_name]  # fmt: skip
    script = f'MYSQL_PWD="$SOURCE_PWD" {shlex.join(probe)}'
    try:
        exec_in(dest.db, ["sh", "-c", script], dest.reporter, env=_source_env(prod, dest),
                echo=False)  # fmt: skip
    except CommandFailed as error:
        dest.reporter.log(
            f"{dest.db.name} cannot log in to production's database ({error.reason}): "
            "the dump is relayed through Triage"
        )
        return False
    return True


def _pull(prod: SiteEnv, dest: SiteEnv, skipped: list[str], host: str = SOURCE_ALIAS) -> int:
    """Run the dump inside dest's db container, piped into its client; the bytes of SQL."""
    load = shlex.join([*dest.client(), dest.env.db_name])
    script = (
        "set -o pipefail; count=$(mktemp); trap 'rm -f \"$count\"' EXIT; "
        f'{{ export MYSQL_PWD="$SOURCE_PWD"; {dump_command(prod, skipped, host)}; }}'
        f' | tee >(wc -c > "$count") | {load}; status=$?; wait $!; cat "$count"; exit $status'
    )
    command = ["bash", "-c", script]
    if dest.reporter.dry_run:
        dest.reporter.log(f"docker network connect (a network of the clone's own) "
                          f"{prod.db.name} {dest.db.name}")  # fmt: skip
        dest.reporter.log(command_line(dest.db, command, _source_env(prod, dest)))
        return 0
    out = exec_in(dest.db, command, dest.reporter, env=_source_env(prod, dest), echo=False)
    lines = out.split()
    return int(lines[-1]) if lines and lines[-1].isdigit() else 0
