"""Text from outside (Jira, sites, job output) made harmless for the terminal at print time.

Whatever reached the cache is cleaned again where it is printed (by the same rules as at
ingest, `triage.core.text`), so a summary cannot set
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

from triage.core.text import clean_block, clean_line

_BIDI = "\u202a-\u202e\u2066-\u2069"
_UNSAFE_IN_JSON = re.compile(f"[\x7f-\x9f{_BIDI}\u2028\u2029]")


def line(text: str | None) -> str:
    """`text` for one line of output: no control characters, line breaks become spaces."""
    return clean_line(text) if text else ""


def block(text: str | None) -> str:
    """`text` for a multi-line block: newlines and tabs kept, every other control dropped."""
    return clean_block(text) if text else ""


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
