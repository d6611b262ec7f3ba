"""`triage security rollout|sites|skip|retry` as a user runs them, with Jira out of reach.

The tickets wait in the outbox and the sites wait for them: nothing runs on a site before
its ticket has a Jira key, and starting the rollout again queues nothing twice.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import clean_env, one_line_error, triage

from triage.sandbox.agency_fleet import make_repository

ADVISORY = "SA-CORE-2026-001"


def site_toml(site: str, repo: Path, checkout: Path, package: str) -> str:
    return (
        f'[sites.{site}]\nname = "{site} site"\nclient = "Client {site}"\npackage = "{package}"\n'
        f'repo = "{repo}"\ncheckout = "{checkout}"\n[sites.{site}.envs.prod]\n'
        f'web_container = "{site}-web"\ndb_container = "{site}-db"\n'
    )


@pytest.fixture
def rollout_env(tmp_path: Path) -> dict[str, str]:
    """Three sites (two affected, one patched), an advisory, and a Jira that does not answer."""
    versions = {"bronze": "10.3.1", "gold": "10.2.7", "done": "10.3.6"}
    sites = []
    for site, version in versions.items():
        repo = make_repository(tmp_path / f"{site}.git", {"drupal/core": version})
        package = "Gold" if site == "gold" else "Bronze"
        sites.append(site_toml(site, repo, tmp_path / f"co-{site}", package))
    (tmp_path / "sites.toml").write_text("\n".join(sites))
    (tmp_path / "config.toml").write_text(
        f'sites_file = "{tmp_path / "sites.toml"}"\n'
        '[jira]\nurl = "http://127.0.0.1:9"\nuser = "me@agency.example"\n'
        'projects = ["SUP"]\n'
        '[security]\nfeeds = {}\npsa_url = ""\n'
        '[security.rollout]\npackage_order = ["Gold"]\n'
    )
    env = clean_env(tmp_path)
    assert triage(env, "fleet", "refresh").returncode == 0
    added = triage(
        env, "advisories", "add", ADVISORY, "--package", "drupal/core",
        "--affected", ">=10.1.0 <10.2.8 || >=10.3.0 <10.3.6", "--severity", "critical",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    return env


def sites_json(env: dict[str, str]) -> list[dict[str, Any]]:
    result = triage(env, "security", "sites", "--json")
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_a_rollout_queues_one_ticket_per_affected_site_once(rollout_env: dict[str, str]) -> None:
    started = triage(rollout_env, "security", "rollout", ADVISORY)
    assert started.returncode == 0, started.stderr
    assert "2 sites to update, 3 new" in started.stdout
    assert "could not reach Jira yet" in started.stderr
    assert "2 sites wait for their tickets to reach Jira" in started.stdout

    rows = sites_json(rollout_env)
    assert [(r["site"], r["state"]) for r in rows] == [
        ("gold", "queued"), ("bronze", "queued"), ("done", "patched"),
    ]  # fmt: skip
    assert all(r["ticket_key"].startswith("NEW-") for r in rows[:2]) and not rows[2]["ticket_key"]

    again = triage(rollout_env, "security", "rollout", ADVISORY, "--no-run")
    assert "2 sites to update, 0 new" in again.stdout
    assert sites_json(rollout_env) == rows

    report = json.loads(triage(rollout_env, "security", "--json").stdout)
    states = {(s["site"], s["state"], s["ticket"]) for s in report[0]["sites"]}
    assert states == {(r["site"], r["state"], r["ticket_key"] or "") for r in rows}

    waiting = triage(rollout_env, "ls", "--json")
    assert waiting.returncode == 0, waiting.stderr
    summaries = {t["summary"] for t in json.loads(waiting.stdout)}
    assert f"{ADVISORY}: update drupal/core on gold site" in summaries
    assert f"{ADVISORY}: drupal/core security update across the fleet" in summaries
    assert not any("done site" in s for s in summaries)


def test_resume_waits_for_the_tickets_while_jira_is_out_of_reach(
    rollout_env: dict[str, str],
) -> None:
    queued = triage(rollout_env, "security", "rollout", ADVISORY, "--no-run")
    assert "queued: run `triage security resume`" in queued.stdout
    resumed = triage(rollout_env, "security", "resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "could not reach Jira yet" in resumed.stderr
    assert "ran 0 sites" in resumed.stdout
    assert "2 sites wait for their tickets to reach Jira" in resumed.stdout
    assert [r["state"] for r in sites_json(rollout_env)] == ["queued", "queued", "patched"]


def test_skip_needs_a_reason_and_retry_brings_the_site_back(rollout_env: dict[str, str]) -> None:
    triage(rollout_env, "security", "rollout", ADVISORY, "--no-run")
    blank = triage(rollout_env, "security", "skip", "gold", "--advisory", ADVISORY,
                   "--reason", "  ")  # fmt: skip
    assert "say why the site is skipped" in one_line_error(blank)

    skipped = triage(rollout_env, "security", "skip", "gold", "--advisory", ADVISORY,
                     "--reason", "client updates it themselves")  # fmt: skip
    assert skipped.returncode == 0, skipped.stderr
    gold = next(r for r in sites_json(rollout_env) if r["site"] == "gold")
    assert (gold["state"], gold["reason"]) == ("skipped", "client updates it themselves")
    audit = triage(rollout_env, "jobs")  # the audit of a skip is not a job: it stays out
    assert "gold" not in audit.stdout

    retried = triage(rollout_env, "security", "retry", "gold", "--advisory", ADVISORY)
    assert retried.returncode == 0, retried.stderr
    assert next(r for r in sites_json(rollout_env) if r["site"] == "gold")["state"] == "queued"
    again = triage(rollout_env, "security", "retry", "gold", "--advisory", ADVISORY)
    assert "is not failed, skipped or without a fix" in one_line_error(again)


def test_unknown_advisory_and_site_are_one_sentence(rollout_env: dict[str, str]) -> None:
    unknown = triage(rollout_env, "security", "rollout", "SA-NOPE")
    assert "no advisory SA-NOPE is known" in one_line_error(unknown)
    triage(rollout_env, "security", "rollout", ADVISORY, "--no-run")
    missing = triage(rollout_env, "security", "retry", "nosuch", "--advisory", ADVISORY)
    assert "nosuch is not in the rollout of" in one_line_error(missing)
