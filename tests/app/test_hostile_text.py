"""A hostile summary, description, comment or label is shown as text on the board and the
ticket screen: no escape sequence, control or bidi override reaches the terminal, and
brackets like `[bold]` are shown, not read as Rich markup."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlmodel import Session, select
from textual.command import CommandList, CommandPalette

from triage.core.board.service import Board
from triage.storage.columns import BoardColumn
from triage.storage.models import Comment, Job, JobLog, JobState, Ticket
from triage.tui.app import TriageApp, make_app
from triage.tui.screens.jobs import JobScreen, JobsScreen
from triage.tui.screens.ticket import TicketScreen
from triage.tui.sync_status import SyncStatus, describe

HOSTILE = "Login\x1b]0;pwned\x07 broken\x1b[2J\x9b31m\u202eevil\u202c\x00 [bold]bracketed[/bold]"
FORBIDDEN = {chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0))} | {
    chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
}


def _hostile_board(make_board: Callable[..., Board]) -> tuple[Board, str]:
    """The demo board with the first To Do ticket's every text made hostile; its key."""
    board = make_board()
    with Session(board.engine) as session:
        ticket = session.exec(
            select(Ticket).where(Ticket.column == BoardColumn.TODO).order_by(Ticket.key)
        ).first()
        assert ticket is not None
        ticket.summary = HOSTILE + "\nSECOND LINE"
        ticket.description = HOSTILE + "\nnext line\x1b[31m red"
        ticket.assignee = "[red]Eve[/red]\x1b[5m"
        ticket.site = "acme\u202e"
        ticket.labels = ["[blink]label[/blink]"]
        ticket.jira_status = "To Do\x1b[1m"
        session.add(ticket)
        session.add(
            Comment(ticket_key=ticket.key, author="[b]Mallory[/b]\x07", body=HOSTILE + "\n2nd")
        )
        session.commit()
        return board, ticket.key


def _screen_text(app: TriageApp) -> str:
    """Every character the screen would send to the terminal now, line by line."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


async def test_the_board_shows_a_hostile_summary_as_plain_text(
    make_board: Callable[..., Board],
) -> None:
    board, key = _hostile_board(make_board)
    app = make_app(board)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        assert app.board_screen is not None
        assert app.board_screen.board_view.view(BoardColumn.TODO).cards.select_key(key)
        await pilot.pause()
        text = _screen_text(app)
        assert key in text
        assert sorted(hex(ord(c)) for c in set(text) & (FORBIDDEN - {"\n"})) == []
        assert "pwned" not in text and "2J" not in text and "31m" not in text
        assert "Login broken" in text


async def test_the_ticket_screen_shows_hostile_text_as_plain_text(
    make_board: Callable[..., Board],
) -> None:
    board, key = _hostile_board(make_board)
    app = make_app(board)
    async with app.run_test(size=(160, 60)) as pilot:
        await pilot.pause()
        assert app.board_screen is not None
        assert app.board_screen.board_view.view(BoardColumn.TODO).cards.select_key(key)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, TicketScreen)
        text = _screen_text(app)
        assert sorted(hex(ord(c)) for c in set(text) & (FORBIDDEN - {"\n"})) == []
        assert "pwned" not in text and "2J" not in text
        # Brackets are text, not markup: each is on screen as typed in Jira.
        for literal in (
            "[bold]bracketed[/bold]",
            "[red]Eve[/red]",
            "[blink]label[/blink]",
            "[b]Mallory[/b]",
        ):
            assert literal in text, literal
        # A block keeps its own lines: the description's second line is a line of its own.
        assert any(line.strip().startswith("next line") for line in text.splitlines())


async def test_the_job_screens_show_hostile_output_as_plain_text(
    make_board: Callable[..., Board],
) -> None:
    board, key = _hostile_board(make_board)
    with Session(board.engine) as session:
        job = Job(
            kind="deploy", site="acme\x1b[2J", env="test", ticket_key=key, actor="me",
            state=JobState.FAILED, duration_ms=10, error="failed: " + HOSTILE,
        )  # fmt: skip
        session.add(job)
        session.flush()
        for text in ("$ drush deploy", HOSTILE, "\x1b]52;c;ZXZpbA==\x07[b]done[/b]"):
            session.add(JobLog(job_id=job.id or 0, line=text))
        session.commit()
        job_id = job.id or 0
    app = make_app(board)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        app.push_screen(JobsScreen(app.runner))
        await pilot.pause()
        listing = _screen_text(app)
        assert sorted(hex(ord(c)) for c in set(listing) & (FORBIDDEN - {"\n"})) == []
        assert "2J" not in listing
        app.push_screen(JobScreen(app.runner, job_id))
        await pilot.pause(0.3)
        text = _screen_text(app)
        assert sorted(hex(ord(c)) for c in set(text) & (FORBIDDEN - {"\n"})) == []
        assert "$ drush deploy" in text and "[b]done[/b]" in text
        assert "pwned" not in text and "ZXZpbA" not in text


async def test_a_notification_quoting_brackets_is_shown_as_typed(
    make_board: Callable[..., Board],
) -> None:
    app = make_app(make_board())
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        # Error sentences quote Jira ("[/customfield_1]") and the config ("[jira] url").
        assert app.board_screen is not None
        app.board_screen.notify("Jira refused: field [/customfield_1] is bad\x1b[2J")
        app.notify("set [jira] url in the config file", severity="error")
        await pilot.pause(0.3)
        assert app.return_code is None, "a notification crashed the app"
        shown = [str(n.message) for n in app._notifications]
        assert shown == [
            "Jira refused: field [/customfield_1] is bad",
            "set [jira] url in the config file",
        ]
        assert all(not n.markup for n in app._notifications)


def test_the_status_line_says_a_sync_error_in_one_clean_masked_line() -> None:
    error = "Jira at https://bot:s3cret@jira.example refused:\n<html>\x1b]0;pwned\x07</html>"
    parts = describe(SyncStatus(connected=True, error=error), datetime.now(UTC))
    said = "".join(words for words, _ in parts)
    assert "s3cret" not in said and "pwned" not in said
    assert not set(said) & FORBIDDEN
    assert "jira.example refused: <html>" in said


async def test_the_palette_finds_a_hostile_summary_and_shows_it_as_typed(
    make_board: Callable[..., Board],
) -> None:
    board, key = _hostile_board(make_board)
    with Session(board.engine) as session:
        ticket = session.get(Ticket, key)
        assert ticket is not None
        ticket.summary = "Palette probe [/customfield_1] [bold]x\x1b[2J"
        session.add(ticket)
        session.commit()
    app = make_app(board)
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"palette probe")
        options = app.screen.query_one(CommandList)
        for _ in range(100):  # the search runs in a worker: bounded wait for its hits
            if options.option_count:
                break
            await pilot.pause(0.05)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert app.return_code is None
        assert any(f"{key} Palette probe [/customfield_1] [bold]x" in p for p in prompts), prompts
        assert not set("".join(prompts)) & (FORBIDDEN - {"\n"})
