"""Deploys on real containers: a good one, a rolled back one, refused ones, and a dry run."""

from __future__ import annotations

import pytest
import site_fixtures
from site_fixtures import BRANCH_BROKEN, BRANCH_MERGED, BRANCH_OK, BROKEN_TITLE, World

from triage.core.jobs.reporting import ListReporter
from triage.core.sites.deploy import DeployFailed, DeployRefused, deploy
from triage.core.sites.git import Git

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

docker_client = site_fixtures.docker_client
images = site_fixtures.images
world = site_fixtures.world
fresh = site_fixtures.fresh

STEPS = ["preflight", "backup", "maintenance on", "code", "deploy commands", "maintenance off"]
READY = "Ready To Deploy"
TITLE = "SELECT title FROM node_field_data WHERE nid = 1"
BACKUPS = ["sh", "-c", "ls /var/backups/triage 2>/dev/null || true"]


def _maintenance(world: World, env: str) -> bool:
    flag = world.container(env, "web").exec_run(["test", "-e", "/var/www/site/files/.maintenance"])
    return flag.exit_code == 0


def test_a_good_deploy_to_dev_updates_the_code_and_passes_the_smoke_checks(fresh: World) -> None:
    reporter = ListReporter()
    report = deploy(
        fresh.site, BRANCH_OK, "dev", reporter, fresh.engines, Git(fresh.site, reporter),
        confirm=None, ticket_column="In Progress", branch=BRANCH_OK,
    )  # fmt: skip
    assert [step.name for step in report.steps] == [*STEPS, "smoke"]
    assert all(step.ok and step.seconds > 0 for step in report.steps)
    assert report.sha == fresh.sha(BRANCH_OK) == fresh.head("dev")
    assert report.previous_sha == fresh.sha("main") and report.rollback == []
    assert [check.ok for check in report.smoke] == [True, True]
    assert fresh.get("dev", "/version.txt").text.strip() == "2"
    assert not _maintenance(fresh, "dev") and fresh.get("dev", "/").status_code == 200
    assert "deploy hook ok" in reporter.lines
    fresh.run("dev", "db", ["test", "-s", report.backup])


def test_a_failing_deploy_is_rolled_back(fresh: World) -> None:
    head, title = fresh.head("dev"), fresh.sql("dev", TITLE)
    fresh.sql("dev", "INSERT INTO node_field_data SELECT 99, 99, 'page', 'en', 1, 1, 'Kept', 0, 0,"
              " 0, 0, 1")  # fmt: skip
    reporter = ListReporter()
    with pytest.raises(DeployFailed) as caught:
        deploy(
            fresh.site, BRANCH_BROKEN, "dev", reporter, fresh.engines, Git(fresh.site, reporter),
            confirm=None, ticket_column=None, branch=BRANCH_BROKEN,
        )  # fmt: skip
    message = str(caught.value)
    assert "failed at deploy commands" in message and "module acme_shop is missing" in message
    assert "was rolled back" in message
    report = caught.value.report
    assert report is not None and report.rolled_back
    assert [(step.name, step.ok) for step in report.steps][-2:] == [
        ("code", True), ("deploy commands", False)
    ]  # fmt: skip
    assert [(step.name, step.ok) for step in report.rollback] == [
        ("rollback: restore database", True),
        ("rollback: restore code", True),
        ("rollback: maintenance off", True),
    ]
    # The deploy changed the row before failing; the backup put it back, and kept the rest.
    assert fresh.sql("dev", TITLE) == title != BROKEN_TITLE
    assert fresh.sql("dev", "SELECT title FROM node_field_data WHERE nid = 99") == "Kept"
    assert fresh.head("dev") == head == report.previous_sha
    assert fresh.get("dev", "/version.txt").text.strip() == "1"
    assert not _maintenance(fresh, "dev") and fresh.get("dev", "/").status_code == 200


@pytest.mark.parametrize(
    ("confirm", "column", "branch", "refusal"),
    [
        (None, READY, BRANCH_MERGED, "type the site id"),
        ("wrong-site", READY, BRANCH_MERGED, "type the site id"),
        ("SITE", "PO Review", BRANCH_MERGED, "is in PO Review, not in Ready To Deploy"),
        ("SITE", None, BRANCH_MERGED, "is in no column, not in Ready To Deploy"),
        ("SITE", READY, BRANCH_OK, f"{BRANCH_OK} is not merged into main"),
    ],
)
def test_a_prod_deploy_is_refused_without_its_conditions(
    world: World, confirm: str | None, column: str | None, branch: str, refusal: str
) -> None:
    before = (world.head("prod"), world.sql("prod", TITLE), world.run("prod", "db", BACKUPS))
    reporter = ListReporter()
    with pytest.raises(DeployRefused, match=refusal) as caught:
        deploy(
            world.site, branch, "prod", reporter, world.engines, Git(world.site, reporter),
            confirm=world.site.id if confirm == "SITE" else confirm, ticket_column=column,
            branch=branch,
        )  # fmt: skip
    assert caught.value.report is not None
    assert [(step.name, step.ok) for step in caught.value.report.steps] == [("preflight", False)]
    after = (world.head("prod"), world.sql("prod", TITLE), world.run("prod", "db", BACKUPS))
    assert after == before and not _maintenance(world, "prod")


def test_a_dirty_checkout_refuses_a_prod_deploy(world: World) -> None:
    version = world.checkout / "version.txt"
    original = version.read_text()
    version.write_text("edited by hand\n")
    try:
        reporter = ListReporter()
        with pytest.raises(DeployRefused, match="has uncommitted changes"):
            deploy(
                world.site, BRANCH_MERGED, "prod", reporter, world.engines,
                Git(world.site, reporter), confirm=world.site.id, ticket_column=READY,
                branch=BRANCH_MERGED,
            )  # fmt: skip
    finally:
        version.write_text(original)


def test_a_dry_run_prints_every_command_and_changes_nothing(fresh: World) -> None:
    prod_before = (fresh.head("prod"), fresh.run("prod", "db", BACKUPS))
    dev_before = (fresh.head("dev"), fresh.sql("dev", TITLE), fresh.run("dev", "db", BACKUPS))
    for env, ref, column in (("dev", BRANCH_BROKEN, None), ("prod", BRANCH_MERGED, READY)):
        reporter = ListReporter(dry_run=True)
        report = deploy(
            fresh.site, ref, env, reporter, fresh.engines, Git(fresh.site, reporter),
            confirm=fresh.site.id, ticket_column=column, branch=ref,
        )  # fmt: skip
        assert report.dry_run and [step.name for step in report.steps] == [*STEPS, "smoke"]
        text = "\n".join(reporter.lines)
        web, db = fresh.site.env(env).web_container, fresh.site.env(env).db_container
        assert f"$ git rev-parse --verify --quiet '{ref}^{{commit}}'" in text
        assert f"docker exec -e 'MYSQL_PWD=***' {db} sh -c 'mkdir -p /var/backups/triage" in text
        assert "mysqldump --user=drupal" in text and "--single-transaction" in text
        assert (
            f"docker exec -w /var/www/site {web} sh -c 'drush sset system.maintenance_mode 1'"
            in text
        )
        assert f"checkout --quiet --force --detach {report.sha}" in text
        assert "sh scripts/deploy.sh" in text and "system.maintenance_mode 0" in text
        assert f"GET {fresh.site.env(env).url}/health" in text
    assert (fresh.head("prod"), fresh.run("prod", "db", BACKUPS)) == prod_before
    after = (fresh.head("dev"), fresh.sql("dev", TITLE), fresh.run("dev", "db", BACKUPS))
    assert after == dev_before and not _maintenance(fresh, "dev")
