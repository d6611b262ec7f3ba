"""The board's filter language: free words, `@me`, and `KEY:value` for the keys in `KEYS`.

`KEY:none` matches cards where that field is empty (`assignee:none`: unassigned), and a
leading `-` turns any term around (`-site:acme`, `-word`, `-@me`). A `name:value` whose
name is not a known key is searched as words, and `CardFilter.problem` says so.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from triage.storage.queries import CardRow


@dataclass(frozen=True)
class FilterKey:
    """A key the filter knows (`site:`): what it reads from a card, and what it means."""

    name: str
    read: Callable[[CardRow], str | None]
    help: str


KEYS: dict[str, FilterKey] = {
    key.name: key
    for key in (
        FilterKey("site", lambda card: card.site, "the site id"),
        FilterKey("client", lambda card: card.client, "the client's name"),
        FilterKey("type", lambda card: card.issue_type, "the issue type"),
        FilterKey("key", lambda card: card.key, "the ticket key"),
        FilterKey("assignee", lambda card: card.assignee, "who it is assigned to"),
        FilterKey("severity", lambda card: card.severity, "the severity"),
    )
}
"""Every `KEY:value` the filter knows; add a row here to add a key."""

PREFIXES = tuple(KEYS)
NONE = "none"
"""`KEY:none` matches cards where that field is empty."""

_KEY_LIKE = re.compile(r"[A-Za-z][A-Za-z_-]*")


@dataclass(frozen=True)
class CardFilter:
    """A parsed filter; `matches` says whether a card passes it. Empty passes everything."""

    words: tuple[str, ...] = ()
    mine: bool = False
    fields: tuple[tuple[str, str], ...] = ()
    without_words: tuple[str, ...] = ()
    not_mine: bool = False
    without_fields: tuple[tuple[str, str], ...] = ()
    unknown: tuple[str, ...] = ()
    """Names typed as `name:value` that are not keys; their terms are searched as words."""

    @property
    def empty(self) -> bool:
        """True when the filter lets every card through."""
        return not (
            self.words
            or self.mine
            or self.fields
            or self.without_words
            or self.not_mine
            or self.without_fields
        )

    @property
    def problem(self) -> str | None:
        """One sentence about unknown keys, naming the known ones; None when all are known."""
        if not self.unknown:
            return None
        names = ", ".join(f"{name}:" for name in self.unknown)
        known = ", ".join(f"{name}:" for name in KEYS)
        return (
            f"Unknown filter key {names} is searched as words; known keys: {known} "
            f"(KEY:{NONE} for an empty field), plus @me and -TERM to exclude."
        )

    def predicate(self, me: str | None) -> Callable[[CardRow], bool]:
        """A fast test of one card, for the board to run over thousands."""
        words = [w.casefold() for w in self.words]
        without_words = [w.casefold() for w in self.without_words]
        fields = [(KEYS[name].read, value.casefold()) for name, value in self.fields]
        without = [(KEYS[name].read, value.casefold()) for name, value in self.without_fields]
        me_folded = (me or "").casefold()

        def matches(card: CardRow) -> bool:
            if self.mine or self.not_mine:
                mine = bool(me_folded) and (card.assignee or "").casefold() == me_folded
                if (self.mine and not mine) or (self.not_mine and mine):
                    return False
            for read, value in fields:
                if not _holds(read(card), value):
                    return False
            for read, value in without:
                if _holds(read(card), value):
                    return False
            if words or without_words:
                haystack = _haystack(card)
                if not all(word in haystack for word in words):
                    return False
                return not any(word in haystack for word in without_words)
            return True

        return matches

    def apply(self, cards: Iterable[CardRow], me: str | None) -> list[CardRow]:
        """The cards that pass."""
        if self.empty:
            return list(cards)
        test = self.predicate(me)
        return [card for card in cards if test(card)]


def _holds(field: str | None, value: str) -> bool:
    """Whether a card's field matches a folded `KEY:value` (`none`: the field is empty)."""
    if value == NONE:
        return not field
    return value in (field or "").casefold()


def _haystack(card: CardRow) -> str:
    parts = (card.key, card.summary, card.site, card.client, card.assignee, card.issue_type)
    return " ".join(p for p in parts if p).casefold()


def _tokens(text: str) -> list[str]:
    """Split like a shell; a quote still open (the user is typing) reads to the end."""
    for closing in ("", '"', "'"):
        try:
            return shlex.split(text + closing)
        except ValueError:
            continue
    return text.split()


def parse_filter(text: str) -> CardFilter:
    """Parse what the user typed after `/`; quotes group words (`client:"Acme Corp"`)."""
    words: list[str] = []
    without_words: list[str] = []
    fields: list[tuple[str, str]] = []
    without_fields: list[tuple[str, str]] = []
    unknown: list[str] = []
    mine = not_mine = False
    for token in _tokens(text):
        negated = token.startswith("-") and len(token) > 1
        term = token[1:] if negated else token
        name, colon, value = term.partition(":")
        if term.casefold() == "@me":
            not_mine, mine = (True, mine) if negated else (not_mine, True)
        elif colon and name.casefold() in KEYS and value:
            (without_fields if negated else fields).append((name.casefold(), value))
        else:
            if colon and value and _KEY_LIKE.fullmatch(name) and not value.startswith("/"):
                unknown.append(name)
            (without_words if negated else words).append(term)
    return CardFilter(
        tuple(words),
        mine,
        tuple(fields),
        tuple(without_words),
        not_mine,
        tuple(without_fields),
        tuple(unknown),
    )
