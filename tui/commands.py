"""Command palette providers: jump to a ticket by key or words, and run the board's actions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.markup import escape

from triage.storage.columns import BoardColumn
from triage.tui.safe_text import line
from triage.tui.screens.board import BoardScreen


class PaletteHost(Protocol):
    """What the providers use of the app: the board on screen, a jump, and the actions."""

    @property
    def board_screen(self) -> BoardScreen | None: ...

    def action_jump(self, key: str) -> Any: ...

    async def run_action(self, action: str) -> Any: ...


MAX_TICKET_HITS = 30


class TicketCommands(Provider):
    """Open or jump to a ticket: type its key or words of its summary."""

    @property
    def triage(self) -> PaletteHost:
        return cast(PaletteHost, self.app)

    async def search(self, query: str) -> Hits:
        board_screen = self.triage.board_screen
        if board_screen is None or len(query.strip()) < 2:
            return
        needle = query.strip().casefold()
        matcher = self.matcher(query)
        found = 0
        for cards in board_screen.data.columns.values():
            for card in cards:
                text = f"{card.key} {card.summary}"
                # Plain containment first keeps this instant over 20,000 cards.
                if needle not in text.casefold():
                    continue
                # The summary is Jira's text: one clean line, escaped so it is never markup.
                text = line(text)
                yield Hit(
                    matcher.match(text) or 0.5,
                    matcher.highlight(escape(text)),
                    lambda key=card.key: self.triage.action_jump(key),
                    help=escape(
                        line(f"{card.column.value if card.column else '—'} · {card.site or ''}")
                    ),
                )
                found += 1
                if found >= MAX_TICKET_HITS:
                    return


class ActionCommands(Provider):
    """The board's actions on the current card, and ready-made filters."""

    @property
    def triage(self) -> PaletteHost:
        return cast(PaletteHost, self.app)

    def _commands(self) -> list[tuple[str, str, str]]:
        commands = [
            ("Open the ticket", "open_ticket", "Show every field, comment and move"),
            ("Move the ticket…", "move_picker", "Pick a column"),
            ("Comment on the ticket", "comment", "Add a comment; it goes to Jira"),
            ("Assign the ticket to me", "assign_me", "Take the ticket"),
            ("Filter: my tickets", "filter_with('@me')", "Show only tickets assigned to me"),
            ("Clear the filter", "filter_with('')", "Show every ticket"),
        ]
        for column in BoardColumn:
            commands.append(
                (f"Move the ticket to {column.value}", f"move_current({column.name!r})", "")
            )
        return commands

    async def discover(self) -> Hits:
        for name, action, help_text in self._commands()[:6]:
            yield DiscoveryHit(name, self._runner(action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), self._runner(action), help=help_text)

    def _runner(self, action: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            await self.triage.run_action(action)

        return run
