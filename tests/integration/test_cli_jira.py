"""The Jira commands as a user runs them, against the sandbox Jira on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_support import clean_env, one_line_error, triage

from triage.sandbox.agency import build_agency
from triage.sandbox.jira_server import JiraSandbox

USER = "me@agency.example"
TOKEN = "sandbox-token"


@pytest.fixture
def jira() -> Iterator[JiraSandbox]:
    agency = build_agency(tickets=120, seed=4, now=datetime.now(UTC) - timedelta(hours=1))
    with JiraSandbox.from_agency(agency, flavour="cloud", user=USER, token=TOKEN) as sandbox:
        yield sandbox


@pytest.fixture
def env(tmp_path: Path, jira: JiraSandbox) -> dict[str, str]:
    (tmp_path / "config.toml").write_text(
        f'[jira]\nurl = "{jira.url}"\nuser = "{USER}"\nprojects = ["SUP"]\n'
        '[jira.status_map]\n"Reviewing" = "Code Review"\n'
    )
    return clean_env(tmp_path, TRIAGE_JIRA_TOKEN=TOKEN)


def first_in(env: dict[str, str], column: str) -> str:
    listed = json.loads(triage(env, "ls", "--status", column, "--json").stdout)
    return str(listed[0]["key"])


def test_sync_fills_the_cache_and_ends_with_one_summary_line(env: dict[str, str]) -> None:
    result = triage(env, "sync")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].startswith("full sync: 120 issues")
    assert lines[1].startswith("push: 0 done")
    assert len(json.loads(triage(env, "ls", "--json").stdout)) == 120
    again = triage(env, "sync")
    assert again.stdout.startswith("sync: ")  # incremental this time


def test_move_and_comment_wait_in_the_outbox_until_push(
    env: dict[str, str], jira: JiraSandbox
) -> None:
    assert triage(env, "sync").returncode == 0
    key = first_in(env, "PO Review")
    moved = triage(env, "move", key, "ready to deploy")
    assert moved.returncode == 0, moved.stderr
    assert triage(env, "comment", key, "Client accepted on the test site").returncode == 0
    row = next(r for r in json.loads(triage(env, "ls", "--json").stdout) if r["key"] == key)
    assert [c["kind"] for c in row["pending"]] == ["move", "comment"]
    assert jira.issue(key)["fields"]["status"]["name"] == "PO Review"

    pushed = triage(env, "push")
    assert pushed.returncode == 0, pushed.stdout
    assert pushed.stdout.startswith("push: 2 done")
    assert jira.issue(key)["fields"]["status"]["name"] == "Ready To Deploy"
    bodies = [str(c["body"]) for c in jira.issue(key)["fields"]["comment"]["comments"]]
    assert sum("Client accepted on the test site" in body for body in bodies) == 1
    row = next(r for r in json.loads(triage(env, "ls", "--json").stdout) if r["key"] == key)
    assert row["pending"] == []


def test_a_blocked_move_says_why_and_how(env: dict[str, str]) -> None:
    assert triage(env, "sync").returncode == 0
    key = first_in(env, "Ready To Deploy")
    message = one_line_error(triage(env, "move", key, "done"))
    assert "no production deploy" in message and "--override" in message
    message = one_line_error(triage(env, "move", key, "needs work"))
    assert "--comment" in message


def test_conflict_is_listed_and_resolved_from_the_command_line(
    env: dict[str, str], jira: JiraSandbox
) -> None:
    assert triage(env, "sync").returncode == 0
    key = first_in(env, "PO Review")
    assert triage(env, "move", key, "ready to deploy").returncode == 0
    jira.edit(key, status="QA")  # someone else moved it meanwhile
    pushed = triage(env, "push")
    assert pushed.returncode == 1
    assert "1 in conflict" in pushed.stdout
    row = next(r for r in json.loads(triage(env, "ls", "--json").stdout) if r["key"] == key)
    conflict = row["pending"][0]
    assert conflict["state"] == "conflict" and "QA" in conflict["error"]
    text = triage(env, "ls").stdout
    assert f"change {conflict['id']}: move conflict" in text

    resolved = triage(env, "resolve", str(conflict["id"]), "retry")
    assert resolved.returncode == 0, resolved.stderr
    assert triage(env, "push").returncode == 0
    assert jira.issue(key)["fields"]["status"]["name"] == "Ready To Deploy"


def test_doctor_lists_what_to_fix(env: dict[str, str]) -> None:
    result = triage(env, "doctor")
    assert result.returncode == 0, result.stdout
    assert "logged in as" in result.stdout
    assert "every Jira status maps to a board column" in result.stdout


def test_wrong_token_and_missing_config_are_one_sentence(
    tmp_path: Path, env: dict[str, str]
) -> None:
    wrong = dict(env, TRIAGE_JIRA_TOKEN="not-the-token")
    assert "triage login" in one_line_error(triage(wrong, "sync"))
    no_token = {k: v for k, v in env.items() if k != "TRIAGE_JIRA_TOKEN"}
    assert "TRIAGE_JIRA_TOKEN" in one_line_error(triage(no_token, "sync"))
    bare = clean_env(tmp_path / "other")
    assert "[jira] url" in one_line_error(triage(bare, "sync"))
    unreachable = clean_env(tmp_path / "third", TRIAGE_JIRA_TOKEN=TOKEN)
    (tmp_path / "third").mkdir()
    (tmp_path / "third" / "config.toml").write_text(
        '[jira]\nurl = "http://127.0.0.1:1"\nuser = "x@y"\nprojects = ["SUP"]\n'
    )
    assert "not reachable" in one_line_error(triage(unreachable, "sync"))
