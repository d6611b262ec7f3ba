"""Sites on real containers for the security rollout tests and benchmark (a support module).

`build_world(client, root, count)` makes `count` sites (cycling through SPECS) on one Docker
network of the world's own: the Composer repository of `triage.sandbox.composer_repo` is
served on that network's gateway, the advisories feed on 127.0.0.1. Each site has two
MariaDB containers (one for prod, one shared by dev and test, a database per environment)
and prod, dev and test web containers (triage/php-site) with its bare git remote mounted.
(The demo shares two MariaDB servers between all its sites; the tests keep each site's
apart.)
Each site's composer.json and composer.lock are made by Composer itself in the site's dev
container (first pinned to the site's versions, then `composer update --lock` with its real
constraint), committed on main and installed (`composer install`) in every environment.
Everything made is removed by id.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container
from dockerd import put_file, wait_healthy
from site_fixtures import CONTACT_SQL, PUBLISHED_ADDRESSES, WEBFORM_SQL, git

from triage.core.sites.environments import Engines
from triage.core.sites.inventory import Environment, Inventory, Site, SmokeCheck
from triage.sandbox.composer_repo import ComposerRepository, composer_json, serve
from triage.sandbox.demo_code import CHECK, CHECK_PHP, CODE, GIT_MOUNT, LEGACY, LEGACY_PHP
from triage.sandbox.images import MARIADB_IMAGE, PHP_SITE_IMAGE, SCHEMA_SQL
from triage.sandbox.rootfs import IMAGES_DIR

PASSWORD_VARIABLE = "TRIAGE_TEST_ROLLOUT_DB_PASSWORD"
DB_PASSWORD = "rollout-db-pw"
ENVS = ("prod", "dev", "test")
LABEL = "triage.test-world"


@dataclass(frozen=True)
class SiteSpec:
    """One kind of site: its support package, constraint, versions, tests, expected end."""

    name: str
    package: str
    constraint: str
    core: str
    symfony: str
    tests: tuple[str, ...]
    expect: str
    new: str = ""


SPECS = (
    SiteSpec("a", "Gold", "^10.3", "10.3.1", "6.4.0", (CHECK,), "tested", "10.3.6"),
    SiteSpec("b", "Gold", "^10.3", "10.3.6", "6.4.8", (CHECK,), "patched"),
    SiteSpec("c", "Silver", "~10.2.0", "10.2.7", "6.3.12", (CHECK,), "tested", "10.2.8"),
    SiteSpec("d", "Gold", "^10.3", "10.3.1", "6.4.0", (CHECK, LEGACY), "failed", "10.3.6"),
    SiteSpec("e", "Silver", "10.1.*", "10.1.8", "6.3.12", (CHECK,), "no-fix"),
    SiteSpec("f", "Platinum", "^10.3", "10.3.5", "6.4.0", (CHECK,), "deployed", "10.3.6"),
)


@dataclass
class World:
    """The sites, their specs, the engines, the repository and the feed."""

    inventory: Inventory
    specs: dict[str, SiteSpec]
    engines: Engines
    client: docker.DockerClient
    repo: ComposerRepository
    feed: str
    """The advisories feed Triage polls (on 127.0.0.1)."""

    def site(self, spec_name: str, index: int = 0) -> Site:
        found = [s for s in self.inventory.sites.values() if self.specs[s.id].name == spec_name]
        return found[index]

    def web(self, site: Site, env: str) -> Container:
        return self.client.containers.get(site.env(env).web_container)

    def run(self, site: Site, env: str, cmd: str) -> str:
        result = self.web(site, env).exec_run(["sh", "-c", cmd], workdir=CODE)
        output: str = result.output.decode(errors="replace")
        assert result.exit_code == 0, output
        return output.strip()

    def head(self, site: Site, env: str) -> str:
        return self.run(site, env, "git -c safe.directory=* rev-parse HEAD")

    def drupal(self, site: Site, env: str) -> str:
        """The drupal/core version the environment's vendor/ runs."""
        script = "require 'vendor/autoload.php'; echo Drupal::VERSION;"
        return self.run(site, env, f'php -r "{script}"')

    def remote(self, site: Site, *args: str) -> str:
        return git(Path(site.repo), *args)


def _database(db: Container, name: str) -> None:
    """Create database `name` with schema.sql (a file of its own: loads run side by side)."""
    put_file(db, f"/tmp/{name}.sql", SCHEMA_SQL.read_bytes())
    _exec(db, f'mariadb -e "CREATE DATABASE {name}" && mariadb {name} < /tmp/{name}.sql', "/")


def _repository(root: Path, spec: SiteSpec) -> tuple[Path, Path]:
    """The site's bare remote (main: the site's code, no composer files yet) and a checkout."""
    remote, work = root / "remote.git", root / "checkout"
    git(root, "init", "-q", "--bare", "-b", "main", str(remote))
    git(root, "clone", "-q", str(remote), str(work))
    shutil.copytree(IMAGES_DIR / "php-site" / "site", work, dirs_exist_ok=True)
    (work / "tests").mkdir()
    (work / "tests" / "check.php").write_text(CHECK_PHP)
    if LEGACY in spec.tests:
        (work / "tests" / "legacy.php").write_text(LEGACY_PHP)
    (work / ".gitignore").write_text("files/\nvendor/\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "The site")
    git(work, "push", "-q", "origin", "HEAD:main")
    return remote, work


def _site(site_id: str, spec: SiteSpec, remote: Path, checkout: Path, network: str) -> Site:
    db_prefix = site_id.rsplit("-", 1)[-1]

    def environment(env: str) -> Environment:
        return Environment(
            web_container=f"{site_id}-{env}-web",
            db_container=f"{site_id}-{'prod' if env == 'prod' else 'work'}-db",
            db_name=f"{db_prefix}_{env}", db_user="drupal", db_password_env=PASSWORD_VARIABLE,
            code_path=CODE, files_path=f"{CODE}/files", network=network,
            volumes={f"{site_id}-git": GIT_MOUNT},
            smoke=[SmokeCheck(path="/", contains="Acme Corporation"),
                   SmokeCheck(path="/health", contains="OK")],
        )  # fmt: skip

    site = Site(
        name=f"Site {db_prefix}", client=f"Client {db_prefix}", package=spec.package,
        repo=str(remote), checkout=str(checkout), tests=list(spec.tests),
        deploy=["composer install --no-interaction --no-progress", "drush deploy"],
        restore=["composer install --no-interaction --no-progress"],
        post_clone=["drush deploy"],
        maintenance_on=["drush sset system.maintenance_mode 1"],
        maintenance_off=["drush sset system.maintenance_mode 0"],
        sanitize_sql=[CONTACT_SQL, WEBFORM_SQL], allowed_emails=PUBLISHED_ADDRESSES,
        envs={env: environment(env) for env in ENVS},
    )  # fmt: skip
    site.id = site_id
    return site


def _exec(item: Container, script: str, workdir: str = CODE) -> str:
    result = item.exec_run(["sh", "-c", script], workdir=workdir)
    output: str = result.output.decode(errors="replace")
    assert result.exit_code == 0, f"{item.name}: {script}: {output}"
    return output


def _code_at_main(web: Container) -> None:
    _exec(web, f"(test -d .git || (git init -q -b main && git remote add origin {GIT_MOUNT}))"
               " && git -c safe.directory=* fetch -q origin"
               " && git -c safe.directory=* checkout -q -f --detach origin/main")  # fmt: skip


def _lock(world: World, site: Site, spec: SiteSpec) -> None:
    """Composer makes the site's lock in dev; main gets it; every environment installs it."""
    dev = world.web(site, "dev")
    for web in (world.web(site, env) for env in ENVS):
        _code_at_main(web)
    pinned = {"drupal/core": spec.core, "symfony/http-foundation": spec.symfony}
    put_file(
        dev,
        f"{CODE}/composer.json",
        composer_json(f"acme/site-{spec.name}", pinned, world.repo.base).encode(),
    )
    _exec(dev, "composer update --no-interaction --no-progress")
    wanted = {"drupal/core": spec.constraint}
    put_file(
        dev,
        f"{CODE}/composer.json",
        composer_json(f"acme/site-{spec.name}", wanted, world.repo.base).encode(),
    )
    _exec(dev, "composer update --lock --no-interaction --no-progress")
    checkout = Path(site.checkout)
    for name in ("composer.json", "composer.lock"):
        (checkout / name).write_text(_exec(dev, f"cat {name}"))
    lock = json.loads((checkout / "composer.lock").read_text())
    versions = {p["name"]: p["version"] for p in lock["packages"]}
    assert versions == {"drupal/core": spec.core, "symfony/http-foundation": spec.symfony}
    git(checkout, "add", "-A")
    git(checkout, "commit", "-q", "-m", f"drupal/core {spec.core}")
    git(checkout, "push", "-q", "origin", "HEAD:main")
    for web in (world.web(site, env) for env in ENVS):
        _code_at_main(web)
        _exec(web, "composer install --no-interaction --no-progress")


@contextlib.contextmanager
def build_world(client: docker.DockerClient, root: Path, count: int = 6) -> Iterator[World]:
    """`count` sites up, locked and installed; every container, network and volume removed."""
    os.environ[PASSWORD_VARIABLE] = DB_PASSWORD
    prefix = f"triage-ro-{uuid.uuid4().hex[:8]}"
    labels = {LABEL: prefix}
    made: list[Container] = []
    volumes: list[str] = []
    network = client.networks.create(prefix, driver="bridge", labels=labels)
    try:
        network.reload()
        gateway = network.attrs["IPAM"]["Config"][0]["Gateway"]
        with serve(gateway) as repo, serve("127.0.0.1") as feed:
            common = {"network": prefix, "detach": True, "labels": labels}
            dbs: dict[str, Container] = {}
            sites, specs = {}, {}
            for index in range(count):
                spec = SPECS[index % len(SPECS)]
                site_id = f"{prefix}-{spec.name}{index // len(SPECS) or ''}"
                home = root / site_id
                home.mkdir(parents=True)
                remote, checkout = _repository(home, spec)
                sites[site_id] = _site(site_id, spec, remote, checkout, prefix)
                specs[site_id] = spec
                volume = client.volumes.create(
                    f"{site_id}-git", driver="local", labels=labels,
                    driver_opts={"type": "none", "o": "bind", "device": str(remote)},
                )  # fmt: skip
                volumes.append(str(volume.id))
                for role in ("prod", "work"):
                    dbs[f"{site_id}-{role}-db"] = client.containers.run(
                        MARIADB_IMAGE, name=f"{site_id}-{role}-db", **common,
                        environment={"MARIADB_USER": "drupal", "MARIADB_PASSWORD": DB_PASSWORD},
                    )  # fmt: skip
                    made.append(dbs[f"{site_id}-{role}-db"])
                for env in ENVS:
                    made.append(_web(client, sites[site_id], env, common))
            for db in dbs.values():
                wait_healthy(db, 120)
                _exec(db, "mariadb -e \"GRANT ALL PRIVILEGES ON *.* TO 'drupal'@'%'\"", "/")
            for site in sites.values():
                for env in ENVS:
                    _database(dbs[site.env(env).db_container], site.env(env).db_name)
            inventory = Inventory(sites=sites)
            world = World(inventory, specs, Engines({"": client}), client, repo,
                          f"{feed.base}/api/security-advisories/")  # fmt: skip
            for item in made:
                wait_healthy(item, 120)
            for site in sites.values():
                for env in ENVS:
                    world.web(site, env).reload()
                    port = world.web(site, env).attrs["NetworkSettings"]["Ports"]["80/tcp"][0]
                    site.envs[env].url = f"http://127.0.0.1:{port['HostPort']}"
            with ThreadPoolExecutor(max_workers=3) as pool:
                list(pool.map(lambda s: _lock(world, s, specs[s.id]), sites.values()))
            yield world
    finally:
        left = set()  # clone networks that a killed clone left attached to our containers
        for item in made:
            with contextlib.suppress(docker.errors.NotFound):
                found = client.containers.get(item.id)
                nets = found.attrs["NetworkSettings"]["Networks"] or {}
                left |= {n["NetworkID"] for name, n in nets.items() if name != prefix}
                found.remove(force=True, v=True)
        for network_id in left:
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                client.networks.get(network_id).remove()
        for volume_id in volumes:
            with contextlib.suppress(docker.errors.NotFound):
                client.volumes.get(volume_id).remove(force=True)
        with contextlib.suppress(docker.errors.NotFound):
            client.networks.get(network.id).remove()


def _web(client: docker.DockerClient, site: Site, env: str, common: dict[str, object]) -> Container:
    conf = site.env(env)
    environment = {
        "DB_HOST": conf.db_container, "DB_NAME": conf.db_name, "DB_USER": "drupal",
        "DB_PASSWORD": DB_PASSWORD, "SITE_ENV": env, "COMPOSER_ALLOW_SUPERUSER": "1",
    }  # fmt: skip
    made: Container = client.containers.run(
        PHP_SITE_IMAGE, name=conf.web_container, environment=environment,
        volumes={f"{site.id}-git": {"bind": GIT_MOUNT, "mode": "rw"}},
        ports={"80/tcp": ("127.0.0.1", None)}, **common,
    )  # fmt: skip
    return made
