"""The board's filter language: free words, `@me`, and `KEY:value` for the keys in `KEYS`.

`KEY:none` matches cards where that field is empty (`assignee:none`: unassigned), and a
leading `-` turns any term around (`-site:acme`, `-word`, `-@me`). A `name:value` whose
name is not a known key is searched as words, and `CardFilter.problem` says so.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from triage.storage.queries import CardRow


class QueuePlace(Protocol):
    """What the SLA keys read of a ticket's place in the queue (core.sla's QueueItem)."""

    @property
    def state(self) -> str: ...
    @property
    def package(self) -> str | None: ...
    @property
    def urgency(self) -> str | None: ...


Ranked = Mapping[str, QueuePlace]
"""The SLA queue by ticket key (core.sla), which the sla:, package: and urgency: keys read."""


@dataclass(frozen=True)
class FilterKey:
    """A key the filter knows (`site:`): what it reads from a card, and what it means."""

    name: str
    read: Callable[[CardRow, Ranked | None], str | None]
    help: str


KEYS: dict[str, FilterKey] = {
    key.name: key
    for key in (
        FilterKey("site", lambda card, _: card.site, "the site id"),
        FilterKey("client", lambda card, _: card.client, "the client's name"),
        FilterKey("type", lambda card, _: card.issue_type, "the issue type"),
        FilterKey("key", lambda card, _: card.key, "the ticket key"),
        FilterKey("assignee", lambda card, _: card.assignee, "who it is assigned to"),
        FilterKey("severity", lambda card, _: card.severity, "the severity"),
        # The SLA keys read the card's place in the queue: breached|risk|ok|paused, …
        FilterKey("sla", lambda card, ranked: _sla(ranked, card.key, "state"), "SLA state"),
        FilterKey("package", lambda card, ranked: _sla(ranked, card.key, "package"), "package"),
        FilterKey("urgency", lambda card, ranked: _sla(ranked, card.key, "urgency"), "urgency"),
    )
}
"""Every `KEY:value` the filter knows; add a row here to add a key."""

PREFIXES = tuple(KEYS)
SLA_PREFIXES = ("sla", "package", "urgency")
"""The keys that read the SLA queue: a re-ranked queue re-filters the board."""
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

    def predicate(self, me: str | None, sla: Ranked | None = None) -> Callable[[CardRow], bool]:
        """A fast test of one card, for the board to run over thousands.

        `sla` is the ranked queue by key, for the sla:, package: and urgency: keys.
        """
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
                if not _holds(read(card, sla), value):
                    return False
            for read, value in without:
                if _holds(read(card, sla), value):
                    return False
            if words or without_words:
                haystack = _haystack(card)
                if not all(word in haystack for word in words):
                    return False
                return not any(word in haystack for word in without_words)
            return True

        return matches

    def apply(
        self, cards: Iterable[CardRow], me: str | None, sla: Ranked | None = None
    ) -> list[CardRow]:
        """The cards that pass."""
        if self.empty:
            return list(cards)
        test = self.predicate(me, sla)
        return [card for card in cards if test(card)]


def _sla(ranked: Ranked | None, key: str, name: str) -> str | None:
    """The card's SLA state, package or urgency; None when the queue has not ranked it."""
    item = ranked.get(key) if ranked else None
    if item is None:
        return None
    return str(getattr(item, name) or "") or None


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
