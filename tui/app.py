"""The Textual app: the board, the ticket screen, and the actions that change a ticket."""

from __future__ import annotations

import gc
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.screen import Screen

from triage.core.board.changes import MoveRefused
from triage.core.board.service import Board
from triage.storage import queries
from triage.storage.columns import BoardColumn
from triage.storage.errors import TriageError
from triage.storage.queries import CardRow
from triage.tui.commands import ActionCommands, TicketCommands
from triage.tui.health_app import HealthActions
from triage.tui.jira_sync import PUSH_DELAY, JiraSyncApp, TrackerFactory
from triage.tui.queue_actions import QueueActions
from triage.tui.review_actions import ReviewActions
from triage.tui.safe_text import block, line
from triage.tui.screens.board import BoardScreen
from triage.tui.screens.dialogs import BlockedMoveDialog, CommentDialog, MovePicker
from triage.tui.screens.help import HelpScreen, screen_name
from triage.tui.screens.queue import QueueScreen
from triage.tui.screens.ticket import TicketScreen
from triage.tui.security_actions import SecurityActions
from triage.tui.site_actions import SiteActions

__all__ = ["PUSH_DELAY", "TriageApp", "make_app"]


def settle_heap() -> None:
    """After the first frame: collect, freeze what is left, and let the collector run again.

    The loaded cards live as long as the app: frozen, the collector does not walk them again
    and again (that showed up as 100 ms pauses on key presses at 20,000 cards). `triage`
    turns the collector off while it starts (tui/cli/main.py); this turns it back on.
    """
    gc.collect()
    gc.freeze()
    gc.enable()


class TriageApp(
    HealthActions, QueueActions, ReviewActions, SecurityActions, SiteActions, JiraSyncApp
):
    """Triage: the support team's kanban over the local Jira cache."""

    TITLE = "Triage"
    CSS_PATH = Path(__file__).parent / "styles" / "app.tcss"
    COMMANDS = App.COMMANDS | {TicketCommands, ActionCommands}
    BINDINGS = [
        Binding("question_mark", "help", "Keys", id="app.help"),
        Binding("J", "jobs", "Jobs", id="app.jobs", tooltip="Running and past site operations"),
        # Not in the footer, which is full: the header says when sites are down, `?` lists it.
        Binding(
            "O",
            "health",
            "Site health",
            show=False,
            id="app.health",
            tooltip="Every site's health, worst first",
        ),
        # The footer shows the palette key on its right already.
        Binding("ctrl+p", "command_palette", "Palette", show=False, id="app.palette"),
        Binding("q", "quit", "Quit", id="app.quit"),
    ]

    def __init__(self, board: Board, tracker_factory: TrackerFactory | None = None) -> None:
        super().__init__(board, tracker_factory)
        if board.settings.keys:
            self.set_keymap(board.settings.keys)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """Show a notification as plain text: messages quote Jira and the config file.

        Never read as markup (a `[/x]` from Jira would break it, `[jira]` would vanish),
        whatever a screen passes, and cleaned of terminal control.
        """
        super().notify(
            block(message), title=line(title), severity=severity, timeout=timeout, markup=False
        )

    def get_default_screen(self) -> Screen[Any]:
        """The board is the app's base screen: built once, before the first frame."""
        settings = self.board.settings
        workspace = queries.get_meta(self.board.engine, "workspace") or "jira"
        self.board_screen = BoardScreen(
            self.board.load(),
            me=self.board.me.name,
            workspace=workspace,
            focused_width=settings.board.focused_width,
            min_width=settings.board.min_column_width,
            sync_status=self.load_sync_status(),
            clock=self.board.clock,
        )
        self.call_after_refresh(settle_heap)
        return self.board_screen

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Keys", "Show every key of this screen", self.action_help)

    def _current_key(self) -> str | None:
        if isinstance(self.screen, TicketScreen):
            return self.screen.key
        if isinstance(self.screen, QueueScreen):
            return self.screen.current_key
        card = self.board_screen.current_card if self.board_screen else None
        return card.key if card else None

    def _changed(self, key: str, card: CardRow | None = None) -> None:
        """Show a changed ticket (`card`, else read) on the board and its open ticket screen."""
        card = card or self.board.card(key)
        if self.board_screen is not None:
            self.board_screen.apply_card(card)
        for screen in self.screen_stack:
            if isinstance(screen, TicketScreen) and screen.key == key:
                screen.show(self.board.detail(key))

    def _changed_here(self, key: str, card: CardRow | None = None) -> None:
        """After a change the user made: show it, count it, and push it soon."""
        self._changed(key, card)
        self.show_status(changes=self.board.open_changes())
        self.push_soon()
        self.rank_soon()

    def action_help(self) -> None:

        if isinstance(self.screen, HelpScreen):
            return
        rows = []
        seen: set[tuple[str, str]] = set()
        for active in self.active_bindings.values():
            binding = active.binding
            if not binding.description or (binding.action, binding.description) in seen:
                continue
            seen.add((binding.action, binding.description))
            keys = ", ".join(self.get_key_display(b) for b in self._bindings_like(binding))
            rows.append((keys, binding.description, binding.id or ""))
        self.push_screen(HelpScreen(screen_name(self.screen), rows))

    def _bindings_like(self, binding: Binding) -> list[Binding]:
        """Every key bound to the same action as `binding` on the current screen."""
        return [
            active.binding
            for active in self.active_bindings.values()
            if active.binding.action == binding.action
            and active.binding.description == binding.description
        ]

    def action_open_ticket(self, key: str | None = None) -> None:
        key = key or self._current_key()
        if key is None:
            self.notify("No ticket here to open.", severity="warning")
            return
        try:
            place = self.ranking.by_key.get(key.upper()) if self.ranking else None
            why = f"#{place.rank} in the queue: {place.why}" if place else ""
            self.push_screen(TicketScreen(self.board.detail(key), queue_why=why))
        except TriageError as error:
            self.notify(str(error), severity="error")

    def action_jump(self, key: str) -> None:
        if self.board_screen is not None and not self.board_screen.jump_to(key):
            self.action_open_ticket(key)

    def action_filter_with(self, text: str) -> None:
        if self.board_screen is not None:
            if self.screen is not self.board_screen:
                self.pop_screen()
            self.board_screen.set_filter(text)

    def action_move_picker(self) -> None:
        key = self._current_key()
        if key is not None:
            self.pick_and_move(key)

    def action_move_current(self, column_name: str) -> None:
        key = self._current_key()
        if key is not None:
            self.action_move_to(key, column_name)

    def action_move_to(self, key: str, column_name: str) -> None:
        target = BoardColumn[column_name]
        try:
            # Most moves ask nothing: one core call in this key press, no worker, no extra frame.
            card = self.board.move(key, target)
        except MoveRefused:
            self.move_ticket(key, target)  # asks for the comment or override, or says why not
        except TriageError as error:
            self.notify(str(error), severity="error")
        else:
            self._changed_here(key, card)

    def action_comment(self) -> None:
        key = self._current_key()
        if key is not None:
            self.add_comment(key)

    def action_assign_me(self) -> None:
        key = self._current_key()
        if key is None:
            return
        try:
            self.board.assign_to_me(key)
        except TriageError as error:
            self.notify(str(error), severity="error")
            return
        self._changed_here(key)
        self.notify(f"{key} assigned to {self.board.me.name}.")

    @work(exclusive=True, group="change")
    async def pick_and_move(self, key: str) -> None:
        """Ask for a column, then move there."""

        ticket = self.board.ticket(key)
        checks = [self.board.check(key, column) for column in BoardColumn]
        target = await self.push_screen_wait(MovePicker(key, ticket.column, checks))
        if target is not None and target != ticket.column:
            await self._move(key, target)

    @work(exclusive=True, group="change")
    async def move_ticket(self, key: str, target: BoardColumn) -> None:
        """Move `key` to `target`, asking for what the rules need."""
        await self._move(key, target)

    async def _move(self, key: str, target: BoardColumn) -> None:

        check = self.board.check(key, target)
        override = None
        if not check.allowed:
            if not check.overridable:
                self.notify(check.blocked or "That move is not allowed.", severity="warning")
                return
            override = await self.push_screen_wait(BlockedMoveDialog(key, check))
            if override is None:
                return
        comment = None
        if check.needs_comment:
            comment = await self.push_screen_wait(
                CommentDialog(
                    f"Why does {key} go to {target.value}?",
                    "A move to this column needs a comment; it goes to Jira with the move.",
                )
            )
            if comment is None:
                return
        self._commit_move(key, target, comment, override)

    def _commit_move(
        self, key: str, target: BoardColumn, comment: str | None, override: str | None
    ) -> None:
        """Record the move durably, then show it."""
        try:
            card = self.board.move(key, target, comment=comment, override_reason=override)
        except TriageError as error:
            self.notify(str(error), severity="error")
            return
        self._changed_here(key, card)
        if override:
            self.notify(f"{key} → {target.value}: override recorded in the audit log.")

    @work(exclusive=True, group="change")
    async def add_comment(self, key: str) -> None:
        """Ask for a comment and add it."""

        text = await self.push_screen_wait(CommentDialog(f"Comment on {key}"))
        if text is None:
            return
        try:
            self.board.comment(key, text)
        except TriageError as error:
            self.notify(str(error), severity="error")
            return
        self._changed_here(key)
        self.notify(f"Comment added to {key}.")

    @on(TicketScreen.ResolutionChosen)
    def settle_conflict(self, event: TicketScreen.ResolutionChosen) -> None:
        from triage.core.tracker.push import Resolution

        how = Resolution(event.how)
        try:
            self.board.resolve(event.entry_id, how)
        except TriageError as error:
            self.notify(str(error), severity="error")
            return
        self._changed(event.key)
        self.show_status(changes=self.board.open_changes())
        if how is Resolution.RETRY:
            self.push_soon()
            self.notify(f"{event.key}: your move goes to Jira again.")
        elif how is Resolution.DISCARD:
            self.start_sync(refetch=(event.key,))
            self.notify(f"{event.key}: your move is discarded; fetching Jira's state.")
        else:
            self.notify(f"{event.key}: Jira's status kept.")


def make_app(board: Board, tracker_factory: TrackerFactory | None = None) -> TriageApp:
    """The app over a board service, syncing with Jira when given a way to reach it.

    Shared by the command line and the tests; without `tracker_factory` the app is local only.
    """
    return TriageApp(board, tracker_factory)
