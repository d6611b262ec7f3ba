"""The Docker sandbox for real: a dockerd, the offline images, a PHP site talking to MariaDB.

The engine and the images come from tests/dockerd.py. Without Docker the tests skip, or fail
when CI is set. The first run builds the images (a few minutes); later runs reuse them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import docker
import docker.errors
import httpx
import pytest
import site_fixtures
from docker.models.containers import Container
from docker.models.networks import Network
from dockerd import host_port, load_sql, wait_healthy

from triage.sandbox.images import (
    BASE_IMAGE,
    HASH_LABEL,
    IMAGES,
    MARIADB_IMAGE,
    PHP_SITE_IMAGE,
    SCHEMA_SQL,
    ensure_images,
)

# The first build of the images (debootstrap, then apt) takes minutes on a 2-core machine.
pytestmark = [pytest.mark.docker, pytest.mark.timeout(1200)]

DATABASE = "drupal"
DB_USER = "drupal"
DB_PASSWORD = "s3cret-db"
ROOT_PASSWORD = "r00t-pw"
SITE_NAME = "Acme Corporation"


# The engine and the images, shared with the other Docker tests.
docker_client = site_fixtures.docker_client
images = site_fixtures.images


@dataclass
class Site:
    network: Network
    db: Container
    web: Container
    url: str

    def sql(self, query: str) -> str:
        """Run `query` with the mariadb client in the db container; its tab-separated output."""
        result = self.db.exec_run(
            ["mariadb", "--batch", "--skip-column-names", DATABASE, "-e", query]
        )
        assert result.exit_code == 0, result.output.decode(errors="replace")
        return str(result.output.decode().strip())


@pytest.fixture
def site(docker_client: docker.DockerClient, images: dict[str, str]) -> Iterator[Site]:
    """A db and a web container on a network of their own; the web port on 127.0.0.1."""
    prefix = f"triage-test-{uuid.uuid4().hex[:10]}"
    containers: list[Container] = []
    network = docker_client.networks.create(prefix, driver="bridge")
    try:
        db = docker_client.containers.run(
            images[MARIADB_IMAGE],
            name=f"{prefix}-db",
            network=network.name,
            environment={
                "MARIADB_ROOT_PASSWORD": ROOT_PASSWORD,
                "MARIADB_DATABASE": DATABASE,
                "MARIADB_USER": DB_USER,
                "MARIADB_PASSWORD": DB_PASSWORD,
            },
            detach=True,
        )
        containers.append(db)
        wait_healthy(db, timeout=60)
        load_sql(db, DATABASE, SCHEMA_SQL.read_bytes())
        web = docker_client.containers.run(
            images[PHP_SITE_IMAGE],
            name=f"{prefix}-web",
            network=network.name,
            environment={
                "DB_HOST": db.name,
                "DB_NAME": DATABASE,
                "DB_USER": DB_USER,
                "DB_PASSWORD": DB_PASSWORD,
                "SITE_ENV": "test",
            },
            ports={"80/tcp": ("127.0.0.1", None)},
            detach=True,
        )
        containers.append(web)
        wait_healthy(web, timeout=60)
        yield Site(network, db, web, f"http://127.0.0.1:{host_port(web)}")
    finally:
        # Ours, and whatever a failed start left attached to the network: removed by id.
        attached = docker_client.containers.list(all=True, filters={"network": network.id})
        ids = [c.id for c in reversed(containers)] + [c.id for c in attached]
        for container_id in dict.fromkeys(ids):
            try:
                docker_client.containers.get(container_id).remove(force=True, v=True)
            except docker.errors.NotFound:
                pass
        network.remove()


def test_images_are_built_offline_and_labelled(
    docker_client: docker.DockerClient, images: dict[str, str]
) -> None:
    assert set(images) == set(IMAGES)
    for name, image_id in images.items():
        image = docker_client.images.get(name)
        assert image.id == image_id
        assert len(image.labels[HASH_LABEL]) == 64
    base = docker_client.images.get(BASE_IMAGE)
    assert (
        "bookworm"
        in docker_client.containers.run(base.id, ["cat", "/etc/os-release"], remove=True).decode()
    )
    # Up to date: a second call builds nothing and gives the same images.
    assert ensure_images(docker_client) == images


def test_the_site_shows_its_name_and_user_count_from_the_database(site: Site) -> None:
    users = int(site.sql("SELECT COUNT(*) FROM users_field_data WHERE uid > 0"))
    assert users == 5
    with httpx.Client(base_url=site.url, timeout=10) as http:
        home = http.get("/")
        assert home.status_code == 200
        assert SITE_NAME in home.text
        assert f"Users: {users}" in home.text
        assert "Environment: test" in home.text

        health = http.get("/health")
        assert (health.status_code, health.text.strip()) == (200, "OK")

        # The page reads the database on every request.
        site.sql(
            "INSERT INTO users_field_data (uid, langcode, name, mail, status, created, access,"
            " init, default_langcode) VALUES (6, 'en', 'new.user', 'new.user@acme.example', 1,"
            " UNIX_TIMESTAMP(), 0, 'new.user@acme.example', 1)"
        )
        assert f"Users: {users + 1}" in http.get("/").text

        assert http.get("/node/3").status_code == 200
        assert http.get("/no/such/page").status_code == 404
        assert "/no/such/page" in site.sql(
            "SELECT variables FROM watchdog WHERE type = 'page not found' ORDER BY wid DESC LIMIT 1"
        )


def test_the_maintenance_flag_answers_503_on_every_page(site: Site) -> None:
    flag = "/var/www/site/files/.maintenance"
    with httpx.Client(base_url=site.url, timeout=10) as http:
        assert http.get("/").status_code == 200
        assert site.web.exec_run(["touch", flag]).exit_code == 0
        for path in ("/", "/health", "/user/login", "/node/1"):
            page = http.get(path)
            assert page.status_code == 503, path
            assert page.text.strip() == "Site under maintenance"
        assert site.web.exec_run(["rm", flag]).exit_code == 0
        assert http.get("/").status_code == 200

        # The drush stand-in switches the same flag, as a deploy does.
        assert site.web.exec_run(["drush", "sset", "system.maintenance_mode", "1"]).exit_code == 0
        assert http.get("/").status_code == 503
        assert site.web.exec_run(["drush", "sset", "system.maintenance_mode", "0"]).exit_code == 0
        assert http.get("/").status_code == 200


def test_the_web_container_reaches_the_database_with_the_client_tools(site: Site) -> None:
    dump = site.web.exec_run(
        [
            "sh",
            "-c",
            'mysqldump -h "$DB_HOST" -u "$DB_USER" -p"$DB_PASSWORD" --single-transaction'
            ' "$DB_NAME" users_field_data',
        ]
    )
    assert dump.exit_code == 0, dump.output.decode(errors="replace")
    assert b"jane.miller@acme.example" in dump.output

    status = site.web.exec_run(["drush", "status"])
    assert status.exit_code == 0
    assert f"Site name        : {SITE_NAME}" in status.output.decode()

    deploy = site.web.exec_run(["drush", "deploy"])
    assert deploy.exit_code == 0, deploy.output.decode(errors="replace")
    assert site.sql("SELECT COUNT(*) FROM cache_render") == "0"


def test_a_login_with_the_production_password_opens_a_session(site: Site) -> None:
    sessions = int(site.sql("SELECT COUNT(*) FROM sessions WHERE uid = 2"))
    with httpx.Client(base_url=site.url, timeout=10) as http:
        wrong = http.post("/user/login", data={"name": "jane.miller", "pass": "guess"})
        assert wrong.status_code == 403
        right = http.post("/user/login", data={"name": "jane.miller", "pass": "Editor#Jane7"})
        assert right.status_code == 200
        assert "Logged in as jane.miller" in right.text
    assert int(site.sql("SELECT COUNT(*) FROM sessions WHERE uid = 2")) == sessions + 1
