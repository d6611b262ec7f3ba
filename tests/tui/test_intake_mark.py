"""Tickets that came in by e-mail carry a ✉ on their card, for the on-call to triage."""

from __future__ import annotations

from sqlmodel import Session, select

from core.board import Board
from storage.models import BoardColumn, Ticket
from tui.app import make_app
from tui.widgets.card_list import CARD_HEIGHT, EMAIL_MARK


async def test_a_card_from_email_shows_the_mark_and_others_do_not(board: Board) -> None:
    with Session(board.engine) as session:
        todo = list(session.exec(select(Ticket).where(Ticket.column == BoardColumn.TODO)))
        mailed, plain = todo[0], todo[1]
        mailed.labels = [*mailed.labels, "triage-email"]
        session.add(mailed)
        session.commit()
        mailed_key, plain_key = mailed.key, plain.key
    app = make_app(board)
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        assert app.board_screen is not None
        cards = app.board_screen.board_view.view(BoardColumn.TODO).cards

        def key_line(key: str) -> str:
            assert cards.select_key(key)
            index = next(i for i, c in enumerate(cards.cards) if c.key == key)
            return cards.render_line((index - cards.first) * CARD_HEIGHT).text

        assert key_line(mailed_key).lstrip("▎▌").startswith(f"{mailed_key} {EMAIL_MARK}")
        assert EMAIL_MARK not in key_line(plain_key)
