"""The new part of a reply: the quoted mail below it cut off (English and Polish, at least).

`mail-parser-reply` knows the common "On … wrote:" and "Dnia … napisał(a):" headers and
Outlook's "From:/Od:" blocks; Gmail's Polish "W dniu … napisał(a):", a bare separator
line and trailing `>` quotes are cut here as well.
"""

from __future__ import annotations

import re

LANGUAGES = ["en", "pl", "de", "fr"]
_EXTRA_HEADERS = [
    re.compile(r"^\s*W dniu .{4,200}?(?:napisał\(a\)|napisała?|pisze):\s*$", re.M | re.S),
    re.compile(r"^\s*(?:Użytkownik|Uzytkownik) .{4,200}? napisał:\s*$", re.M | re.S),
    re.compile(r"^\s*On .{4,200}? wrote:\s*$", re.M | re.S),
    re.compile(
        r"^-{2,}\s*(?:Original Message|Oryginalna wiadomość|Wiadomość oryginalna)\s*-{2,}",
        re.M | re.I,
    ),
    re.compile(r"^_{10,}\s*$", re.M),
]


def strip_quoted(text: str) -> str:
    """The text the sender wrote in this reply, without the mail it quotes."""
    from mailparser_reply import EmailReplyParser

    try:
        latest = EmailReplyParser(languages=LANGUAGES).parse_reply(text=text)
    except Exception:  # noqa: BLE001 - the library's regexes must never lose a mail
        latest = text
    latest = latest if latest and latest.strip() else text
    for pattern in _EXTRA_HEADERS:
        found = pattern.search(latest)
        if found and latest[: found.start()].strip():
            latest = latest[: found.start()]
    lines = latest.rstrip().split("\n")
    while lines and lines[-1].lstrip().startswith(">"):
        lines.pop()
    kept = "\n".join(lines).strip()
    return kept or text.strip()
