"""Text from outside (Jira, e-mail, sites) made safe to store and print: data, never control.

`clean_block` keeps the line breaks and tabs of multi-line text (descriptions, comments);
`clean_line` is for single-line fields (summaries, names, labels, statuses), where a newline
would forge an extra row of a listing, so every line break and tab becomes a space. Both
remove terminal escape sequences whole (CSI such as ``ESC [2J``, OSC such as a window title
``ESC ]0;…BEL``, and the other ``ESC`` forms), C0 and C1 control characters, DEL, NUL,
and the bidirectional overrides and isolates that make text read differently than it is
stored (U+202A–U+202E, U+2066–U+2069). Pure functions of one string, no state.
"""

from __future__ import annotations

import re

_STRING_SEQUENCE = r"(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
"""OSC, DCS, SOS, PM and APC strings, up to their terminator (BEL or ST) or the line's end."""
_CSI = r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
"""Control sequences: ESC [ (or C1 CSI), parameters, intermediates, a final byte."""
_ESCAPE = r"\x1b[\x20-\x2f]*[\x30-\x7e]?"
"""Every other escape: ESC, intermediates, one final byte (ESC c resets the terminal)."""

_SEQUENCES = re.compile(f"{_STRING_SEQUENCE}|{_CSI}|{_ESCAPE}")
_BIDI = "\u202a-\u202e\u2066-\u2069"
_BLOCK_JUNK = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
"""What a multi-line text loses once its sequences are gone: all controls but \\t and \\n."""
_LINE_BREAKS = re.compile("\r\n|[\r\n\t\x0b\x0c\x85\u2028\u2029]")
_NEWLINES = re.compile("\r\n|[\r\x0b\x0c\x85\u2028\u2029]")
_LINE_JUNK = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")


def clean_block(text: str) -> str:
    """Multi-line text without control characters: line breaks become \\n, tabs stay."""
    if text.isprintable():
        return text  # the common case, at C speed
    text = _SEQUENCES.sub("", text)
    text = _NEWLINES.sub("\n", text)
    return _BLOCK_JUNK.sub("", text)


def clean_line(text: str) -> str:
    """Single-line text without control characters: every line break or tab becomes a space."""
    if text.isprintable():
        return text
    text = _SEQUENCES.sub("", text)
    text = _LINE_BREAKS.sub(" ", text)
    return _LINE_JUNK.sub("", text)
