"""The `triage` command line as a user runs it: a subprocess with a clean environment."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60
COLUMNS = (
    "To Do",
    "Needs Work",
    "In Progress",
    "Feedback/Impediment",
    "Code Review",
    "QA",
    "PO Review",
    "Ready To Deploy",
    "Done",
)
UNREACHABLE = "postgresql+psycopg://triage:hunter2@127.0.0.1:1/triage"


def clean_env(root: Path, **extra: str) -> dict[str, str]:
    """os.environ without any TRIAGE_* variable, with the data dir and config under `root`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env["TRIAGE_DATA_DIR"] = str(root / "data")
    env["TRIAGE_CONFIG"] = str(root / "config.toml")
    env.update(extra)
    return env


def triage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run `triage ARGS` from the repository root, bounded in time."""
    return subprocess.run(
        [sys.executable, "-m", "triage.tui.cli.main", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """Assert the run ended in exit status 2 with one line on stderr; that line."""
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def ls_json(env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    result = triage(env, "ls", "--json", *args)
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A data directory holding a 60-ticket demo; the demo's stdout."""
    root = tmp_path_factory.mktemp("demo")
    result = triage(clean_env(root), "demo", "--no-open", "--tickets", "60", "--seed", "5")
    assert result.returncode == 0, result.stderr
    return root, result.stdout


@pytest.fixture
def demo_env(demo_dir: tuple[Path, str]) -> dict[str, str]:
    return clean_env(demo_dir[0])


def test_demo_says_how_many_tickets(demo_dir: tuple[Path, str]) -> None:
    root, stdout = demo_dir
    assert "60 issues" in stdout
    assert (root / "data" / "triage.db").is_file()


def test_ls_json_lists_every_ticket(demo_env: dict[str, str]) -> None:
    rows = ls_json(demo_env)
    assert isinstance(rows, list) and len(rows) == 60
    assert len({row["key"] for row in rows}) == 60
    for row in rows:
        for key in ("key", "summary", "column", "jira_status", "site", "assignee", "updated"):
            assert key in row, (key, row)
        assert row["column"] in COLUMNS, row
        assert row["key"].startswith("SUP-"), row
        updated = datetime.fromisoformat(row["updated"])
        assert updated.tzinfo is not None, row


def test_ls_status_lists_only_that_column(demo_env: dict[str, str]) -> None:
    wanted = {row["key"] for row in ls_json(demo_env) if row["column"] == "Code Review"}
    assert wanted, "the seed-5 demo has tickets in Code Review"

    table = triage(demo_env, "ls", "--status", "code review")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.strip().splitlines()
    assert {line.split()[0] for line in lines} == wanted
    assert all("Code Review" in line for line in lines)

    filtered = ls_json(demo_env, "--status", "code review")
    assert {row["key"] for row in filtered} == wanted
    assert {row["column"] for row in filtered} == {"Code Review"}


def test_ls_site_filters(demo_env: dict[str, str]) -> None:
    rows = ls_json(demo_env)
    site = next(row["site"] for row in rows if row["site"])
    wanted = {row["key"] for row in rows if row["site"] == site}

    filtered = ls_json(demo_env, "--site", site)
    assert {row["key"] for row in filtered} == wanted
    assert {row["site"] for row in filtered} == {site}
    assert ls_json(demo_env, "--site", "no-such-site") == []


def test_ls_unknown_status_names_the_nine_columns(demo_env: dict[str, str]) -> None:
    result = triage(demo_env, "ls", "--status", "bogus")
    line = one_line_error(result)
    assert "bogus" in line
    for column in COLUMNS:
        assert column in line, (column, line)
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [["nosuch"], ["demo", "--tickets", "x"], ["ls", "--bogus"]],
    ids=["unknown-command", "bad-int", "unknown-option"],
)
def test_usage_mistakes_are_one_line(tmp_path: Path, args: list[str]) -> None:
    one_line_error(triage(clean_env(tmp_path), *args))


def test_demo_needs_a_positive_ticket_count(tmp_path: Path) -> None:
    line = one_line_error(triage(clean_env(tmp_path), "demo", "--no-open", "--tickets", "0"))
    assert "--tickets" in line


@pytest.mark.parametrize("command", ["ls", "config"])
@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[board\n", ["not valid TOML"]),
        ('[board]\ndone_window_days = "x"\n', ["board.done_window_days"]),
        ("unknown_key = 1\n", ["unknown_key"]),
        ("[board]\nwidth = 1\n", ["board.width"]),
    ],
    ids=["broken-toml", "wrong-type", "unknown-key", "unknown-nested-key"],
)
def test_config_mistakes_name_file_and_key(
    tmp_path: Path, command: str, text: str, names: list[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text, encoding="utf-8")
    line = one_line_error(triage(clean_env(tmp_path), command))
    assert str(config) in line
    for name in names:
        assert name in line


def test_environment_mistake_names_the_variable(tmp_path: Path) -> None:
    env = clean_env(tmp_path, TRIAGE_BOARD__DONE_WINDOW_DAYS="soon")
    line = one_line_error(triage(env, "ls"))
    assert "TRIAGE_BOARD__DONE_WINDOW_DAYS" in line


@pytest.mark.parametrize("args", [["ls"], ["demo", "--no-open", "--tickets", "5"]])
def test_unwritable_data_dir_names_the_variable(tmp_path: Path, args: list[str]) -> None:
    # We run as root, so a read-only directory would still be writable: use a file instead.
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n", encoding="utf-8")
    env = clean_env(tmp_path, TRIAGE_DATA_DIR=str(blocker / "data"))
    line = one_line_error(triage(env, *args))
    assert "TRIAGE_DATA_DIR" in line
    assert str(blocker) in line


@pytest.mark.parametrize("args", [["ls"], ["demo", "--no-open", "--tickets", "5"]])
def test_unreachable_database_names_the_variable(tmp_path: Path, args: list[str]) -> None:
    env = clean_env(tmp_path, TRIAGE_DATABASE_URL=UNREACHABLE)
    result = triage(env, *args)  # bounded by TIMEOUT_S
    line = one_line_error(result)
    assert "TRIAGE_DATABASE_URL" in line
    assert "127.0.0.1:1" in line
    assert "hunter2" not in result.stderr + result.stdout


def test_config_shows_paths_and_masks_the_password(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'database_url = "postgresql+psycopg://u:secret@127.0.0.1:1/x"\n'
        "[jira]\n"
        'url = "https://example.atlassian.net"\n',
        encoding="utf-8",
    )
    data_dir = tmp_path / "data"
    # Only `config`: it must neither connect to the (unreachable) database nor fail.
    result = triage(clean_env(tmp_path), "config")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    # The header says "(secrets masked)"; the password itself must appear nowhere.
    assert ":secret@" not in result.stdout
    assert "secret" not in result.stdout.replace("(secrets masked)", "")
    assert str(config) in result.stdout
    assert str(data_dir) in result.stdout
    settings = json.loads(result.stdout[result.stdout.index("{") :])
    assert settings["data_dir"] == str(data_dir)
    assert settings["database_url"].startswith("postgresql+psycopg://u:")
    assert "127.0.0.1:1/x" in settings["database_url"]
    assert settings["jira"]["url"] == "https://example.atlassian.net"
    assert settings["board"]["done_window_days"] == 14
    assert not data_dir.exists(), "`config` only reports; it creates nothing"


def test_config_without_a_file_says_defaults(tmp_path: Path) -> None:
    result = triage(clean_env(tmp_path), "config")
    assert result.returncode == 0, result.stderr
    assert str(tmp_path / "config.toml") in result.stdout
    assert "defaults in force" in result.stdout
    settings = json.loads(result.stdout[result.stdout.index("{") :])
    assert settings["database_url"] == f"sqlite:///{tmp_path / 'data' / 'triage.db'}"


@pytest.mark.parametrize("command", [[], ["board"], ["demo"], ["ls"], ["config"]])
def test_help_exits_zero(tmp_path: Path, command: list[str]) -> None:
    result = triage(clean_env(tmp_path), *command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(" ".join(["usage: triage", *command]))
    assert result.stderr == ""
    assert not (tmp_path / "data").exists(), "--help opens no cache"


def test_demo_refuses_a_jira_workspace(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    built = triage(env, "demo", "--no-open", "--tickets", "20", "--seed", "3")
    assert built.returncode == 0, built.stderr
    database = tmp_path / "data" / "triage.db"
    with sqlite3.connect(database) as connection:
        changed = connection.execute(
            "UPDATE meta SET value = 'jira' WHERE key = 'workspace'"
        ).rowcount
    connection.close()
    assert changed == 1

    line = one_line_error(triage(env, "demo", "--no-open", "--tickets", "30"))
    assert "TRIAGE_DATA_DIR" in line

    with sqlite3.connect(database) as connection:
        workspace = connection.execute("SELECT value FROM meta WHERE key = 'workspace'").fetchone()
        tickets = connection.execute("SELECT count(*) FROM ticket").fetchone()
    connection.close()
    assert workspace == ("jira",)
    assert tickets == (20,)


def test_second_demo_rebuilds(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    args = ("demo", "--no-open", "--tickets", "60", "--seed", "5")
    first = triage(env, *args)
    assert first.returncode == 0, first.stderr
    keys = {row["key"] for row in ls_json(env)}

    second = triage(env, *args)
    assert second.returncode == 0, second.stderr
    assert "60 issues" in first.stdout and "60 issues" in second.stdout
    rows = ls_json(env)
    assert len(rows) == 60
    assert {row["key"] for row in rows} == keys
