"""The security rollout of six real sites, end to end: sandbox Jira, the real Docker engine, the
cache (SQLite with Jira Data Center; PostgreSQL with Jira Cloud), a Composer repository and an
advisories feed served by the test.

Each site ends in exactly one right state: a) updated and tested, b) already patched (no
ticket), c) updated on its own minor branch, d) its tests break on the update, so its test
site is rolled back and the site failed with the reason, e) pinned to a branch without a
secure release (no fix, Composer's outcome as the reason), f) on to production (Platinum,
window 0). Tickets are created once, branches pushed with the new lock, the test URL
commented; starting and running the rollout again changes nothing. A kill -9 of the process
running the rollout, then a resume, ends the same way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docker
import kill_support
import pytest
import rollout_support as rs
import site_fixtures
from jira_support import SANDBOX_USER, tracker_for
from rollout_world import World, build_world

from triage.core.board.service import Board
from triage.core.security.rollout import dedupe_label
from triage.core.tracker.client import JiraTracker
from triage.sandbox.agency import Agency, adf_to_text, build_agency
from triage.sandbox.composer_repo import ADVISORY_ID
from triage.sandbox.jira_server import JiraSandbox
from triage.storage.db import open_cache
from triage.storage.models import RolloutState

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]

docker_client = site_fixtures.docker_client
images = site_fixtures.images
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
EXPECTED = {
    "a": ("tested", "10.3.6"), "b": ("patched", ""), "c": ("tested", "10.2.8"),
    "d": ("failed", "10.3.6"), "e": ("no-fix", ""), "f": ("deployed", "10.3.6"),
}  # fmt: skip


@pytest.fixture(scope="module")
def agency() -> Agency:
    return build_agency(tickets=40, seed=9, now=datetime.now(UTC) - timedelta(hours=1))


@pytest.fixture
def jira_flavour(db_url: str) -> str:
    """Data Center with SQLite, Cloud with PostgreSQL: both of each, in two runs."""
    return "dc" if db_url.startswith("sqlite") else "cloud"


@pytest.fixture
def jira(agency: Agency, jira_flavour: str) -> Iterator[JiraSandbox]:
    sandbox = JiraSandbox.from_agency(agency, flavour=jira_flavour,
                                      user=SANDBOX_USER[jira_flavour])  # fmt: skip
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture
def jira_tracker(jira: JiraSandbox, jira_flavour: str) -> JiraTracker:
    return tracker_for(jira, jira_flavour)


@pytest.fixture
def rollout_world(
    docker_client: docker.DockerClient, images: dict[str, str], tmp_path: Path
) -> Iterator[World]:
    with build_world(docker_client, tmp_path / "sites") as made:
        yield made


@pytest.fixture
def board(tmp_path: Path, db_url: str, rollout_world: World) -> Iterator[Board]:
    (tmp_path / "data").mkdir()
    settings = rs.rollout_settings(tmp_path / "data", rollout_world.feed)
    engine = open_cache(db_url)
    try:
        yield Board(engine, settings)
    finally:
        engine.dispose()


def _comments(jira: JiraSandbox, key: str) -> str:
    issue = jira.issue(key)
    return "\n".join(adf_to_text(c["body"]) for c in issue["fields"]["comment"]["comments"])


def check_end(board: Board, jira: JiraSandbox, tracker: JiraTracker, world: World) -> None:
    """Every site in its one right state, in the cache, in Jira, in git and on its sites."""
    rows = board_rows = rs.rows(board)
    assert {s: (v.state, v.new_version) for s, v in rs.seen(board).items()} == EXPECTED
    for site in world.inventory.sites.values():
        row, name = board_rows[site.id], world.specs[site.id].name
        label = dedupe_label(ADVISORY_ID, rs.PACKAGE, site.id)
        if name == "b":
            assert row.ticket_key is None and tracker.keys(f'labels = "{label}"') == []
            continue
        assert tracker.keys(f'labels = "{label}"') == [row.ticket_key]
        main = world.remote(site, "rev-parse", "main")
        if name == "e":
            assert "Composer kept drupal/core at 10.1.8" in row.reason
            assert "allows no secure version" in row.reason
            assert "No secure version of drupal/core" in _comments(jira, row.ticket_key or "")
            assert world.drupal(site, "test") == "10.1.8"
            continue
        branch = row.branch
        assert branch == f"{row.ticket_key}-{ADVISORY_ID}"
        lock = json.loads(world.remote(site, "show", f"{branch}:composer.lock"))
        core = {p["name"]: p["version"] for p in lock["packages"]}
        assert core["drupal/core"] == row.new_version
        assert core["symfony/http-foundation"] == "6.4.8"  # --with-dependencies
        if name == "d":
            assert "failed at tests" in row.reason and "was rolled back" in row.reason
            assert "legacyRender" in row.reason
            assert world.head(site, "test") == main  # the code back at what prod runs
            assert world.drupal(site, "test") == world.specs[site.id].core  # and vendor/ too
            assert jira.issue(row.ticket_key or "")["fields"]["status"]["name"] != "Done"
            continue
        comments = _comments(jira, row.ticket_key or "")
        assert f"Test site: {site.envs['test'].url}" in comments
        assert world.drupal(site, "test") == row.new_version
        assert world.head(site, "test") == world.remote(site, "rev-parse", branch)
        status = jira.issue(row.ticket_key or "")["fields"]["status"]["name"]
        if name == "f":
            assert status == "Done" and world.drupal(site, "prod") == "10.3.6"
            assert world.head(site, "prod") == main != world.remote(site, "rev-parse", branch)
            assert world.remote(site, "merge-base", "--is-ancestor", branch, "main") == ""
            assert world.remote(site, "tag", "--list", f"deploy-{row.ticket_key}-*")
        else:
            assert status != "Done" and world.drupal(site, "prod") == world.specs[site.id].core
    parent = rs.parent_ticket(board)
    assert tracker.keys(f'labels = "{dedupe_label(ADVISORY_ID, rs.PACKAGE)}"') == [parent]
    assert rows  # the cache holds the six


def test_the_rollout_of_six_sites_ends_each_in_its_right_state_once(
    board: Board, jira: JiraSandbox, jira_tracker: JiraTracker, rollout_world: World
) -> None:
    rs.prepare(board, jira_tracker, rollout_world)
    started = rs.start(board, jira_tracker, rollout_world)
    assert started.added == 6
    assert rs.run(board, jira_tracker, rollout_world).started == 5

    check_end(board, jira, jira_tracker, rollout_world)
    audits = [asked for asked in rollout_world.repo.audits if "drupal/core" in asked]
    assert audits  # composer audit asked the repository's advisories API
    deploys = {site: (rs.steps(board, site, "deploy", done=False), rs.steps(board, site, "prod"))
               for site in rollout_world.inventory.sites}  # fmt: skip
    issues = len(jira_tracker.keys("project = SUP"))

    again = rs.start(board, jira_tracker, rollout_world)
    summary = rs.run(board, jira_tracker, rollout_world)

    assert again.added == 0 and summary.started == 0
    check_end(board, jira, jira_tracker, rollout_world)
    assert {site: (rs.steps(board, site, "deploy", done=False), rs.steps(board, site, "prod"))
            for site in deploys} == deploys  # fmt: skip
    assert len(jira_tracker.keys("project = SUP")) == issues
    # b and e never reach a deploy; f alone goes to production, once.
    assert sorted(deploys.values()) == [(0, 0), (0, 0), (1, 0), (1, 0), (1, 0), (1, 1)]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_rollout_killed_mid_way_resumes_to_the_same_end(
    tmp_path: Path, board: Board, jira: JiraSandbox, jira_tracker: JiraTracker,
    rollout_world: World, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # Reaching a site's clone takes a composer update and a push: minutes on a busy machine.
    monkeypatch.setattr(kill_support, "ROUND_TIMEOUT_S", 600.0)
    rs.prepare(board, jira_tracker, rollout_world)
    rs.start(board, jira_tracker, rollout_world)
    inventory = tmp_path / "inventory.json"
    inventory.write_text(rollout_world.inventory.model_dump_json())
    data_dir = board.settings.data_dir
    assert data_dir is not None
    overrides = json.dumps(rs.settings_data(data_dir, rollout_world.feed))
    url = board.engine.url.render_as_string(hide_password=False)
    args = [sys.executable, "-c", rs.CHILD, url, overrides, str(inventory), jira.url,
            SANDBOX_USER["dc"]]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}

    checked = [0.0]

    def mid_way() -> bool:
        if time.monotonic() - checked[0] < 0.2:
            return False
        checked[0] = time.monotonic()
        return any(row.step == "clone" for row in rs.rows(board).values())

    child = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert kill_support.kill_when(child, mid_way, "a site's clone") == -9
    interrupted = [row for row in rs.rows(board).values() if row.state is RolloutState.RUNNING]
    assert interrupted  # the kill left sites mid-way

    rs.run(board, jira_tracker, rollout_world)

    check_end(board, jira, jira_tracker, rollout_world)
    for site in rollout_world.inventory.sites:
        # A deploy the kill cut short runs again; none completes twice.
        assert rs.steps(board, site, "deploy") <= 1 and rs.steps(board, site, "prod") <= 1
