"""A Composer whose repository never answers, on a real site: the update step ends at its limit.

One site of tests/integration/rollout_world.py (real containers, its Composer repository on
the world's network). Its update branch points composer.json at a listener that accepts
connections and never answers, as a hung repository does; Composer itself would wait
minutes for it. With `command_timeout=5`, `composer update` in the dev container is
stopped there: the site's update fails (UpdateFailed, not NoFix) with the step and the
limit in the reason, and no Composer process is left in the container.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import docker
import pytest
import site_fixtures
from rollout_world import World, build_world

from triage.core.jobs.reporting import ListReporter
from triage.core.security.site_update import NoFix, UpdateFailed
from triage.core.security.site_work import DockerSiteWork
from triage.core.sites.inventory import Site

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]

docker_client = site_fixtures.docker_client
images = site_fixtures.images

LIMIT = 5
BOUND = 120.0
"""Seconds the update may take here before the test fails (a limit of 5 s, KILL after 10)."""


@pytest.fixture(scope="module")
def world(
    docker_client: docker.DockerClient,
    images: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    with build_world(docker_client, tmp_path_factory.mktemp("sites"), count=1) as made:
        yield made


@pytest.fixture
def silent_repository(world: World) -> Iterator[str]:
    """The URL of a listener on the world's network that takes connections, never answers."""
    host = urlsplit(world.repo.base).hostname or ""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind((host, 0))
        listener.listen(16)  # the kernel completes the connections; nothing reads them
        yield f"http://{host}:{listener.getsockname()[1]}"
    finally:
        listener.close()


def test_a_composer_update_that_hangs_fails_the_site_at_its_limit(
    world: World, silent_repository: str
) -> None:
    site = world.site("a")
    work = DockerSiteWork(world.engines, command_timeout=LIMIT)
    reporter = ListReporter()
    branch = "SUP-9-timeout"
    work.open_branch(site, branch, reporter)
    composer_json = world.remote(site, "show", "main:composer.json")
    assert world.repo.base in composer_json
    hung = composer_json.replace(world.repo.base, silent_repository)
    work.commit(site, branch, {"composer.json": hung}, "A repository that never answers", reporter)
    work.push(site, branch, reporter)

    pool = ThreadPoolExecutor(max_workers=1)
    try:
        future = pool.submit(work.composer_update, site, branch, ["drupal/core"], reporter)
        with pytest.raises(UpdateFailed) as failed:
            future.result(timeout=BOUND)
    finally:
        pool.shutdown(wait=False)
    assert not isinstance(failed.value, NoFix)
    message = str(failed.value)
    assert message.startswith("`composer update drupal/core --with-dependencies")
    assert f"in {site.env('dev').web_container} did not finish within {LIMIT} s: " in message
    assert "security.rollout.command_timeout_seconds" in message and "\n" not in message
    assert _composer_left(world, site) == []


def _composer_left(world: World, site: Site) -> list[str]:
    """Composer's processes still in the dev container, after a bounded while to end."""
    web = world.web(site, "dev")
    script = "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done"
    deadline = time.monotonic() + 15
    while True:
        result = web.exec_run(["sh", "-c", script])
        assert result.exit_code == 0, result.output
        lines = result.output.decode(errors="replace").splitlines()
        left = [line for line in lines if "composer" in line and "update" in line]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)
