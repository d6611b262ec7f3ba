"""Clone prod into dev on real containers: sanitized data, skipped tables, files, code, smoke."""

from __future__ import annotations

import os

import httpx
import pytest
import site_fixtures
from site_fixtures import (
    BRANCH_OK,
    CONTACT_SQL,
    PROD_DOMAIN,
    PROD_FILES,
    SHOP_DOMAIN,
    WEBFORM_SQL,
    World,
)

from triage.core.jobs.reporting import ListReporter
from triage.core.sites.clone import CloneFailed, CloneIntoProd, UnsafeClone, clone_prod
from triage.core.sites.environments import UNSAFE_MARKER, Engines, state
from triage.core.sites.sanitize import UNUSABLE_PASSWORD

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

docker_client = site_fixtures.docker_client
images = site_fixtures.images
world = site_fixtures.world
fresh = site_fixtures.fresh

STEPS = ["preflight", "backup", "import", "sanitize", "verify", "files", "code", "post-clone"]
SKIPPED = ["cache_data", "cache_default", "cache_render", "sessions", "watchdog"]


def _count(world: World, env: str, query: str) -> int:
    return int(world.sql(env, query))


def test_a_clone_into_dev_is_sanitized_and_complete(fresh: World) -> None:
    prod_users = _count(fresh, "prod", "SELECT COUNT(*) FROM users_field_data WHERE uid > 0")
    prod_sessions = _count(fresh, "prod", "SELECT COUNT(*) FROM sessions")
    assert prod_users == 305 and prod_sessions == 53
    reporter = ListReporter()

    report = clone_prod(fresh.site, "dev", reporter, fresh.engines)

    # Every step ran, passed and was timed, in the reporter and in the report.
    assert [step.name for step in report.steps] == [*STEPS, "smoke"]
    assert [step.name for step in reporter.steps] == [*STEPS, "smoke"]
    assert all(step.ok and step.seconds > 0 for step in [*report.steps, *reporter.steps])
    assert report.skipped_tables == SKIPPED and not report.unsafe

    # Sanitized: no production address, unusable passwords, no sessions.
    domain_hits = (
        f"SELECT COUNT(*) FROM users_field_data WHERE mail LIKE '%{PROD_DOMAIN}%'"
        f" OR init LIKE '%{PROD_DOMAIN}%'"
    )
    assert _count(fresh, "prod", domain_hits) == prod_users
    assert _count(fresh, "dev", domain_hits) == 0
    assert _count(fresh, "dev", "SELECT COUNT(*) FROM users_field_data WHERE uid > 0") == prod_users
    assert fresh.sql("dev", "SELECT mail, init FROM users_field_data WHERE uid = 2") == (
        "user+2@localhost.localdomain\tuser+2@localhost.localdomain"
    )
    assert fresh.sql("dev", "SELECT DISTINCT pass FROM users_field_data WHERE uid > 0") == (
        UNUSABLE_PASSWORD
    )
    assert _count(fresh, "dev", "SELECT COUNT(*) FROM sessions") == 0
    assert _count(fresh, "dev", f"SELECT COUNT(*) FROM contact_message WHERE mail LIKE "
                  f"'%{PROD_DOMAIN}%' OR message LIKE '%{PROD_DOMAIN}%'") == 0  # fmt: skip
    assert _count(fresh, "dev", "SELECT COUNT(*) FROM contact_message") == 43

    # What Drupal's own sanitizing covers besides accounts: comments and the accounts' fields.
    comments = "SELECT cid, name, mail, hostname FROM comment_field_data ORDER BY cid"
    assert fresh.sql("dev", comments).splitlines() == [
        "1\tAnonymous\t\t127.0.0.1",
        "2\tUser3\tuser+3@localhost.localdomain\t127.0.0.1",
        "3\tAnonymous\t\t127.0.0.1",
        "4\tAnonymous\t\t127.0.0.1",
    ]
    assert fresh.sql("dev", "SELECT field_private_mail_value FROM user__field_private_mail"
                     " ORDER BY entity_id") == (
        "user+2@localhost.localdomain\nuser+4@localhost.localdomain"
    )  # fmt: skip
    assert "Miller" not in fresh.sql("dev", "SELECT * FROM user__field_full_name")

    # No customer's or staff's address anywhere; the published ones were allowed to stay.
    for domain in ("gmail.com", SHOP_DOMAIN):
        assert domain not in fresh.run("dev", "db", ["mariadb-dump", "--skip-extended-insert",
                                                     "drupal"]), domain  # fmt: skip
    assert "sales@acme.example" in fresh.sql("dev", "SELECT body_value FROM node__body")
    assert any("verified: no e-mail address" in line for line in reporter.lines)

    # Skipped tables: structure, no rows; production keeps its own.
    for table in SKIPPED:
        assert _count(fresh, "dev", f"SELECT COUNT(*) FROM {table}") == 0, table
        assert _count(fresh, "prod", f"SELECT COUNT(*) FROM {table}") > 0, table
    assert _count(fresh, "prod", "SELECT COUNT(*) FROM sessions") == prod_sessions

    # The target's old tables were set aside first, in a schema beside its database.
    assert report.backup == "drupal_triage_backup"
    assert _count(fresh, "dev", "SELECT COUNT(*) FROM drupal_triage_backup.users_field_data") == 6
    assert report.bytes_imported > 100_000

    # The target pulled the dump over a network of the clone's own, which is gone.
    assert not any("relayed through Triage" in line for line in reporter.lines)
    assert fresh.client.networks.list(filters={"label": "triage.role=clone"}) == []

    # Files: a copy of prod's (dev's own are gone), byte for byte.
    assert report.files_copied and fresh.files("dev") == sorted(PROD_FILES)
    digest = ["sh", "-c", f"cd {site_fixtures.FILES_PATH} && md5sum logo.png"]
    assert fresh.run("dev", "web", digest) == fresh.run("prod", "web", digest)

    # Code at prod's commit; the site answers with dev's data, without prod's passwords.
    assert report.sha == fresh.head("prod") == fresh.head("dev")
    assert [check.ok for check in report.smoke] == [True, True]
    home = fresh.get("dev", "/")
    assert f"Users: {prod_users}" in home.text and "Environment: dev" in home.text
    with httpx.Client(base_url=fresh.site.env("dev").url, timeout=10) as http:
        login = http.post("/user/login", data={"name": "jane.miller", "pass": "Editor#Jane7"})
    assert login.status_code == 403
    assert not state(fresh.engines, fresh.site, "dev").unsafe


def test_skip_files_and_a_ref(fresh: World) -> None:
    report = clone_prod(fresh.site, "dev", ListReporter(), fresh.engines, ref=BRANCH_OK,
                        skip_files=True)  # fmt: skip
    assert "files" not in [step.name for step in report.steps] and not report.files_copied
    assert fresh.files("dev") == ["dev-only.txt"]
    assert report.sha == fresh.sha(BRANCH_OK) == fresh.head("dev")
    assert fresh.get("dev", "/version.txt").text.strip() == "2"


def test_cloning_into_prod_is_refused(world: World) -> None:
    reporter = ListReporter()
    before = world.head("prod")
    with pytest.raises(CloneIntoProd, match="^refusing to clone into prod of ") as caught:
        clone_prod(world.site, "prod", reporter, world.engines)
    assert isinstance(caught.value, ValueError)
    assert reporter.steps == [] and reporter.lines == []
    assert world.head("prod") == before
    assert _count(world, "prod", "SELECT COUNT(*) FROM sessions") == 53


def test_a_failed_sanitize_check_marks_the_env_unsafe(fresh: World) -> None:
    leaky = fresh.site.model_copy(update={"sanitize_sql": [
        CONTACT_SQL, WEBFORM_SQL,
        f"UPDATE users_field_data SET init = 'peter.old@{PROD_DOMAIN}' WHERE uid = 2",
    ]})  # fmt: skip
    reporter = ListReporter()
    with pytest.raises(UnsafeClone) as caught:
        clone_prod(leaky, "dev", reporter, fresh.engines)
    message = str(caught.value)
    assert "users_field_data.init (1 rows)" in message and "marked unsafe" in message
    report = caught.value.report
    assert report is not None and report.unsafe
    assert [(step.name, step.ok) for step in report.steps][-2:] == [
        ("sanitize", True), ("verify", False)
    ]  # fmt: skip
    assert state(fresh.engines, leaky, "dev").unsafe
    assert "users_field_data.init" in fresh.run("dev", "web", ["cat", UNSAFE_MARKER])

    # A good clone afterwards makes it safe again, and keeps no backup of the unsafe data:
    # the backup is still dev's own from before the failed clone.
    again = clone_prod(fresh.site, "dev", ListReporter(), fresh.engines, skip_files=True)
    assert not state(fresh.engines, fresh.site, "dev").unsafe
    assert again.backup == ""
    kept = "SELECT init FROM drupal_triage_backup.users_field_data WHERE uid = 2"
    assert fresh.sql("dev", kept) == f"jane.miller@{PROD_DOMAIN}"


def test_addresses_the_sanitizing_missed_anywhere_mark_the_env_unsafe(fresh: World) -> None:
    # The site's SQL forgets the webform, and no published address is allowed.
    forgetful = fresh.site.model_copy(update={"sanitize_sql": [CONTACT_SQL], "allowed_emails": []})
    with pytest.raises(UnsafeClone) as caught:
        clone_prod(forgetful, "dev", ListReporter(), fresh.engines, skip_files=True)
    message = str(caught.value)
    # Customers' gmail.com and staff's acme-shop.example addresses in the webform's values,
    # and the site's addresses in published content: table, column and rows, nothing else.
    assert "webform_submission_data.value (4 rows)" in message
    assert "node__body.body_value (2 rows)" in message
    for sanitized in ("users_field_data", "comment_field_data", "contact_message", "user__field"):
        assert sanitized not in message, sanitized
    assert "marked unsafe" in message
    assert caught.value.report is not None and caught.value.report.unsafe
    assert state(fresh.engines, forgetful, "dev").unsafe
    marker = fresh.run("dev", "web", ["cat", UNSAFE_MARKER])
    assert "webform_submission_data.value (4 rows)" in marker


def test_a_dry_run_prints_the_commands_and_changes_nothing(fresh: World) -> None:
    backups = ["sh", "-c", "ls /var/backups/triage 2>/dev/null || true"]
    before = fresh.run("dev", "db", backups)
    reporter = ListReporter(dry_run=True)
    report = clone_prod(fresh.site, "dev", reporter, fresh.engines)
    text = "\n".join(reporter.lines)
    assert "mysqldump" in text and "--single-transaction" in text
    assert "--ignore-table=drupal.watchdog" in text and "--host=triage-clone-source" in text
    assert "UPDATE users_field_data SET mail" in text and "docker cp " in text
    assert "UPDATE comment_field_data SET name" in text
    assert "drush deploy" in text and "GET http://127.0.0.1:" in text
    assert report.backup and report.dry_run
    assert _count(fresh, "dev", "SELECT COUNT(*) FROM users_field_data WHERE uid > 0") == 5
    assert fresh.files("dev") == ["dev-only.txt"]
    assert fresh.run("dev", "db", backups) == before
    assert not state(fresh.engines, fresh.site, "dev").unsafe


def test_an_env_pointing_at_prod_containers_is_refused(world: World) -> None:
    confused = world.site.model_copy(deep=True)
    confused.envs["dev"].db_container = world.site.env("prod").db_container
    with pytest.raises(CloneFailed, match="uses the production container") as caught:
        clone_prod(confused, "dev", ListReporter(), world.engines)
    assert caught.value.report is not None
    assert [(step.name, step.ok) for step in caught.value.report.steps] == [("preflight", False)]
    assert _count(world, "prod", "SELECT COUNT(*) FROM sessions") == 53


def test_a_failed_import_puts_the_old_tables_back(fresh: World) -> None:
    # Production's database refuses the user: no pull, no relay; nothing else is touched.
    broken = fresh.site.model_copy(deep=True)
    broken.skip_tables = []
    broken.envs["prod"].db_user = "nobody"
    reporter = ListReporter()
    with pytest.raises(CloneFailed, match="stopped at step import") as caught:
        clone_prod(broken, "dev", reporter, fresh.engines)
    assert "cannot log in to production's database" in "\n".join(reporter.lines)
    assert caught.value.report is not None and caught.value.report.backup == ""
    assert _count(fresh, "dev", "SELECT COUNT(*) FROM users_field_data WHERE uid > 0") == 5
    backup = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '%s'"
    assert _count(fresh, "dev", backup % "drupal_triage_backup") == 0


def test_between_two_engines_the_dump_is_relayed(fresh: World) -> None:
    # The same engine under another name stands for a second one: Triage relays the stream.
    apart = fresh.site.model_copy(deep=True)
    apart.envs["dev"].docker_host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    reporter = ListReporter()
    engines = Engines({"": fresh.client})
    try:
        report = clone_prod(apart, "dev", reporter, engines, skip_files=True)
    finally:
        engines.close()
    assert "relayed through Triage" in "\n".join(reporter.lines)
    assert report.bytes_imported > 100_000 and not report.unsafe
    assert _count(fresh, "dev", "SELECT COUNT(*) FROM users_field_data WHERE uid > 0") == 305
    assert _count(fresh, "dev", "SELECT COUNT(*) FROM contact_message") == 43


def test_where_the_backup_schema_is_refused_the_target_is_dumped(fresh: World) -> None:
    grant = "ON `drupal\\_triage\\_backup`.* {} 'drupal'@'%'"
    fresh.sql("dev", "REVOKE ALL PRIVILEGES " + grant.format("FROM"))
    reporter = ListReporter()
    try:
        report = clone_prod(fresh.site, "dev", reporter, fresh.engines, skip_files=True)
    finally:
        fresh.sql("dev", "GRANT ALL PRIVILEGES " + grant.format("TO"))
    assert "a dump is made instead" in "\n".join(reporter.lines)
    assert report.backup.startswith("/var/backups/triage/drupal-")
    fresh.run("dev", "db", ["test", "-s", report.backup])
    assert not report.unsafe
