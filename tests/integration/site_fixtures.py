"""A site with prod, dev and test environments as real containers, for clone and deploy tests.

`build_world()` makes it on the engine of tests/dockerd.py, from the images of
triage.sandbox.images, with `core.environments.create`: per environment a triage/mariadb and
a triage/php-site container on a network of their own, the web port published on 127.0.0.1.
Prod's database is schema.sql plus generated production
rows (accounts and contact messages at acme.example, sessions, cache and log entries; the
comments, contact and webform messages and account fields of schema.sql hold customers' gmail.com
and staff's acme-shop.example addresses, which the site's sanitize SQL covers); prod's
files directory holds a few files. The site's code lives in a bare git repository (the remote)
with a local checkout beside it; the remote is mounted into every web container, whose code
path is a checkout of it at main. Everything made is removed by id when the world goes.

Test modules take the fixtures by assignment (`world = site_fixtures.world`): importing
them by name would read as unused imports, and `pytest_plugins` would come after the import.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import docker
import docker.errors
import httpx
import pytest
from docker.models.containers import Container
from dockerd import ensure_docker, load_sql

from triage.core.sites.environments import LABEL_SITE, Engines, create, state
from triage.core.sites.inventory import Environment, Site, SmokeCheck
from triage.sandbox.images import MARIADB_IMAGE, PHP_SITE_IMAGE, SCHEMA_SQL, ensure_images
from triage.sandbox.rootfs import IMAGES_DIR, ImagesUnavailable

PROD_DOMAIN = "acme.example"
PASSWORD_VARIABLE = "TRIAGE_TEST_SITE_DB_PASSWORD"
DB_PASSWORD = "site-db-pw"
GIT_MOUNT = "/srv/git/site.git"
CODE_PATH = "/var/www/site"
FILES_PATH = "/var/www/site/files"
JANE_HASH = "$2y$10$XKVrK04NGZNrIKbT1C7a..Pkmk3ELv1/X.rs7pZ9DTC58nIDO8AtC"
PROD_FILES = {"logo.png": os.urandom(40_000), "2024/annual-report.pdf": b"%PDF-1.4 report" * 500}
BRANCH_OK = "ACME-1-new-version"
BRANCH_BROKEN = "ACME-2-broken-deploy"
BRANCH_MERGED = "ACME-3-merged-fix"
BROKEN_TITLE = "Changed by a broken deploy"
SHOP_DOMAIN = "acme-shop.example"
"""Where production runs and its staff write from; not the domain of the site's mail."""
CONTACT_SQL = (
    "UPDATE contact_message SET mail = CONCAT('contact+', id, '@localhost.localdomain'),"
    " message = 'sanitized', ip_address = '127.0.0.1'"
)
WEBFORM_SQL = (
    "UPDATE webform_submission_data SET value = IF(name = 'email',"
    " CONCAT('webform+', sid, '@localhost.localdomain'), 'sanitized')"
    " WHERE name IN ('email', 'message')"
)
PUBLISHED_ADDRESSES = [f"sales@{PROD_DOMAIN}", f"jane.miller@{PROD_DOMAIN}"]
"""Addresses that the site's published content shows (node__body): allowed in a clone."""
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@agency.example",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@agency.example",
}


def unavailable(error: ImagesUnavailable) -> NoReturn:
    """Skip without Docker, or fail when CI is set: CI must run these tests."""
    if os.environ.get("CI"):
        pytest.fail(str(error))
    pytest.skip(str(error))


@pytest.fixture(scope="module")
def docker_client() -> Iterator[docker.DockerClient]:
    try:
        client = ensure_docker()
    except ImagesUnavailable as error:
        unavailable(error)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="module")
def images(docker_client: docker.DockerClient) -> dict[str, str]:
    try:
        return ensure_images(docker_client)
    except ImagesUnavailable as error:
        unavailable(error)


@dataclass
class World:
    """The site, its engines, and helpers to look into its containers."""

    site: Site
    engines: Engines
    client: docker.DockerClient
    remote: Path
    checkout: Path

    def container(self, env: str, role: str) -> Container:
        envs = self.site.env(env)
        return self.client.containers.get(
            envs.web_container if role == "web" else envs.db_container
        )

    def sql(self, env: str, query: str) -> str:
        """Rows of `query` in the env's database (as root, over the socket), tab-separated."""
        return self.run(
            env, "db", ["mariadb", "--batch", "--skip-column-names", "drupal", "-e", query]
        )

    def run(self, env: str, role: str, cmd: list[str]) -> str:
        result = self.container(env, role).exec_run(cmd)
        output: str = result.output.decode(errors="replace")
        assert result.exit_code == 0, output
        return output.strip()

    def head(self, env: str) -> str:
        return self.run(
            env, "web", ["git", "-c", "safe.directory=*", "-C", CODE_PATH, "rev-parse", "HEAD"]
        )

    def files(self, env: str) -> list[str]:
        listing = self.run(env, "web", ["sh", "-c", f"cd {FILES_PATH} && find . -type f | sort"])
        return [line.removeprefix("./") for line in listing.splitlines()]

    def get(self, env: str, path: str = "/") -> httpx.Response:
        with httpx.Client(base_url=self.site.env(env).url, timeout=10) as http:
            return http.get(path)

    def sha(self, ref: str) -> str:
        return git(self.checkout, "rev-parse", f"origin/{ref}" if ref != "HEAD" else ref)

    def reset(self, env: str) -> None:
        """Put a non-prod env back as the world made it: fresh schema, main, its own files."""
        self.run(env, "db", ["mariadb", "-e", "DROP DATABASE drupal; CREATE DATABASE drupal"])
        load_sql(self.container(env, "db"), "drupal", SCHEMA_SQL.read_bytes())
        _init_code(self.container(env, "web"))
        self.run(
            env,
            "web",
            [
                "sh",
                "-c",
                f"rm -f /.triage-unsafe; find {FILES_PATH} -mindepth 1 -delete;"
                f" echo mine > {FILES_PATH}/{env}-only.txt",
            ],
        )


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _commit(repo: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


def make_repository(root: Path) -> tuple[Path, Path]:
    """A bare remote with main and three ticket branches, and a local checkout of it."""
    remote, work = root / "remote.git", root / "work"
    git(root, "init", "-q", "--bare", "-b", "main", str(remote))
    git(root, "clone", "-q", str(remote), str(work))
    shutil.copytree(IMAGES_DIR / "php-site" / "site", work, dirs_exist_ok=True)
    _commit(
        work,
        {
            "version.txt": "1\n",
            ".gitignore": "files/\n",
            "scripts/deploy.sh": "echo deploy hook ok\n",
        },
        "The site",
    )
    git(work, "push", "-q", "origin", "HEAD:main")
    for branch, files in (
        (BRANCH_OK, {"version.txt": "2\n"}),
        (
            BRANCH_BROKEN,
            {
                "version.txt": "broken\n",
                "scripts/deploy.sh": (
                    f"drush sqlq \"UPDATE node_field_data SET title = '{BROKEN_TITLE}'"
                    ' WHERE nid = 1"\n'
                    "echo 'deploy hook failed: module acme_shop is missing' >&2\nexit 1\n"
                ),
            },
        ),
        (BRANCH_MERGED, {"fix.txt": "fixed\n"}),
    ):
        git(work, "checkout", "-q", "-b", branch, "main")
        _commit(work, files, branch)
        git(work, "push", "-q", "origin", branch)
    git(work, "checkout", "-q", "main")
    git(work, "merge", "-q", "--no-ff", "-m", f"Merge {BRANCH_MERGED}", BRANCH_MERGED)
    git(work, "push", "-q", "origin", "main")
    checkout = root / "checkout"
    git(root, "clone", "-q", str(remote), str(checkout))
    return remote, checkout


def _init_code(web: Container) -> None:
    script = (
        f"cd {CODE_PATH} && (test -d .git || (git init -q -b main && git remote add origin"
        f" {GIT_MOUNT})) && git -c safe.directory=* fetch -q origin"
        " && git -c safe.directory=* checkout -q -f --detach origin/main"
    )
    result = web.exec_run(["sh", "-c", script])
    assert result.exit_code == 0, result.output.decode(errors="replace")


def put_files(web: Container, files: dict[str, bytes]) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.uid, info.gid = len(data), 33, 33
            archive.addfile(info, io.BytesIO(data))
    assert web.put_archive(FILES_PATH, buffer.getvalue())


def prod_rows(users: int = 300) -> str:
    """Production data beyond schema.sql: accounts, sessions, contact messages, cache, log."""
    rows = []
    for uid in range(6, 6 + users):
        host = PROD_DOMAIN if uid % 3 else f"mail.{PROD_DOMAIN}"
        rows.append(
            f"({uid}, 'en', 'customer{uid}', '{JANE_HASH}', 'customer{uid}@{host}', 1,"
            f" 1700000000, 0, 'Customer{uid}@{host}', 1)"
        )
    sql = [
        "INSERT INTO users (uid, uuid, langcode) SELECT seq, UUID(), 'en' FROM seq_6_to_"
        f"{5 + users}",
        "INSERT INTO users_field_data (uid, langcode, name, pass, mail, status, created, access,"
        " init, default_langcode) VALUES " + ", ".join(rows),
        "INSERT INTO sessions (uid, sid, hostname, timestamp, session) SELECT seq % 300 + 6,"
        " MD5(seq), '203.0.113.9', 1795711320, 'x' FROM seq_1_to_50",
        "INSERT INTO cache_render (cid, data, expire, created, serialized, tags, checksum)"
        " SELECT CONCAT('page:', seq), REPEAT('cached ', 40), -1, 1795711320, 0, '', '0'"
        " FROM seq_1_to_200",
        "INSERT INTO watchdog (uid, type, message, variables, severity, location, hostname,"
        " timestamp) SELECT 0, 'php', 'Notice', '', 5, 'https://www.acme.example/', '1.2.3.4',"
        " 1795711320 FROM seq_1_to_200",
        "INSERT INTO contact_message (id, uuid, contact_form, langcode, name, mail, message)"
        " SELECT seq + 100, UUID(), 'feedback', 'en', CONCAT('Visitor ', seq),"
        f" CONCAT('visitor', seq, '@{PROD_DOMAIN}'),"
        f" CONCAT('Please call back, or write to visitor', seq, '@{PROD_DOMAIN}')"
        " FROM seq_1_to_40",
    ]
    return ";\n".join(sql) + ";\n"


def make_site(prefix: str, remote: Path, checkout: Path, envs: tuple[str, ...]) -> Site:
    def environment(name: str) -> Environment:
        return Environment(
            web_container=f"{prefix}-{name}-web", db_container=f"{prefix}-{name}-db",
            db_user="drupal", db_password_env=PASSWORD_VARIABLE, code_path=CODE_PATH,
            files_path=FILES_PATH, web_image=PHP_SITE_IMAGE, db_image=MARIADB_IMAGE,
            network=f"{prefix}-{name}", volumes={f"{prefix}-git": GIT_MOUNT},
            smoke=[SmokeCheck(path="/", contains="Acme Corporation"),
                   SmokeCheck(path="/health", contains="OK")],
        )  # fmt: skip

    site = Site(
        name="Acme main site", client="Acme Corp", repo=str(remote), checkout=str(checkout),
        post_clone=["drush deploy"], deploy=["drush deploy", "sh scripts/deploy.sh"],
        maintenance_on=["drush sset system.maintenance_mode 1"],
        maintenance_off=["drush sset system.maintenance_mode 0"],
        sanitize_sql=[CONTACT_SQL, WEBFORM_SQL], allowed_emails=PUBLISHED_ADDRESSES,
        envs={name: environment(name) for name in envs},
    )  # fmt: skip
    site.id = prefix
    return site


@contextlib.contextmanager
def build_world(
    client: docker.DockerClient,
    root: Path,
    envs: tuple[str, ...] = ("prod", "dev", "test"),
    prod_users: int = 300,
) -> Iterator[World]:
    """The site, its environments up and filled; every container, network and volume removed."""
    os.environ[PASSWORD_VARIABLE] = DB_PASSWORD
    prefix = f"triage-site-{uuid.uuid4().hex[:8]}"
    remote, checkout = make_repository(root)
    site = make_site(prefix, remote, checkout, envs)
    engines = Engines({"": client})
    volume = client.volumes.create(
        f"{prefix}-git",
        driver="local",
        driver_opts={"type": "none", "o": "bind", "device": str(remote)},
    )
    try:
        world = World(site, engines, client, remote, checkout)
        for name in envs:
            create(engines, site, name, ports={"80/tcp": ("127.0.0.1", None)})
            site.envs[name].url = state(engines, site, name).url
            if name == "prod":
                load_sql(
                    world.container(name, "db"),
                    "drupal",
                    SCHEMA_SQL.read_bytes() + prod_rows(prod_users).encode(),
                )
                _init_code(world.container(name, "web"))
                put_files(world.container(name, "web"), PROD_FILES)
            else:
                world.reset(name)
        yield world
    finally:
        remove_site(client, prefix, volume.id)
        engines.close()


def remove_site(client: docker.DockerClient, prefix: str, volume_id: str | None = None) -> None:
    """Remove, by id, what carries the site's label, and the git volume."""
    label = {"label": f"{LABEL_SITE}={prefix}"}
    for item in client.containers.list(all=True, filters=label):
        with contextlib.suppress(docker.errors.NotFound):
            client.containers.get(item.id).remove(force=True, v=True)
    for network in client.networks.list(filters=label):
        with contextlib.suppress(docker.errors.NotFound):
            client.networks.get(network.id).remove()
    volumes = [v.id for v in client.volumes.list(filters=label)] + [volume_id]
    for volume_id_ in volumes:
        if volume_id_:
            with contextlib.suppress(docker.errors.NotFound):
                client.volumes.get(volume_id_).remove(force=True)


@pytest.fixture(scope="module")
def world(
    docker_client: docker.DockerClient,
    images: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    with build_world(docker_client, tmp_path_factory.mktemp("site")) as made:
        yield made


@pytest.fixture
def fresh(world: World) -> World:
    """The world with dev and test as the world made them (prod is never changed by the tests)."""
    for name in world.site.envs:
        if name != "prod":
            world.reset(name)
    return world
