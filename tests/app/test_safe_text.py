"""Outside text is printed as data: no escape sequence, control or bidi override gets through."""

from __future__ import annotations

import json

import pytest
from rich.console import Console

from triage.tui import safe_text

HOSTILE = (
    "Fix \x1b]0;pwned\x07login\x1b[2J\x1b[H page\x9b31m\u202eevil\u202c"
    "\x00\x08\x7f\x85\x90x\x9c [bold]not bold[/bold]\nsecond line\r\nthird\tcell"
)
FORBIDDEN = [chr(c) for c in (*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))] + [
    chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))
]


def _forbidden_in(text: str, allowed: str = "") -> list[str]:
    return [hex(ord(c)) for c in text if c in FORBIDDEN and c not in allowed]


def test_a_line_loses_every_control_and_every_line_break() -> None:
    shown = safe_text.line(HOSTILE)
    assert _forbidden_in(shown) == []
    assert "\n" not in shown and "\t" not in shown
    assert "pwned" not in shown and "2J" not in shown and "31m" not in shown
    assert shown.startswith("Fix login page")
    assert "[bold]not bold[/bold] second line third cell" in shown


def test_a_block_keeps_newlines_and_tabs_only() -> None:
    shown = safe_text.block(HOSTILE)
    assert _forbidden_in(shown, allowed="\n\t") == []
    assert shown.endswith("[bold]not bold[/bold]\nsecond line\nthird\tcell")
    assert "\r" not in shown


@pytest.mark.parametrize("empty", [None, ""])
def test_nothing_stays_nothing(empty: str | None) -> None:
    assert safe_text.line(empty) == ""
    assert safe_text.block(empty) == ""


def test_plain_text_is_unchanged() -> None:
    text = "Sécurité: mise à jour de Drupal 10.2 — 日本語 (SUP-12) [draft]"
    assert safe_text.line(text) == text
    assert safe_text.block(text + "\n\tnext") == text + "\n\tnext"


def test_brackets_are_shown_not_read_as_markup() -> None:
    console = Console(width=80, record=True, color_system=None)
    console.print(safe_text.rich_line("[bold red]alarm[/] [link=http://x]y[/link]"))
    assert "[bold red]alarm[/] [link=http://x]y[/link]" in console.export_text()


def test_json_keeps_the_data_and_escapes_the_controls() -> None:
    text = safe_text.json_dumps([{"summary": HOSTILE, "name": "José"}])
    assert _forbidden_in(text, allowed="\n") == []
    assert "José" in text
    assert json.loads(text) == [{"summary": HOSTILE, "name": "José"}]
