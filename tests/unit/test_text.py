"""Text from Jira is data: control characters and escape sequences never survive cleaning."""

from __future__ import annotations

import pytest

from triage.core.text import clean_block, clean_line

HOSTILE = [
    ("\x1b]0;pwned\x07Title", "Title"),  # OSC: sets the window title
    ("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC 8 hyperlink, ST ends
    ("\x1b[2J\x1b[HClear", "Clear"),  # CSI: clears the screen, homes the cursor
    ("\x1b[38;5;196mred\x1b[0m", "red"),
    ("\x9b2Jc1 csi", "c1 csi"),  # the one-byte C1 CSI
    ("\x9d0;title\x9cC1 osc", "C1 osc"),
    ("\x1bcreset", "reset"),  # ESC c: full terminal reset
    ("a\x00b", "ab"),
    ("bell\x07 and del\x7f", "bell and del"),
    ("\u202eevil\u202c txt", "evil txt"),  # right-to-left override
    ("\u2066iso\u2069late", "isolate"),
    ("c1\x80 \x81x", "c1 x"),
]


@pytest.mark.parametrize(("raw", "clean"), HOSTILE)
def test_a_line_loses_every_control_and_sequence(raw: str, clean: str) -> None:
    assert clean_line(raw) == clean


@pytest.mark.parametrize(("raw", "clean"), HOSTILE)
def test_a_block_loses_every_control_and_sequence(raw: str, clean: str) -> None:
    assert clean_block(raw) == clean


def test_a_newline_in_a_line_becomes_a_space_so_no_row_is_forged() -> None:
    assert clean_line("Fix login\nSUP-999    Done   forged row") == (
        "Fix login SUP-999    Done   forged row"
    )
    assert clean_line("a\r\nb\rc\td\u2028e\x85f") == "a b c d e f"


def test_a_block_keeps_its_lines_and_tabs() -> None:
    assert clean_block("one\r\ntwo\rthree\n\tindented\u2028four") == (
        "one\ntwo\nthree\n\tindented\nfour"
    )
    assert clean_block("line\x1b[1m bold\x1b[0m\x00\nnext") == "line bold\nnext"


def test_ordinary_text_is_left_alone() -> None:
    for text in ("Checkout returns 500 — café, 日本語, emoji 👩‍💻", "", "50% off & <b>"):
        assert clean_line(text) == text
        assert clean_block(text) == text


def test_an_unterminated_title_sequence_ends_at_the_line() -> None:
    assert clean_block("\x1b]0;stuck title\nbody") == "\nbody"
    assert clean_line("\x1b]0;stuck") == ""
