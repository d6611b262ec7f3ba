"""`triage` (the board) exits non-zero when the app crashes, so scripts and users see it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import triage.tui.app
from triage.tui.app import TriageApp
from triage.tui.cli import main as cli


class _CrashingApp(TriageApp):
    """The real app, headless, with a bug on mount."""

    def on_mount(self) -> None:
        raise RuntimeError("a bug in the board")

    def run(self, *args: Any, **kwargs: Any) -> Any:
        return super().run(headless=True)


@pytest.fixture
def crashing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(triage.tui.app, "make_app", lambda board, *rest: _CrashingApp(board))


def test_the_board_exits_non_zero_when_it_crashes(
    crashing: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["board"]) != 0
    assert "a bug in the board" in capsys.readouterr().err


def test_the_board_exits_zero_when_quit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    class _Quits(TriageApp):
        def on_ready(self) -> None:
            self.exit()

        def run(self, *args: Any, **kwargs: Any) -> Any:
            return super().run(headless=True)

    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(triage.tui.app, "make_app", lambda board, *rest: _Quits(board))
    assert cli.main([]) == 0
