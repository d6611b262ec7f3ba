"""The board on small terminals: at every size from 80×24 up, the focused column shows cards."""

from __future__ import annotations

import pytest

from triage.tui.app import TriageApp
from triage.tui.screens.board import BoardScreen
from triage.tui.widgets.card_list import CARD_HEIGHT

SIZES = [(80, 24), (90, 28), (100, 30), (110, 32), (120, 36), (140, 40), (160, 48)]
READABLE = 30
"""Cells a focused column needs so that a card's key and the start of its summary show."""


def board_screen(app: TriageApp) -> BoardScreen:
    assert app.board_screen is not None
    return app.board_screen


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
async def test_every_focused_column_shows_readable_cards(
    app: TriageApp, size: tuple[int, int]
) -> None:
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        board = board_screen(app).board_view
        for index in range(len(board.views)):
            view = board.views[index]
            assert board.focused_index == index
            assert not view.collapsed, f"column {index} is focused but collapsed at {size}"
            assert view.cards.size.width >= READABLE, (index, view.cards.size)
            card = board.current_card
            if card is not None:
                cards = view.cards
                line = cards.render_line((cards.cursor - cards.first) * CARD_HEIGHT).text
                assert card.key in line, (size, index, line)
            await pilot.press("l")
            await pilot.pause()
        total = sum(view.outer_size.width for view in board.views)
        assert total <= size[0], "the columns fit the terminal"
