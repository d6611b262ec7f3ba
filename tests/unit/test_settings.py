"""Settings: the TOML file, TRIAGE_* variables over it, and one clear sentence per mistake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from triage.core import paths
from triage.core.config import Settings, load_settings, masked
from triage.core.errors import ConfigError
from triage.storage.columns import BoardColumn
from triage.storage.db import sqlite_url


@pytest.fixture(autouse=True)
def _user_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """platformdirs answers under tmp_path, so no test reads the real user's files."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


FULL = """
me = "Mia Me"
data_dir = "/srv/triage"

[board]
done_window_days = 7
focused_width = 50

[keys]
"board.move_right" = "L,ctrl+right"

[jira]
url = "https://agency.atlassian.net"
user = "mia@agency.example"
deployment = "cloud"
projects = ["SUP", "OPS"]
sync_interval_minutes = 2.5

[jira.status_map]
"In Review" = "code review"
"Waiting for customer" = "Feedback/Impediment"

[jira.fields]
site = "customfield_10101"
severity = "Severity"
"""


# --- reading ---------------------------------------------------------------------------------


def test_the_file_sets_every_section(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, FULL))

    assert settings.me == "Mia Me"
    assert settings.data_dir == Path("/srv/triage")
    assert (settings.board.done_window_days, settings.board.focused_width) == (7, 50)
    assert settings.board.min_column_width == 22
    assert settings.keys == {"board.move_right": "L,ctrl+right"}
    assert settings.jira.url == "https://agency.atlassian.net"
    assert settings.jira.deployment == "cloud"
    assert settings.jira.projects == ["SUP", "OPS"]
    assert settings.jira.sync_interval_minutes == 2.5
    assert settings.jira.status_map["In Review"] == "code review"
    assert (settings.jira.fields.site, settings.jira.fields.severity) == (
        "customfield_10101",
        "Severity",
    )
    assert settings.jira.fields.client == "Client"


def test_a_missing_file_gives_the_defaults(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "absent.toml")

    assert settings == Settings()
    assert settings.board.done_window_days == 14
    assert settings.jira.deployment == "auto"


def test_overrides_passed_in_win_over_the_file(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, FULL), me="Someone Else")

    assert settings.me == "Someone Else"


# --- environment -------------------------------------------------------------------------------


def test_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRIAGE_ME", "Env Person")
    monkeypatch.setenv("TRIAGE_JIRA__URL", "https://dc.agency.example")

    settings = load_settings(write(tmp_path, FULL))

    assert settings.me == "Env Person"
    assert settings.jira.url == "https://dc.agency.example"
    assert settings.jira.projects == ["SUP", "OPS"]


def test_a_nested_variable_changes_one_key_and_keeps_the_rest_of_the_section(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_BOARD__DONE_WINDOW_DAYS", "3")

    settings = load_settings(write(tmp_path, FULL))

    assert settings.board.done_window_days == 3
    assert settings.board.focused_width == 50


def test_a_nested_variable_works_without_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_BOARD__DONE_WINDOW_DAYS", "30")
    monkeypatch.setenv("TRIAGE_JIRA__FIELDS__SITE", "customfield_20000")

    settings = load_settings(tmp_path / "absent.toml")

    assert settings.board.done_window_days == 30
    assert settings.jira.fields.site == "customfield_20000"
    assert settings.jira.fields.client == "Client"


def test_data_dir_and_database_url_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path / "data"))

    settings = load_settings(tmp_path / "absent.toml")

    assert settings.resolved_data_dir() == tmp_path / "data"
    assert settings.resolved_database_url() == sqlite_url(tmp_path / "data" / "triage.db")

    monkeypatch.setenv("TRIAGE_DATABASE_URL", "postgresql+psycopg://team@db.internal/triage")
    settings = load_settings(tmp_path / "absent.toml")

    assert settings.resolved_database_url() == "postgresql+psycopg://team@db.internal/triage"
    assert settings.resolved_data_dir() == tmp_path / "data"


def test_the_default_data_dir_is_the_user_data_directory(tmp_path: Path) -> None:
    settings = load_settings(tmp_path / "absent.toml")

    assert settings.resolved_data_dir() == tmp_path / "xdg-data" / "triage"
    assert settings.resolved_data_dir() == paths.default_data_dir()
    assert settings.resolved_database_url() == sqlite_url(
        tmp_path / "xdg-data" / "triage" / "triage.db"
    )
    assert not (tmp_path / "xdg-data").exists(), "nothing is created by reading settings"


def test_a_data_dir_with_a_tilde_is_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    settings = load_settings(write(tmp_path, 'data_dir = "~/triage-data"\n'))

    assert settings.resolved_data_dir() == tmp_path / "home" / "triage-data"


def test_the_config_file_is_found_in_the_user_config_directory(tmp_path: Path) -> None:
    folder = tmp_path / "xdg-config" / "triage"
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text('me = "From XDG"\n')

    assert paths.config_file() == folder / "config.toml"
    assert load_settings().me == "From XDG"


def test_triage_config_names_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = write(tmp_path, 'me = "From TRIAGE_CONFIG"\n', name="elsewhere.toml")
    monkeypatch.setenv("TRIAGE_CONFIG", str(other))

    assert paths.config_file() == other
    assert load_settings().me == "From TRIAGE_CONFIG"


# --- mistakes: one sentence naming the file and the key -----------------------------------------


def config_error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert str(path) in message
    assert "\n" not in message
    return message


def test_broken_toml_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[board]\ndone_window_days = 7\n[jira\nurl = "x"\n')

    message = config_error(path)

    assert "not valid TOML" in message
    assert "line 3" in message


def test_a_wrong_type_names_the_key_and_its_variable(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, '[board]\ndone_window_days = "many"\n'))

    assert "'board.done_window_days'" in message
    assert "TRIAGE_BOARD__DONE_WINDOW_DAYS" in message


def test_a_value_out_of_range_names_the_key(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, "[board]\nfocused_width = 3\n"))

    assert "'board.focused_width'" in message


def test_a_wrong_type_in_the_environment_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_BOARD__DONE_WINDOW_DAYS", "soon")

    message = config_error(tmp_path / "absent.toml")

    assert "TRIAGE_BOARD__DONE_WINDOW_DAYS" in message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("colour = 1\n", "'colour'"),
        ("[board]\ncolour = 1\n", "'board.colour'"),
        ("[jira.fields]\nsites = 'Site'\n", "'jira.fields.sites'"),
    ],
)
def test_an_unknown_key_is_named(tmp_path: Path, text: str, key: str) -> None:
    message = config_error(write(tmp_path, text))

    assert f"unknown key {key}" in message


def test_a_status_map_naming_an_unknown_column_is_refused(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, '[jira.status_map]\n"In Dev" = "Doing"\n'))

    assert "'jira.status_map'" in message
    assert "'In Dev'" in message
    assert "'Doing'" in message
    assert BoardColumn.FEEDBACK.value in message


def test_an_unreadable_config_path_is_one_sentence(tmp_path: Path) -> None:
    folder = tmp_path / "config.toml"
    folder.mkdir()

    message = config_error(folder)

    assert "cannot read the config file" in message


# --- masked ------------------------------------------------------------------------------------


def test_masked_hides_the_database_password_and_secret_like_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_DATABASE_URL", "postgresql+psycopg://team:hunter2@db/triage")
    settings = load_settings(
        write(tmp_path, FULL), keys={"jira_api_token": "tok-123", "vault_secret": "s-456"}
    )

    shown = masked(settings)

    text = json.dumps(shown)
    for secret in ("hunter2", "tok-123", "s-456"):
        assert secret not in text
    assert shown["database_url"] == "postgresql+psycopg://team:***@db/triage"
    assert shown["keys"]["jira_api_token"] == "********"
    assert shown["jira"]["url"] == "https://agency.atlassian.net"
    assert shown["jira"]["user"] == "mia@agency.example"
    assert shown["data_dir"] == "/srv/triage"


def test_masked_shows_the_resolved_defaults(tmp_path: Path) -> None:
    shown = masked(load_settings(tmp_path / "absent.toml"))

    assert shown["data_dir"] == str(tmp_path / "xdg-data" / "triage")
    assert shown["database_url"] == sqlite_url(tmp_path / "xdg-data" / "triage" / "triage.db")
    assert shown["board"]["done_window_days"] == 14
