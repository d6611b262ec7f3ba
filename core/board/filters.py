"""The board's filter language: free words, `@me`, `site:`, `client:`, `type:`, `key:`."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from triage.core.sla.ranking import QueueItem
from triage.storage.queries import CardRow

# --- SLA keys: sla:breached|risk|ok|paused|none, package:NAME, urgency:LEVEL -----------------
# They read a card's place in the SLA queue (core.sla), which the board passes in.

SLA_PREFIXES = ("sla", "package", "urgency")


def _sla_field(items: Mapping[str, QueueItem] | None, key: str, name: str) -> str | None:
    """The card's SLA state, package or urgency; None when the queue has not ranked it."""
    item = items.get(key) if items else None
    if item is None:
        return None
    value = {"sla": item.state, "package": item.package, "urgency": item.urgency}[name]
    return (value or "").casefold()


# --- end of the SLA keys ----------------------------------------------------------------------

PREFIXES = ("site", "client", "type", "key", "assignee", "severity", *SLA_PREFIXES)


@dataclass(frozen=True)
class CardFilter:
    """A parsed filter; `matches` says whether a card passes it. Empty passes everything."""

    words: tuple[str, ...] = ()
    mine: bool = False
    fields: tuple[tuple[str, str], ...] = ()

    @property
    def empty(self) -> bool:
        """True when the filter lets every card through."""
        return not (self.words or self.mine or self.fields)

    def predicate(
        self, me: str | None, sla: Mapping[str, QueueItem] | None = None
    ) -> Callable[[CardRow], bool]:
        """A fast test of one card, for the board to run over thousands.

        `sla` is the ranked queue by key, for the sla:, package: and urgency: keys.
        """
        words = [w.casefold() for w in self.words]
        fields = [(name, value.casefold()) for name, value in self.fields]
        me_folded = (me or "").casefold()

        def matches(card: CardRow) -> bool:
            if self.mine and (not me_folded or (card.assignee or "").casefold() != me_folded):
                return False
            for name, value in fields:
                if name in SLA_PREFIXES:
                    found = _sla_field(sla, card.key, name)
                    if found is None or value not in found:
                        return False
                elif value not in _field(card, name):
                    return False
            if words:
                haystack = _haystack(card)
                return all(word in haystack for word in words)
            return True

        return matches

    def apply(
        self,
        cards: Iterable[CardRow],
        me: str | None,
        sla: Mapping[str, QueueItem] | None = None,
    ) -> list[CardRow]:
        """The cards that pass."""
        if self.empty:
            return list(cards)
        test = self.predicate(me, sla)
        return [card for card in cards if test(card)]


def _field(card: CardRow, name: str) -> str:
    value = {
        "site": card.site,
        "client": card.client,
        "type": card.issue_type,
        "key": card.key,
        "assignee": card.assignee,
        "severity": card.severity,
    }[name]
    return (value or "").casefold()


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
    tokens = _tokens(text)
    words: list[str] = []
    fields: list[tuple[str, str]] = []
    mine = False
    for token in tokens:
        name, colon, value = token.partition(":")
        if token.casefold() == "@me":
            mine = True
        elif colon and name.casefold() in PREFIXES and value:
            fields.append((name.casefold(), value))
        else:
            words.append(token)
    return CardFilter(tuple(words), mine, tuple(fields))
