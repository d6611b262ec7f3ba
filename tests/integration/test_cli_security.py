"""`triage fleet`, `triage advisories` and `triage security` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import clean_env, one_line_error, triage

from triage.sandbox.agency_fleet import make_repository


def site_toml(site: str, repo: Path, checkout: Path, prod_ref: str = "") -> str:
    prod = f'prod_ref = "{prod_ref}"\n' if prod_ref else ""
    return (
        f'[sites.{site}]\nname = "{site}"\nclient = "Acme"\nrepo = "{repo}"\n{prod}'
        f'checkout = "{checkout}"\n[sites.{site}.envs.prod]\n'
        f'web_container = "{site}-web"\ndb_container = "{site}-db"\n'
    )


@pytest.fixture
def fleet_env(tmp_path: Path) -> dict[str, str]:
    """Two sites with composer.lock files and one whose repository is gone."""
    old = make_repository(tmp_path / "old.git", {"drupal/core": "10.4.8"})
    new = make_repository(
        tmp_path / "new.git", {"drupal/core": "11.1.9"}, live={"drupal/core": "11.1.7"}
    )
    sites = [
        site_toml("old", old, tmp_path / "co-old"),
        site_toml("new", new, tmp_path / "co-new", prod_ref="live"),
        site_toml("gone", tmp_path / "gone.git", tmp_path / "co-gone"),
    ]
    (tmp_path / "sites.toml").write_text("\n".join(sites))
    (tmp_path / "config.toml").write_text(
        f'sites_file = "{tmp_path / "sites.toml"}"\n'
        '[security]\nfeeds = { down = "http://127.0.0.1:9/advisories" }\npsa_url = ""\n'
        "timeout_seconds = 5\n"
    )
    return clean_env(tmp_path)


def security_json(env: dict[str, str]) -> list[dict[str, Any]]:
    result = triage(env, "security", "--json")
    assert result.returncode == 0, result.stderr
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found


def test_refresh_add_and_security(fleet_env: dict[str, str]) -> None:
    refreshed = triage(fleet_env, "fleet", "refresh")
    assert refreshed.returncode == 1, refreshed.stderr
    assert refreshed.stderr.startswith("gone main: cannot fetch the repository of gone")
    assert "read 3 of 4 locks of 3 sites" in refreshed.stdout

    added = triage(
        fleet_env, "advisories", "add", "SA-CORE-2025-010", "--package", "drupal/core",
        "--affected", ">= 10.0.0 <10.4.9 || >=11.0 <11.1.8", "--severity", "critical",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr

    (advisory,) = security_json(fleet_env)
    assert (advisory["id"], advisory["severity"]) == ("SA-CORE-2025-010", "critical")
    sites = {(s["site"], s["package"], s["version"], s["state"]) for s in advisory["sites"]}
    assert sites == {
        ("old", "drupal/core", "10.4.8", "affected"),
        ("new", "drupal/core", "11.1.7", "affected"),
        ("gone", "drupal/core", "", "unknown"),
    }
    text = triage(fleet_env, "security").stdout
    assert "SA-CORE-2025-010  critical  drupal/core" in text and "affected  new (live)" in text

    packages = triage(fleet_env, "fleet", "packages", "drupal/core", "--json")
    rows = {(p["site"], p["ref"], p["version"]) for p in json.loads(packages.stdout)}
    assert rows == {("old", "main", "10.4.8"), ("new", "main", "11.1.9"), ("new", "live", "11.1.7")}


def test_a_feed_that_does_not_answer_is_one_line(fleet_env: dict[str, str]) -> None:
    polled = triage(fleet_env, "advisories", "poll")
    assert polled.returncode == 1
    assert polled.stderr.startswith("feed down at http://127.0.0.1:9/advisories could not")
    assert "0 new advisories" in polled.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--package", "core", "--affected", "<1"), "is not a Composer package name"),
        (("--package", "drupal/core", "--affected", ">=1 <<2"), "is not a Composer constraint"),
        (("--package", "drupal/core", "--affected", "<1", "--severity", "bad"), "severity"),
    ],
)
def test_bad_advisories_are_one_sentence(
    fleet_env: dict[str, str], args: tuple[str, ...], says: str
) -> None:
    assert says in one_line_error(triage(fleet_env, "advisories", "add", "SA-1", *args))


def test_a_fleet_command_needs_its_action(fleet_env: dict[str, str]) -> None:
    assert "required" in one_line_error(triage(fleet_env, "fleet"))


def test_the_demo_shows_real_matches(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    demo = triage(env, "demo", "--no-open", "--tickets", "30", "--seed", "5")
    assert demo.returncode == 0, demo.stderr
    assert "12 site repositories read, 3 advisories" in demo.stdout

    report = security_json(env)
    states = {s["state"] for advisory in report for s in advisory["sites"]}
    assert {a["id"] for a in report} >= {"SA-CORE-2025-007", "SA-CONTRIB-2025-101"}
    assert states == {"affected", "patched"}
    core = json.loads(triage(env, "fleet", "packages", "drupal/core", "--json").stdout)
    assert len({p["site"] for p in core}) == 12 and len({p["version"] for p in core}) > 4
