"""An app opened on an empty cache shows the first page of its first sync before the rest."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from app_clock import FROZEN_NOW

from triage.core.board.service import Board
from triage.core.config import load_settings
from triage.core.tracker.client import Credentials, JiraTracker
from triage.sandbox.agency import build_agency
from triage.sandbox.jira_server import JiraSandbox
from triage.storage import queries
from triage.storage.db import open_cache
from triage.tui.app import make_app


async def test_the_first_page_is_on_the_board_while_the_sync_goes_on(tmp_path: Path) -> None:
    agency = build_agency(tickets=300, seed=3, now=FROZEN_NOW)
    me = agency.people[0]
    settings = load_settings(
        tmp_path / "absent.toml", data_dir=str(tmp_path / "data"), jira={"projects": ["SUP"]}
    )
    board = Board(open_cache(settings.resolved_database_url()), settings, clock=lambda: FROZEN_NOW)
    gate = threading.Event()
    pages: list[int] = []

    def tracker() -> JiraTracker:
        tracker = JiraTracker(Credentials(sandbox.url, sandbox.token, me.email), "cloud")
        bulk_fetch = tracker.bulk_fetch

        def held(ids: Sequence[str], fields: Sequence[str], expand: str = "") -> Iterator[Any]:
            for page in bulk_fetch(ids, fields, expand):
                pages.append(len(page))
                if len(pages) == 2:
                    assert gate.wait(20), "the test never let the rest of the sync through"
                yield page

        tracker.bulk_fetch = held  # type: ignore[method-assign]
        return tracker

    with JiraSandbox.from_agency(agency, flavour="cloud", user=me.email) as sandbox:
        app = make_app(board, tracker)
        async with app.run_test(size=(160, 48)) as pilot:
            for _ in range(200):  # up to 10 s
                await pilot.pause(0.05)
                if app.board_screen is not None and app.board_screen.data.total:
                    break
            shown = app.board_screen.data.total if app.board_screen else 0
            still_syncing = pages == [100, 100] and queries.ticket_count(board.engine) == 100
            gate.set()
            await app.workers.wait_for_complete()
            await pilot.pause()
            finally_shown = app.board_screen.data.total if app.board_screen else 0

    assert still_syncing
    assert 0 < shown <= 100
    assert queries.ticket_count(board.engine) == 300
    assert finally_shown == board.load().total > shown
