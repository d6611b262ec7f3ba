"""The ticket: every field, its description, comments, the history of its moves; esc goes back."""

from __future__ import annotations

from datetime import datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from core.board import TicketDetail


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
    ]

    def __init__(self, detail: TicketDetail) -> None:
        super().__init__()
        self.detail = detail

    @property
    def key(self) -> str:
        """The ticket shown."""
        return self.detail.ticket.key

    def compose(self) -> ComposeResult:
        yield Label("", id="ticket-title")
        with VerticalScroll(id="ticket-body"):
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
            Text.assemble((ticket.key, "bold"), "  ", ticket.summary)
        )
        self.query_one("#ticket-fields", Static).update(self._fields())
        self.query_one("#ticket-description", Static).update(
            Text(ticket.description or "No description.")
        )
        self.query_one("#comments-title", Label).update(f"Comments ({len(detail.comments)})")
        self.query_one("#ticket-comments", Static).update(self._comments())
        self.query_one("#ticket-history", Static).update(self._history())

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
            grid.add_row(Text(k1, style="dim"), v1, Text(k2, style="dim"), v2)
        parts: list[RenderableType] = [grid]
        if self.detail.pending:
            waiting = ", ".join(f"{e.kind.value} ({e.state.value})" for e in self.detail.pending)
            parts.append(Text(f"\nWaiting for Jira: {waiting}", style="italic"))
        return Group(*parts)

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
                    (comment.author or "someone", "bold"),
                    "  ",
                    (when(comment.created), "dim"),
                    (pending, "italic"),
                )
            )
            blocks.append(Text(comment.body + "\n"))
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
            table.add_row(when(change.at), move, who)
        return table
