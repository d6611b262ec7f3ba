"""Keys on the board's filter line, the jobs list and the help of each screen."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable, Input, Label, Log, Static

from triage.tui.app import TriageApp
from triage.tui.screens.board import BoardScreen
from triage.tui.screens.help import HelpScreen
from triage.tui.screens.jobs import JobScreen, JobsScreen


def board_screen(app: TriageApp) -> BoardScreen:
    assert app.board_screen is not None
    return app.board_screen


def shown_keys(app: TriageApp) -> set[str]:
    return {card.key for view in board_screen(app).board_view.views for card in view.cards.cards}


async def test_an_unknown_filter_key_is_told_on_the_filter_line(app: TriageApp) -> None:
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"colour:red")
        await pilot.pause()
        problem = board_screen(app).query_one("#filter-problem", Static)
        said = str(problem.content)
        assert problem.display and "Unknown filter key colour:" in said, said
        assert "assignee:" in said and "site:" in said, said
        await pilot.press(*["backspace"] * len("colour:red"), *"site:x")
        await pilot.pause()
        assert board_screen(app).query_one("#filter", Input).value == "site:x"
        assert not problem.display


async def test_assignee_none_and_negation_on_the_board(app: TriageApp) -> None:
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        everything = shown_keys(app)
        board_screen(app).set_filter("assignee:none")
        await pilot.pause()
        unassigned = shown_keys(app)
        assert unassigned and unassigned < everything
        board_screen(app).set_filter("-assignee:none")
        await pilot.pause()
        assert shown_keys(app) == everything - unassigned


def _a_job(app: TriageApp, words: str) -> int:
    def operation(reporter: Any) -> str:
        with reporter.step("say it"):
            reporter.log(words)
        return "said it"

    job_id = app.runner.submit("say", "acme", "dev", None, None, False, operation)
    assert app.runner.done(job_id, timeout=30)
    return job_id


async def test_enter_on_the_jobs_list_opens_the_jobs_log(app: TriageApp) -> None:
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        first = _a_job(app, "first job's line")
        second = _a_job(app, "second job's line")
        await pilot.press("J")
        await pilot.pause()
        assert isinstance(app.screen, JobsScreen)
        table = app.screen.query_one(DataTable)
        assert table.row_count == 2
        await pilot.press("down")  # newest first: the first job is the second row
        await pilot.press("enter")
        await pilot.pause(0.5)
        assert isinstance(app.screen, JobScreen), type(app.screen)
        assert app.screen.job_id == first != second
        assert sum(isinstance(screen, JobScreen) for screen in app.screen_stack) == 1
        assert "first job's line" in "\n".join(app.screen.query_one(Log).lines)


async def test_help_is_titled_by_its_screen(app: TriageApp) -> None:
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()

        async def title() -> str:
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpScreen)
            text = str(app.screen.query_one(".dialog-title", Label).content)
            await pilot.press("escape")
            await pilot.pause()
            return text

        assert await title() == "Keys — Board"
        await pilot.press("enter")
        await pilot.pause()
        assert await title() == "Keys — Ticket"
        await pilot.press("escape", "J")
        await pilot.pause()
        assert isinstance(app.screen, JobsScreen)
        assert await title() == "Keys — Jobs"
