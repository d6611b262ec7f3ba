"""Settings mistakes that used to end in a traceback: each is one ConfigError sentence now.

A config file that is not UTF-8, `TRIAGE_*` variables that are not valid JSON, numbers too
big to be meant (1e400, 10**30) and an in-memory SQLite cache that would lose every change.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from triage.core.config import load_settings, masked
from triage.core.errors import ConfigError


@pytest.fixture(autouse=True)
def _user_directories(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))


def _error(path: Path) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_config_file_that_is_not_utf8_is_named(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'me = "Jos\xe9"\n')
    message = _error(path)
    assert str(path) in message and "UTF-8" in message


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TRIAGE_BOARD", "{not json"),
        ("TRIAGE_KEYS", "board.quit=q"),
        ("TRIAGE_JIRA__PROJECTS", "[SUP"),
        ("TRIAGE_JIRA__STATUS_MAP", "{'x': 1"),
    ],
)
def test_a_malformed_variable_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    message = _error(tmp_path / "absent.toml")
    assert variable in message and "JSON" in message


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("TRIAGE_JIRA__SYNC_INTERVAL_MINUTES", "1e400", "jira.sync_interval_minutes"),
        ("TRIAGE_JIRA__SYNC_INTERVAL_MINUTES", "nan", "jira.sync_interval_minutes"),
        ("TRIAGE_JIRA__DELETED_SCAN_MINUTES", str(10**30), "jira.deleted_scan_minutes"),
        ("TRIAGE_BOARD__DONE_WINDOW_DAYS", str(10**30), "board.done_window_days"),
        ("TRIAGE_BOARD__FOCUSED_WIDTH", str(10**30), "board.focused_width"),
        ("TRIAGE_BOARD__MIN_COLUMN_WIDTH", "1e9", "board.min_column_width"),
        ("TRIAGE_MAX_JOBS", str(10**30), "max_jobs"),
    ],
)
def test_huge_numbers_are_refused_with_the_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, key: str
) -> None:
    monkeypatch.setenv(variable, value)
    message = _error(tmp_path / "absent.toml")
    assert key in message and variable in message


def test_a_huge_number_in_the_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f"[board]\ndone_window_days = {10**30}\n", encoding="utf-8")
    assert "board.done_window_days" in _error(path)


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:"])
def test_an_in_memory_cache_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("TRIAGE_DATABASE_URL", url)
    message = _error(tmp_path / "absent.toml")
    assert "memory" in message and "TRIAGE_DATABASE_URL" in message


def test_settings_in_force_mask_every_credential_shape(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        'database_url = "postgresql+psycopg://u@db.example/t?password=hunter2"\n'
        'sites_file = "/srv/sites.toml"\n'
        "[jira]\n"
        'url = "https://bot:tok@en@jira.example.com"\n',
        encoding="utf-8",
    )
    shown = str(masked(load_settings(path)))
    assert "hunter2" not in shown and "tok@en" not in shown and "en@jira" not in shown
    assert "db.example/t" in shown and "jira.example.com" in shown
