"""Demo sites on real containers, for `triage demo --sites N`: a rollout a newcomer can watch.

`demo_sites(client, home, count, say)` makes, on the local Docker engine:

- a Docker network of the demo's own; its gateway serves the stand-in Composer repository
  (composer_repo), so the sites' Composer installs offline;
- two MariaDB containers that the environments share, one for the prods and one for dev and
  test (a clone never writes where production lives): a database per site and environment,
  `<site>_<env>`, each loaded with the sandbox schema;
- per site (kinds from demo_code.SPECS), a bare git repository and a checkout under `home`,
  and prod, dev and test environments made by core.sites.environments.create from the
  triage/php-site image, their web port published on 127.0.0.1 only;
- the sites written to `home/sites.toml`, the `[security.rollout]` settings the demo uses
  (one support package goes on to production with a window of 0 hours), and the advisory.

Composer itself makes each site's composer.json and composer.lock (in its dev container) and
installs them in every environment. Everything made carries the label `triage.demo=<id>`
(one id per data directory) and is removed by id when the block ends, or by `remove_demo`
(`triage demo --reset`) after a demo that was killed. Nothing listens beyond 127.0.0.1 and
the demo's network.

The one module of the sandbox that uses Triage's core: the environments are made by the same
code that makes a team's (docs/architecture.md).
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from triage.core.sites.environments import Engines, create
from triage.core.sites.inventory import Inventory, Site, load_inventory
from triage.sandbox.composer_repo import ADVISORY, ComposerRepository, serve
from triage.sandbox.demo_code import (
    PROD_PACKAGE,
    DemoSiteError,
    SiteSpec,
    install,
    lock_site,
    make_repository,
    put_file,
    spec_for,
)
from triage.sandbox.demo_toml import site_table, toml_document
from triage.sandbox.images import MARIADB_IMAGE, SCHEMA_SQL

LABEL = "triage.demo"
ENVS = ("prod", "dev", "test")
WAIT_S = 180.0
PARALLEL = 3
"""Sites made at once (their containers start, Composer runs in them)."""
Say = Callable[[str], None]


@dataclass
class DemoSites:
    """The demo's sites as they run: where they are written, and what their rollout needs."""

    demo: str
    inventory: Inventory
    sites_file: Path
    specs: dict[str, SiteSpec]
    repository: ComposerRepository
    rollout: dict[str, Any] = field(default_factory=dict)
    """The demo's `[security.rollout]` settings."""
    advisories: dict[str, Any] = field(default_factory=dict)
    """The demo's advisory, in the Packagist shape."""


def demo_id(data_dir: Path) -> str:
    """The label value of one data directory's demo."""
    return hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:8]


def rollout_settings() -> dict[str, Any]:
    """The demo's `[security.rollout]`: the Platinum sites go on to production at once."""
    return {
        "packages": {PROD_PACKAGE: {"to": "prod", "window_hours": 0}},
        "package_order": [PROD_PACKAGE, "Gold", "Silver"],
        "max_parallel": 2,
        "per_engine": 2,
    }


def remove_demo(client: docker.DockerClient, demo: str) -> int:
    """Remove, by id, every container, network and volume of this demo; how many."""
    wanted = {"label": f"{LABEL}={demo}"}
    removed = 0
    for item in client.containers.list(all=True, filters=wanted):
        with contextlib.suppress(docker.errors.NotFound):
            client.containers.get(item.id).remove(force=True, v=True)
            removed += 1
    for volume in client.volumes.list(filters=wanted):
        with contextlib.suppress(docker.errors.NotFound):
            client.volumes.get(volume.id).remove(force=True)
            removed += 1
    for network in client.networks.list(filters=wanted):
        with contextlib.suppress(docker.errors.NotFound):
            client.networks.get(network.id).remove()
            removed += 1
    return removed


@contextlib.contextmanager
def demo_sites(
    client: docker.DockerClient, home: Path, count: int, say: Say, demo: str
) -> Iterator[DemoSites]:
    """`count` demo sites up, locked and installed; all of it removed when the block ends."""
    if count < 1:
        raise DemoSiteError(f"a demo needs at least one site, not {count}")
    remove_demo(client, demo)  # what a killed demo left
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    prefix = f"triage-demo-{demo}"
    labels = {LABEL: demo}
    try:
        network = client.networks.create(prefix, driver="bridge", labels=labels)
        network.reload()
        gateway = str(network.attrs["IPAM"]["Config"][0]["Gateway"])
        with serve(gateway, advisories={"drupal/core": [ADVISORY]}) as repository:
            say(f"Composer repository of stand-in packages on {repository.base}")
            # Root without a password, reachable only on the demo's network.
            dbs = {
                role: client.containers.run(
                    MARIADB_IMAGE,
                    name=f"{prefix}-{role}-db",
                    network=prefix,
                    detach=True,
                    labels=labels,
                    environment={"MARIADB_ALLOW_EMPTY_ROOT_PASSWORD": "1"},
                )
                for role in ("prod", "work")
            }
            servers = {env: str(dbs["prod" if env == "prod" else "work"].name) for env in ENVS}
            specs, tables = {}, {}
            for index in range(count):
                site_id, spec = spec_for(index)
                remote, checkout = make_repository(home / site_id, spec)
                specs[site_id] = spec
                tables[site_id] = site_table(site_id, spec, remote, checkout, prefix, servers)
                client.volumes.create(
                    f"{prefix}-{site_id}-git", driver="local", labels=labels,
                    driver_opts={"type": "none", "o": "bind", "device": str(remote)},
                )  # fmt: skip
            sites_file = home / "sites.toml"
            sites_file.write_text(toml_document(tables))
            inventory = load_inventory(sites_file)
            for db in dbs.values():
                _wait_healthy(db)

            def one(site_id: str) -> dict[str, str]:
                return _one_site(client, dbs, inventory.sites[site_id], specs[site_id],
                                 repository.base, labels, say)  # fmt: skip

            with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
                urls = dict(zip(tables, pool.map(one, tables), strict=True))
            for site_id, table in tables.items():
                for env, url in urls[site_id].items():
                    table["envs"][env]["url"] = url
            sites_file.write_text(toml_document(tables))
            yield DemoSites(
                demo, load_inventory(sites_file), sites_file, specs, repository,
                rollout_settings(), {"advisories": {"drupal/core": [ADVISORY]}},
            )  # fmt: skip
    finally:
        say("removing the demo's containers, volumes and network")
        removed = remove_demo(client, demo)
        say(f"removed the demo's {removed} containers, volumes and network")


def _one_site(
    client: docker.DockerClient, dbs: dict[str, Container], site: Site, spec: SiteSpec,
    repository: str, labels: dict[str, str], say: Say,
) -> dict[str, str]:  # fmt: skip
    """One site: its environments made by core's create, its lock, its packages; {env: URL}."""
    site_id = site.id
    engines = Engines({"": client})
    urls, web = {}, {}
    for env in ENVS:
        create(engines, site, env, ports={"80/tcp": ("127.0.0.1", None)}, wait=WAIT_S,
               shared_db=True, labels=labels)  # fmt: skip
        _load(dbs["prod" if env == "prod" else "work"], site.envs[env].db_name,
              SCHEMA_SQL.read_bytes())  # fmt: skip
        web[env] = client.containers.get(site.envs[env].web_container)
        urls[env] = f"http://127.0.0.1:{web[env].ports['80/tcp'][0]['HostPort']}"
    say(f"{site_id}: prod, dev and test run; Composer makes its composer.lock")
    versions = lock_site(web["dev"], Path(site.checkout), spec, repository)
    for env in ENVS:
        install(web[env])
    say(f"{site_id}: drupal/core {versions['drupal/core']} in prod, dev and test ({urls['prod']})")
    return urls


def _load(db: Container, name: str, schema: bytes) -> None:
    """Load the sandbox schema into database `name` of the shared server."""
    put_file(db, f"/tmp/{name}.sql", schema.decode())
    result = db.exec_run(["sh", "-c", f"mariadb {name} < /tmp/{name}.sql && rm /tmp/{name}.sql"])
    if result.exit_code != 0:
        raise DemoSiteError(f"loading the schema into {name}: {result.output.decode().strip()}")


def _wait_healthy(db: Container) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        db.reload()
        if (db.attrs["State"].get("Health") or {}).get("Status") == "healthy":
            return
        if db.status in ("exited", "dead"):
            break
        time.sleep(0.5)
    logs = db.logs(tail=10).decode(errors="replace").strip()
    raise DemoSiteError(f"the demo's database server {db.name} did not start: {logs}")
