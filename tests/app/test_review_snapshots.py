"""Snapshots of the review queue and the diff screen, small and large. Update with
--snapshot-update. The branches are made with fixed git dates, so their shas never change."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from review_repos import big_change, hermetic_git, make_repos, small_change, write_sites
from textual.widgets import DataTable

from triage.core.board.service import Board
from triage.storage.columns import BoardColumn
from triage.tui.app import TriageApp, make_app
from triage.tui.screens.review import ReviewScreen

SIZES = [(80, 24), (160, 48)]


@pytest.fixture
def review_app(
    make_board: Callable[..., Board], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> TriageApp:
    """The demo board (local only) whose Code Review tickets' sites share one real remote."""
    hermetic_git(monkeypatch, tmp_path)
    board = make_board(sites_file=str(tmp_path / "sites.toml"))
    repos = make_repos(tmp_path)
    in_review = board.load().columns[BoardColumn.CODE_REVIEW]
    write_sites(tmp_path / "sites.toml", sorted({c.site for c in in_review if c.site}), repos,
                tmp_path / "checkout")  # fmt: skip
    for key in ("SUP-62", "SUP-117"):
        found = board.ticket(key)
        repos.push_branch(str(found.branch), small_change(key), f"{key}: {found.summary}", 2)
    big = board.ticket("SUP-110")
    repos.push_branch(str(big.branch), big_change(5_000), "SUP-110: a big change")
    return make_app(board)


async def _queue(pilot: Any) -> None:
    await pilot.pause()
    await pilot.press("R")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def _opening(key: str, *keys: str) -> Callable[[Any], Any]:
    async def run(pilot: Any) -> None:
        await _queue(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, ReviewScreen)
        screen.query_one(DataTable).move_cursor(row=[i.key for i in screen.items].index(key))
        await pilot.press("enter")
        for _ in range(2):
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
        await pilot.press(*keys)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    return run


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_review_queue(snap_compare: Any, review_app: TriageApp, size: tuple[int, int]) -> None:
    assert snap_compare(review_app, terminal_size=size, run_before=_queue)


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_diff(snap_compare: Any, review_app: TriageApp, size: tuple[int, int]) -> None:
    run = _opening("SUP-62", "right_curly_bracket", "j", "j", "j", "j", "j")
    assert snap_compare(review_app, terminal_size=size, run_before=run)


def test_diff_of_a_big_branch(snap_compare: Any, review_app: TriageApp) -> None:
    run = _opening("SUP-110", "right_square_bracket", "pagedown")
    assert snap_compare(review_app, terminal_size=(160, 48), run_before=run)
