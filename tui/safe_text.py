"""Text from outside (Jira, sites, job output) made harmless for the terminal at print time.

Whatever reached the cache is cleaned again where it is printed, so a summary cannot set
the window title, clear the screen, reorder a line with bidi overrides or forge an extra
row of `triage ls`: escape sequences (CSI, OSC, DCS…) are dropped whole, other C0 and C1
controls, DEL, NUL and bidi overrides are dropped, and a single-line context turns line
breaks into spaces. In Textual, text is handed over as `rich.text.Text`, never as a
string, so brackets in a summary (`[bold]`) are shown, not read as markup.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rich.text import Text

_ESCAPE_SEQUENCE = re.compile(
    r"""
    (?:\x1b\[|\x9b) [\x30-\x3f]* [\x20-\x2f]* [\x40-\x7e]?          # CSI
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]) .*? (?:\x07|\x1b\\|\x9c|$)  # OSC, DCS, SOS, PM, APC
    | \x1b [\x20-\x2f]* [\x30-\x7e]?                                # any other escape
    """,
    re.VERBOSE | re.DOTALL,
)
_BIDI = "\u202a-\u202e\u2066-\u2069"
# Every C0 control but tab and newline, DEL, every C1 control, and the bidi overrides.
_CONTROL = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\x0b\x0c\x85\u2028\u2029]")
_UNSAFE_IN_JSON = re.compile(f"[\x7f-\x9f{_BIDI}\u2028\u2029]")
# Anything line() or block() would change; most text has none, and is returned as it is.
_ANY_CONTROL = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029]")


def _no_escapes(text: str) -> str:
    return _ESCAPE_SEQUENCE.sub("", text)


def line(text: str | None) -> str:
    """`text` for one line of output: no control characters, line breaks become spaces."""
    if not text:
        return ""
    if not _ANY_CONTROL.search(text):
        return text
    text = _LINE_BREAKS.sub(" ", _no_escapes(text)).replace("\t", " ")
    return _CONTROL.sub("", text)


def block(text: str | None) -> str:
    """`text` for a multi-line block: newlines and tabs kept, every other control dropped."""
    if not text:
        return ""
    if not _ANY_CONTROL.search(text.replace("\n", "").replace("\t", "")):
        return text
    text = _LINE_BREAKS.sub("\n", _no_escapes(text))
    return _CONTROL.sub("", text)


def rich_line(text: str | None, style: str = "") -> Text:
    """One line of outside text for a Textual widget: cleaned, and never read as markup."""
    return Text(line(text), style=style)


def rich_block(text: str | None, style: str = "") -> Text:
    """A block of outside text for a Textual widget: cleaned, and never read as markup."""
    return Text(block(text), style=style)


def json_dumps(data: Any) -> str:
    """JSON for scripts that is also safe on a terminal: nothing lost, controls as \\u escapes.

    `json` escapes C0 itself; C1 controls and bidi overrides are escaped here, so the
    parsed values are exactly the cached ones.
    """
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m[0]):04x}", text)
