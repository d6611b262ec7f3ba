"""The Docker adapter on a real engine: lifecycle with labels, state, exec, pipe, copy, errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import docker
import docker.errors
import httpx
import pytest
import site_fixtures

from triage.core.jobs.reporting import ListReporter
from triage.core.sites.containers import CommandFailed, copy_files, exec_in, pipe
from triage.core.sites.environments import (
    LABEL_ENV,
    LABEL_ROLE,
    LABEL_SITE,
    LABEL_TICKET,
    ContainerMissing,
    Engines,
    EngineUnreachable,
    ProdProtected,
    create,
    destroy,
    start,
    state,
    states,
    stop,
)
from triage.core.sites.inventory import Environment, Site
from triage.sandbox.images import MARIADB_IMAGE, PHP_SITE_IMAGE

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]

docker_client = site_fixtures.docker_client
images = site_fixtures.images


def _site(prefix: str, **overrides: Environment) -> Site:
    def environment(name: str) -> Environment:
        return Environment(
            web_container=f"{prefix}-{name}-web", db_container=f"{prefix}-{name}-db",
            web_image=PHP_SITE_IMAGE, db_image=MARIADB_IMAGE,
            volumes={f"{prefix}-{name}-files": "/var/www/site/files"},
        )  # fmt: skip

    envs = {"prod": environment("prod"), "dev": environment("dev"), **overrides}
    site = Site(name="Envs", client="Acme", repo="/nowhere.git", checkout="/nowhere", envs=envs)
    site.id = prefix
    return site


@pytest.fixture(scope="module")
def made(
    docker_client: docker.DockerClient, images: dict[str, str]
) -> Iterator[tuple[Site, Engines]]:
    """prod and dev of a site, created by `create` (dev for a ticket); removed by id at the end."""
    prefix = f"triage-envs-{uuid.uuid4().hex[:8]}"
    site = _site(prefix)
    engines = Engines({"": docker_client})
    try:
        create(engines, site, "prod")
        create(engines, site, "dev", ticket="ACME-7", ports={"80/tcp": ("127.0.0.1", None)})
        yield site, engines
    finally:
        site_fixtures.remove_site(docker_client, prefix)


def test_create_labels_the_containers_and_state_describes_them(
    made: tuple[Site, Engines], docker_client: docker.DockerClient
) -> None:
    site, engines = made
    dev = state(engines, site, "dev")
    assert dev.status == "running"
    assert (dev.web.name, dev.db.name) == (f"{site.id}-dev-web", f"{site.id}-dev-db")
    assert dev.web.image.startswith(PHP_SITE_IMAGE) and dev.db.image.startswith(MARIADB_IMAGE)
    assert dev.web.created and dev.url.startswith("http://127.0.0.1:")
    assert not dev.unsafe
    labels = docker_client.containers.get(dev.web.name).labels
    assert labels[LABEL_SITE] == site.id
    assert (labels[LABEL_ENV], labels[LABEL_TICKET], labels[LABEL_ROLE]) == ("dev", "ACME-7", "web")
    assert docker_client.containers.get(dev.db.name).labels[LABEL_ROLE] == "db"
    assert httpx.get(dev.url + "/health", timeout=10).status_code == 200
    assert [one.env for one in states(engines, site)] == ["prod", "dev"]


def test_stop_and_start_change_the_state(made: tuple[Site, Engines]) -> None:
    site, engines = made
    assert stop(engines, site, "dev").status == "exited"
    assert start(engines, site, "dev").status == "running"


def test_exec_streams_lines_and_a_failure_says_how(made: tuple[Site, Engines]) -> None:
    site, engines = made
    web = engines.client(site, "dev").containers.get(site.env("dev").web_container)
    reporter = ListReporter()
    out = exec_in(web, ["sh", "-c", "echo one; echo two >&2; echo three"], reporter)
    assert out.splitlines() == ["one", "three"]
    assert sorted(reporter.lines) == ["one", "three", "two"]
    with pytest.raises(CommandFailed) as failed:
        exec_in(web, ["sh", "-c", "echo about to fail; exit 7"], ListReporter())
    assert failed.value.exit_code == 7
    assert failed.value.tail == ["about to fail"]
    assert "exit code 7" in str(failed.value)

    dry = ListReporter(dry_run=True)
    assert exec_in(web, ["touch", "/tmp/dry"], dry, env={"MYSQL_PWD": "secret"}) == ""
    assert dry.lines == [f"docker exec -e 'MYSQL_PWD=***' {web.name} touch /tmp/dry"]
    assert web.exec_run(["test", "-e", "/tmp/dry"]).exit_code == 1


def test_pipe_and_copy_files_stream_between_containers(made: tuple[Site, Engines]) -> None:
    site, engines = made
    client = engines.client(site, "dev")
    prod_web = client.containers.get(site.env("prod").web_container)
    dev_web = client.containers.get(site.env("dev").web_container)
    reporter = ListReporter()
    moved = pipe(prod_web, ["sh", "-c", "head -c 3000000 /dev/zero"], dev_web,
                 ["sh", "-c", "wc -c > /tmp/count"], reporter)  # fmt: skip
    assert moved == 3_000_000
    assert dev_web.exec_run(["cat", "/tmp/count"]).output.strip() == b"3000000"
    with pytest.raises(CommandFailed, match="exit code 3"):
        pipe(prod_web, ["echo", "x"], dev_web, ["sh", "-c", "cat >/dev/null; exit 3"], reporter)
    # A client that gives up at once stops the stream; its failure is the one reported.
    with pytest.raises(CommandFailed, match="in .*-dev-web with exit code 4 .*no such table"):
        pipe(prod_web, ["head", "-c", "500000000", "/dev/zero"], dev_web,
             ["sh", "-c", "echo no such table >&2; exit 4"], reporter)  # fmt: skip
    with pytest.raises(CommandFailed, match="in .*-prod-web with exit code 1"):
        pipe(prod_web, ["sh", "-c", "echo partial; exit 1"], dev_web, ["cat"], reporter)

    prod_web.exec_run(
        ["sh", "-c", "mkdir -p /var/www/site/files/a && echo hi > /var/www/site/files/a/b"]
    )
    dev_web.exec_run(["sh", "-c", "echo old > /var/www/site/files/stale"])
    copy_files(prod_web, "/var/www/site/files", dev_web, "/var/www/site/files", reporter)
    listing = dev_web.exec_run(["find", "/var/www/site/files", "-type", "f"]).output.decode()
    assert listing.split() == ["/var/www/site/files/a/b"]


def test_an_unreachable_engine_says_what_to_do() -> None:
    site = _site(f"triage-envs-{uuid.uuid4().hex[:8]}")
    site.envs["dev"].docker_host = "tcp://127.0.0.1:1"
    with pytest.raises(EngineUnreachable) as caught:
        state(Engines(), site, "dev")
    assert str(caught.value) == (
        "Docker at tcp://127.0.0.1:1 is not reachable: start it or set docker_host for env dev "
        f"of {site.id} in sites.toml"
    )


def test_a_missing_container_says_what_to_do(made: tuple[Site, Engines]) -> None:
    site, engines = made
    ghost = site.model_copy(deep=True)
    ghost.envs["dev"].web_container = "no-such-container"
    assert state(engines, ghost, "dev").web.status == "missing"
    with pytest.raises(ContainerMissing) as caught:
        start(engines, ghost, "dev")
    assert str(caught.value) == (
        f"container no-such-container (web of env dev of {site.id}) does not exist: create the "
        "environment or fix web_container for env dev in sites.toml"
    )


def test_an_env_on_a_shared_database_server_gets_only_its_database(
    made: tuple[Site, Engines], docker_client: docker.DockerClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    site, engines = made
    server = site.env("dev").db_container
    monkeypatch.setenv("TRIAGE_TEST_STAGE_PW", "st'age\\pw")
    shared = site.model_copy(deep=True)
    shared.envs["stage"] = Environment(
        web_container=f"{site.id}-stage-web", db_container=server, db_name="stage_db",
        db_user="stager", db_password_env="TRIAGE_TEST_STAGE_PW", web_image=PHP_SITE_IMAGE,
        network=f"{site.id}-dev",
    )  # fmt: skip
    ours = {"label": f"{LABEL_SITE}={site.id}"}  # other tests share the engine
    before = {c.id for c in docker_client.containers.list(all=True, filters=ours)}

    try:
        made_state = create(engines, shared, "stage", shared_db=True, labels={"x.demo": "d1"},
                            ports={"80/tcp": ("127.0.0.1", None)})  # fmt: skip

        new = [
            c for c in docker_client.containers.list(all=True, filters=ours) if c.id not in before
        ]
        assert [c.name for c in new] == [f"{site.id}-stage-web"]  # no db container of its own
        assert new[0].labels["x.demo"] == "d1" and new[0].labels[LABEL_ENV] == "stage"
        assert made_state.db.name == server and made_state.status == "running"
        db = docker_client.containers.get(server)
        login = db.exec_run(["mariadb", "-h", "127.0.0.1", "-u", "stager", "-pst'age\\pw",
                             "stage_db", "-e", "SELECT DATABASE()"])  # fmt: skip
        assert login.exit_code == 0 and b"stage_db" in login.output, login.output
        assert httpx.get(made_state.url + "/health", timeout=10).status_code == 200
    finally:
        removed = destroy(engines, shared, "stage")  # the dev network is free again
    assert removed == [f"{site.id}-stage-web"]
    assert docker_client.containers.get(server).status == "running"  # the server stays

    shared.envs["stage"].db_container = "no-such-server"
    with pytest.raises(ContainerMissing, match="shared database server no-such-server"):
        create(engines, shared, "stage", shared_db=True)


def test_destroy_removes_the_labelled_env_and_refuses_prod(
    made: tuple[Site, Engines], docker_client: docker.DockerClient
) -> None:
    site, engines = made
    with pytest.raises(ProdProtected, match="refusing to destroy the production environment"):
        destroy(engines, site, "prod")
    assert state(engines, site, "prod").status == "running"

    removed = destroy(engines, site, "dev")
    assert set(removed) == {
        f"{site.id}-dev-web", f"{site.id}-dev-db", f"{site.id}-dev-files", f"{site.id}-dev",
    }  # fmt: skip
    after = state(engines, site, "dev")
    assert (after.status, after.web.status, after.db.status) == ("missing", "missing", "missing")
    with pytest.raises(docker.errors.NotFound):
        docker_client.volumes.get(f"{site.id}-dev-files")
    assert state(engines, site, "prod").status == "running"
