"""A small demo workspace on a real SQLite file, with a frozen clock, for the app's tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from triage.core.board.service import Board
from triage.core.config import load_settings
from triage.core.demo import load_demo
from triage.sandbox.agency import build_agency
from triage.storage.db import open_cache
from triage.tui.app import TriageApp, make_app

FROZEN_NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_user_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("TRIAGE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TRIAGE_CONFIG", str(tmp_path / "absent.toml"))


@pytest.fixture
def make_board(tmp_path: Path) -> Callable[..., Board]:
    """Build a demo cache of `tickets` tickets and a board on it with the clock frozen."""

    def build(tickets: int = 120, seed: int = 3, **settings: object) -> Board:
        config = load_settings(
            tmp_path / "absent.toml", data_dir=str(tmp_path / "data"), **settings
        )
        engine = open_cache(config.resolved_database_url())
        agency = build_agency(tickets=tickets, seed=seed, now=FROZEN_NOW)
        load_demo(engine, config, agency.issues, agency.fields, seed=seed)
        return Board(engine, config, clock=lambda: FROZEN_NOW)

    return build


@pytest.fixture
def board(make_board: Callable[..., Board]) -> Board:
    """The default small demo board."""
    return make_board()


@pytest.fixture
def app(board: Board) -> TriageApp:
    """The app on the small demo board."""
    return make_app(board)
