"""Where Triage keeps its files: the config file and the data directory (platformdirs)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "triage"


def config_file() -> Path:
    """The config file: `TRIAGE_CONFIG`, or config.toml in the user config directory."""
    override = os.environ.get("TRIAGE_CONFIG")
    if override:
        return Path(override).expanduser()
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def default_data_dir() -> Path:
    """The user data directory, where the SQLite cache and job records live by default."""
    return platformdirs.user_data_path(APP_NAME)
