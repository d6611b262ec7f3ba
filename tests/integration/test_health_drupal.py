"""Drupal's own status in a health check: drush in the real web container, through Docker.

The sandbox site's prod runs as triage/php-site and triage/mariadb containers; its `drush`
answers `core:requirements --format=json` and `state:get system.cron_last` like Drupal's.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import site_fixtures
from sqlalchemy.engine import Engine

from triage.core.config import HealthSettings
from triage.core.health.monitor import HealthMonitor
from triage.core.sites.inventory import Inventory
from triage.storage.db import open_cache, sqlite_url
from triage.storage.models import HealthState, SiteHealth

pytestmark = pytest.mark.docker

docker_client = site_fixtures.docker_client
images = site_fixtures.images


@pytest.fixture(scope="module")
def world(
    docker_client: docker.DockerClient,
    images: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[site_fixtures.World]:
    with site_fixtures.build_world(
        docker_client, tmp_path_factory.mktemp("site"), envs=("prod",), prod_users=5
    ) as made:
        made.site.envs["prod"].health.drupal = True
        yield made


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Engine]:
    engine = open_cache(sqlite_url(tmp_path / "cache.db"))
    yield engine
    engine.dispose()


def check(world: site_fixtures.World, cache: Engine) -> SiteHealth:
    inventory = Inventory(sites={world.site.id: world.site})
    settings = HealthSettings(retry_seconds=0.01, timeout_seconds=10, slow_ms=5000)
    monitor = HealthMonitor(cache, settings, inventory, engines=world.engines)
    (health,) = asyncio.run(monitor.round())
    return health


def put(world: site_fixtures.World, name: str, text: str) -> None:
    site_fixtures.put_files(world.container("prod", "web"), {name: text.encode()})


def test_cron_never_run_is_critical_then_fine_after_cron(
    world: site_fixtures.World, cache: Engine
) -> None:
    health = check(world, cache)
    assert health.state is HealthState.DEGRADED and health.status == 200
    assert (health.check, health.reason) == ("cron", "cron has never run")

    world.run("prod", "web", ["drush", "cron"])
    health = check(world, cache)
    assert health.state is HealthState.UP and health.reason == ""


def test_requirement_errors_and_old_cron_degrade_the_site(
    world: site_fixtures.World, cache: Engine
) -> None:
    four_days_ago = int(time.time()) - 4 * 86400
    world.run("prod", "web", ["drush", "state:set", "system.cron_last", str(four_days_ago)])
    errors = {
        "update": {"title": "Database updates", "value": "Out of date", "severity": "Error"},
        "php": {"title": "PHP", "value": "8.2", "severity": "OK"},
    }
    put(world, ".requirements.json", json.dumps(errors))
    try:
        health = check(world, cache)
    finally:
        world.run("prod", "web", ["rm", "-f", "/var/www/site/files/.requirements.json"])
    assert health.state is HealthState.DEGRADED and health.check == "drupal"
    assert health.reason == "Drupal: Database updates: Out of date; cron last ran 4 days ago"
