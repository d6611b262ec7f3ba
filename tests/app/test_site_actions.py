"""The action panel: `x` on a ticket lists what fits, runs it as a job, and shows its log."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from textual.widgets import Log, OptionList

from triage.core.board.service import Board
from triage.storage.columns import BoardColumn
from triage.storage.models import Job, JobState, Ticket, table_of
from triage.tui.app import make_app
from triage.tui.screens.actions import ActionPanel
from triage.tui.screens.jobs import JobScreen, JobsScreen

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Mia Me",
    "GIT_AUTHOR_EMAIL": "mia@example.com",
    "GIT_COMMITTER_NAME": "Mia Me",
    "GIT_COMMITTER_EMAIL": "mia@example.com",
}


def run_git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture
def site_board(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_board: Callable[..., Board]
) -> Board:
    """A demo board whose In Progress tickets belong to a site with a real git remote."""
    for name, value in GIT_ENV.items():
        monkeypatch.setenv(name, value)
    remote, seed = tmp_path / "remote.git", tmp_path / "seed"
    run_git("init", "--bare", "--initial-branch=main", str(remote), cwd=tmp_path)
    run_git("init", "--initial-branch=main", str(seed), cwd=tmp_path)
    (seed / "index.php").write_text("<?php echo 'Acme';\n", encoding="utf-8")
    run_git("add", "index.php", cwd=seed)
    run_git("commit", "-m", "First", cwd=seed)
    run_git("push", str(remote), "main", cwd=seed)
    sites = tmp_path / "sites.toml"
    sites.write_text(
        f"""
[sites.acme]
name = "Acme main site"
client = "Acme Corp"
repo = "{remote}"
checkout = "{tmp_path / "checkout"}"

[sites.acme.envs.prod]
docker_host = "tcp://127.0.0.1:1"
web_container = "acme-prod-web"
db_container = "acme-prod-db"
""",
        encoding="utf-8",
    )
    board = make_board(sites_file=str(sites))
    ticket = table_of(Ticket)
    with board.engine.begin() as connection:
        connection.execute(sa.update(ticket).values(site="acme"))
    return board


def test_actions_open_the_branch_as_a_job_with_a_live_log(site_board: Board) -> None:
    key = site_board.load().columns[BoardColumn.IN_PROGRESS][0].key
    app = make_app(site_board)

    async def run() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            assert app.board_screen is not None and app.board_screen.jump_to(key)
            await pilot.press("x")
            await pilot.pause()
            assert isinstance(app.screen, ActionPanel)
            ids = [a.id for a in app.screen.catalogue.actions]
            assert "open-branch" in ids
            options = app.screen.query_one(OptionList)
            options.highlighted = ids.index("open-branch")
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, JobScreen)
            job_id = app.screen.job_id
            assert app.runner.done(job_id, timeout=60)
            await pilot.pause(0.5)
            log_text = "\n".join(app.screen.query_one(Log).lines)
            assert "$ git" in log_text
            await pilot.press("escape")
            await pilot.press("J")
            await pilot.pause()
            assert isinstance(app.screen, JobsScreen)

    import asyncio

    asyncio.run(run())
    job = app.runner.job(app.runner.jobs(1)[0].id or 0)
    assert isinstance(job, Job) and job.state is JobState.SUCCEEDED, job.error
    assert site_board.ticket(key).branch is not None
    assert site_board.ticket(key).branch_ahead is not None


def test_a_ticket_without_an_inventory_says_how_to_get_one(
    make_board: Callable[..., Board],
) -> None:
    board = make_board(sites_file="/nonexistent/sites.toml")
    app = make_app(board)

    async def run() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            await pilot.press("x")
            await pilot.pause()
            assert isinstance(app.screen, ActionPanel)
            assert not app.screen.catalogue.actions
            assert "sites" in (app.screen.catalogue.note or "")

    import asyncio

    asyncio.run(run())
