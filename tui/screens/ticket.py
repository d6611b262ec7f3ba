"""The ticket: every field, its description, comments, the history of its moves; esc goes back."""

from __future__ import annotations

from datetime import datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from triage.core.board.service import TicketDetail
from triage.core.redact import mask
from triage.storage.models import OutboxEntry, OutboxKind, OutboxState
from triage.tui.safe_text import line, rich_block, rich_line
from triage.tui.widgets.card_list import SYNC_MARKS


def when(moment: datetime | None) -> str:
    """A timestamp as the ticket screen shows it (UTC, to the minute)."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


class TicketScreen(Screen[None]):
    """Everything about one ticket, read from the cache."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back", id="ticket.back"),
        Binding("m", "app.move_picker", "Move…", id="ticket.move"),
        Binding("c", "app.comment", "Comment", id="ticket.comment"),
        Binding("a", "app.assign_me", "Assign to me", id="ticket.assign"),
        Binding(
            "x",
            "app.site_actions",
            "Actions…",
            id="ticket.actions",
            tooltip="Branch, clone prod, test site, deploy: what fits the ticket now",
        ),
        Binding(
            "R",
            "resolve('retry')",
            "Retry move",
            id="ticket.retry",
            tooltip="Move it in Jira anyway, from wherever Jira has it now",
        ),
        Binding(
            "D",
            "resolve('discard')",
            "Discard mine",
            id="ticket.discard",
            tooltip="Drop your move; the ticket is fetched again from Jira",
        ),
        Binding(
            "A",
            "resolve('accept-remote')",
            "Accept Jira's",
            id="ticket.accept_remote",
            tooltip="Drop your move and show the status Jira has",
        ),
    ]

    class ResolutionChosen(Message):
        """The user chose how to settle the ticket's conflict with Jira."""

        def __init__(self, key: str, entry_id: int, how: str) -> None:
            super().__init__()
            self.key = key
            self.entry_id = entry_id
            self.how = how
            """A `core.push.Resolution` value: "retry", "discard" or "accept-remote"."""

    def __init__(self, detail: TicketDetail, queue_why: str = "") -> None:
        super().__init__()
        self.detail = detail
        self.queue_why = queue_why
        """Where the ticket sits in the SLA queue and why; empty when it is not there."""

    @property
    def key(self) -> str:
        """The ticket shown."""
        return self.detail.ticket.key

    def compose(self) -> ComposeResult:
        yield Label("", id="ticket-title")
        with VerticalScroll(id="ticket-body"):
            yield Static(id="ticket-changes")
            queue = Static(self.queue_why, id="ticket-queue")
            queue.display = bool(self.queue_why)
            yield queue
            yield Static(id="ticket-fields")
            yield Label("Description", classes="section-title")
            yield Static(id="ticket-description", classes="section")
            yield Label("Comments", classes="section-title", id="comments-title")
            yield Static(id="ticket-comments", classes="section")
            yield Label("History", classes="section-title")
            yield Static(id="ticket-history", classes="section")
        yield Footer()

    def on_mount(self) -> None:
        self.show(self.detail)

    def show(self, detail: TicketDetail) -> None:
        """Render `detail` (again, after a change)."""
        self.detail = detail
        ticket = detail.ticket
        self.query_one("#ticket-title", Label).update(
            Text.assemble((line(ticket.key), "bold"), "  ", line(ticket.summary))
        )
        self._show_changes()
        self.query_one("#ticket-fields", Static).update(self._fields())
        self.query_one("#ticket-description", Static).update(
            rich_block(ticket.description or "No description.")
        )
        self.query_one("#comments-title", Label).update(f"Comments ({len(detail.comments)})")
        self.query_one("#ticket-comments", Static).update(self._comments())
        self.query_one("#ticket-history", Static).update(self._history())
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "resolve":
            return self.detail.conflict is not None
        return True

    def action_resolve(self, how: str) -> None:
        conflict = self.detail.conflict
        if conflict is not None and conflict.id is not None:
            self.post_message(self.ResolutionChosen(self.key, conflict.id, how))

    def _show_changes(self) -> None:
        """The changes not yet in Jira, worst first; a conflict shows both states."""
        box = self.query_one("#ticket-changes", Static)
        pending = self.detail.pending
        box.display = bool(pending)
        states = {entry.state for entry in pending}
        box.set_class(OutboxState.CONFLICT in states, "-conflict")
        box.set_class(OutboxState.FAILED in states, "-failed")
        box.update(Group(*(change_text(entry) for entry in pending)))

    def _fields(self) -> RenderableType:
        ticket = self.detail.ticket
        grid = Table.grid(padding=(0, 2))
        for _ in range(4):
            grid.add_column()
        column = ticket.column.value if ticket.column else "not on the board"
        pairs = [
            ("Status", f"{ticket.jira_status} ({column})"),
            ("Type", ticket.issue_type),
            ("Severity", ticket.severity),
            ("Urgency", ticket.urgency or "—"),
            ("Assignee", ticket.assignee or "unassigned"),
            ("Reporter", ticket.reporter or "—"),
            ("Site", ticket.site or "—"),
            ("Client", ticket.client or "—"),
            ("Created", when(ticket.created)),
            ("Updated", when(ticket.updated)),
            ("Resolved", when(ticket.resolved)),
            ("Labels", ", ".join(ticket.labels) or "—"),
            ("Branch", self._branch()),
            ("Review", f"approved by {ticket.approved_by}" if ticket.approved_by else "—"),
            ("Test site", "passed" if ticket.test_site_passed else "—"),
            ("Prod deploy", "succeeded" if ticket.prod_deploy_passed else "—"),
        ]
        for index in range(0, len(pairs), 2):
            (k1, v1), (k2, v2) = pairs[index], pairs[index + 1]
            # Values are Jira's text: Text, so brackets are shown and never read as markup.
            grid.add_row(Text(k1, style="dim"), rich_line(v1), Text(k2, style="dim"), rich_line(v2))
        return grid

    def _branch(self) -> str:
        ticket = self.detail.ticket
        if not ticket.branch:
            return "—"
        ahead = f", {ticket.branch_ahead} ahead of main" if ticket.branch_ahead else ""
        return f"{ticket.branch}{ahead}"

    def _comments(self) -> RenderableType:
        if not self.detail.comments:
            return Text("No comments.", style="dim")
        blocks: list[RenderableType] = []
        for comment in self.detail.comments:
            pending = "  (not in Jira yet)" if comment.remote_id is None else ""
            blocks.append(
                Text.assemble(
                    (line(comment.author) or "someone", "bold"),
                    "  ",
                    (when(comment.created), "dim"),
                    (pending, "italic"),
                )
            )
            blocks.append(rich_block(comment.body + "\n"))
        return Group(*blocks)

    def _history(self) -> RenderableType:
        if not self.detail.history:
            return Text("No moves recorded.", style="dim")
        table = Table.grid(padding=(0, 2))
        table.add_column(style="dim", no_wrap=True)
        table.add_column()
        table.add_column(style="dim")
        for change in self.detail.history:
            move = f"{change.from_status or '—'} → {change.to_status}"
            who = change.author + (" (override)" if change.override else "")
            table.add_row(when(change.at), rich_line(move), rich_line(who))
        return table


def _what(entry: OutboxEntry) -> str:
    payload = entry.payload
    if entry.kind is OutboxKind.MOVE:
        return f"move to {line(str(payload.get('to')))}"
    if entry.kind is OutboxKind.ASSIGN:
        return f"assignment to {line(str(payload.get('assignee') or 'nobody'))}"
    return "comment"


def _error(entry: OutboxEntry) -> str:
    """Why the change did not go out, as one clean line with no credential in it."""
    return line(mask(entry.last_error or ""))


def change_text(entry: OutboxEntry) -> Text:
    """One change not yet in Jira, as the ticket screen tells it."""
    mark = SYNC_MARKS.get(entry.state.value, "·")
    payload = entry.payload
    if entry.state is OutboxState.CONFLICT and entry.kind is OutboxKind.MOVE:
        remote = payload.get("remote_status") or "another status"
        return Text.assemble(
            (f"{mark} Conflict with Jira: ", "bold"),
            "you moved it to ",
            (line(str(payload.get("to"))), "bold"),
            f" (from {line(str(payload.get('from_status') or '—'))}); Jira shows ",
            (line(str(remote)), "bold"),
            ".\n  R retry (move anyway)  ·  D discard mine  ·  A accept Jira's",
        )
    if entry.state is OutboxState.FAILED:
        return Text.assemble(
            (f"{mark} The {_what(entry)} failed: ", "bold"), _error(entry) or "no reason given"
        )
    if entry.state is OutboxState.CONFLICT:
        return Text.assemble((f"{mark} The {_what(entry)} is in conflict: ", "bold"), _error(entry))
    retry = f" (last try: {_error(entry)})" if entry.last_error else ""
    return Text(f"{mark} The {_what(entry)} is waiting for Jira{retry}.", style="italic")
