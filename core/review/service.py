"""The code-review queue: tickets waiting for my review, their branch's diff, and my verdict.

A ticket in Code Review that is not mine can be reviewed. Its branch (the recorded one, else
the name the site's branch_pattern gives it) is read from the site's checkout, fetched once
per site, against origin/<main> (three-dot: what the branch changed since it forked). The
verdict goes through the board: approving moves the ticket to QA with the comment
"Approved by NAME after review of BRANCH at SHA" (`core.tracker.approvals`), which records
the approval here and, once pushed and synced, in every teammate's cache; sending it back
moves it to Needs Work with the reviewer's comment.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from triage.core.board.service import Board
from triage.core.review.items import NullReporter, ReviewDiff, ReviewItem, ReviewRefused
from triage.core.sites.git import Git, branch_name
from triage.core.sites.gitdiff import CommitLine, DiffLine, FileStat, parse_diff
from triage.core.sites.inventory import Inventory, Site
from triage.core.tracker.approvals import approval_comment
from triage.core.tracker.mapping import StatusMapper
from triage.storage import outbox, queries, review
from triage.storage.columns import BoardColumn
from triage.storage.errors import TriageError
from triage.storage.models import Ticket
from triage.storage.queries import CardRow


class ReviewGit(Protocol):
    """What the review reads of `core.sites.git.Git`."""

    def ensure_checkout(self) -> Any: ...
    def pushed_head(self, branch: str) -> str | None: ...
    def commits_ahead(self, branch: str, limit: int = 500) -> list[CommitLine]: ...
    def numstat(self, branch: str) -> list[FileStat]: ...
    def file_diff(
        self, branch: str, path: str | None = None, old_path: str | None = None
    ) -> str: ...


def _real_git(site: Site) -> ReviewGit:
    return Git(site, NullReporter())


class Reviews:
    """The review queue of the current user, over the board and the sites' checkouts."""

    def __init__(
        self,
        board: Board,
        inventory: Inventory | None,
        git: Callable[[Site], ReviewGit] = _real_git,
        fetch: bool = True,
    ) -> None:
        self.board = board
        self.inventory = inventory
        self._make_git = git
        self._fetch = fetch
        self._gits: dict[str, ReviewGit] = {}

    # -- the queue ----------------------------------------------------------------------------

    def queue(self) -> list[ReviewItem]:
        """Tickets in Code Review that I may review, oldest in Code Review first."""
        tickets = [
            t
            for t in queries.list_tickets(self.board.engine, BoardColumn.CODE_REVIEW)
            if not self._is_mine(t)
        ]
        entered = self._entered({t.key for t in tickets})
        items = [self._item(t, entered.get(t.key, t.updated)) for t in tickets]
        return sorted(items, key=lambda item: (item.entered, item.key))

    def open(self, key: str) -> ReviewDiff:
        """One reviewable ticket with its commits and changed files (no diff text yet)."""
        ticket = self._reviewable(key)
        item = self._item(ticket, self._entered({ticket.key}).get(ticket.key, ticket.updated))
        if item.problem or item.site is None or item.branch is None:
            return ReviewDiff(item, [], [])
        git = self._git(self._site(ticket))
        return ReviewDiff(item, git.commits_ahead(item.branch), git.numstat(item.branch))

    def file_diff(self, diff: ReviewDiff, file: FileStat) -> list[DiffLine]:
        """The lines of one changed file's diff, read when the screen first shows the file."""
        item = diff.item
        if item.site is None or item.branch is None or self.inventory is None:
            return []
        git = self._git(self.inventory.site(item.site))
        return parse_diff(git.file_diff(item.branch, file.path, file.old_path))

    # -- the verdict --------------------------------------------------------------------------

    def approve(self, key: str) -> CardRow:
        """Approve the review: record it, say so in Jira (outbox) and move the ticket to QA."""
        ticket = self._reviewable(key)
        item = self._item(ticket, ticket.updated)
        if item.problem or item.branch is None or item.head is None:
            raise ReviewRefused(f"cannot approve {ticket.key}: {item.problem}")
        me = self.board.me.name
        card = self.board.move(
            ticket.key, BoardColumn.QA, comment=approval_comment(me, item.branch, item.head)
        )
        if self.board.ticket(ticket.key).approved_by != me:
            # An earlier approval by someone else let the move through without recording mine.
            outbox.record_facts(self.board.engine, ticket.key, approved_by=me)
        return card

    def send_back(self, key: str, comment: str) -> CardRow:
        """Send the ticket back to Needs Work with the reviewer's comment."""
        ticket = self._reviewable(key)
        if not comment.strip():
            raise ReviewRefused(
                f"sending {ticket.key} back needs a comment saying what to change: "
                "write one (it may quote file:line)"
            )
        return self.board.move(ticket.key, BoardColumn.NEEDS_WORK, comment=comment)

    # -- helpers ------------------------------------------------------------------------------

    def _is_mine(self, ticket: Ticket) -> bool:
        me = self.board.me
        by_id = bool(ticket.assignee_id) and ticket.assignee_id == me.account_id
        return by_id or (bool(ticket.assignee) and ticket.assignee == me.name)

    def _reviewable(self, key: str) -> Ticket:
        ticket = self.board.ticket(key)
        if ticket.column is not BoardColumn.CODE_REVIEW:
            where = ticket.column.value if ticket.column else repr(ticket.jira_status)
            raise ReviewRefused(
                f"{ticket.key} is in {where}, not Code Review: only a ticket waiting for "
                "review can be approved or sent back"
            )
        if self._is_mine(ticket):
            raise ReviewRefused(
                f"{ticket.key} is assigned to you: a teammate must review it (`triage review` "
                "lists the ones you may review)"
            )
        return ticket

    def _entered(self, keys: set[str]) -> dict[str, datetime]:
        """When each ticket last entered Code Review, by its status history."""
        statuses = StatusMapper(self.board.settings.jira.status_map)
        entered: dict[str, datetime] = {}
        for change in review.status_changes(self.board.engine, keys):
            if statuses.column(change.to_status) is BoardColumn.CODE_REVIEW:
                entered[change.ticket_key] = change.at
        return entered

    def _site(self, ticket: Ticket) -> Site:
        if not ticket.site:
            field = self.board.settings.jira.fields.site
            raise ReviewRefused(
                f'{ticket.key} has no site: fill the Jira field "{field}" or add the label '
                "site:<id>, then sync"
            )
        if self.inventory is None:
            raise ReviewRefused(
                "no sites inventory is loaded: create sites.toml or set sites_file in the config"
            )
        if ticket.site not in self.inventory.sites:
            raise ReviewRefused(
                f"{ticket.key}'s site {ticket.site!r} is not in the sites inventory: add it to "
                "sites.toml or correct the ticket's site"
            )
        return self.inventory.sites[ticket.site]

    def _git(self, site: Site) -> ReviewGit:
        git = self._gits.get(site.id)
        if git is None:
            git = self._make_git(site)
            if self._fetch:
                git.ensure_checkout()
            self._gits[site.id] = git
        return git

    def _item(self, ticket: Ticket, entered: datetime) -> ReviewItem:
        base = ReviewItem(ticket.key, ticket.summary, ticket.assignee, ticket.site, None, entered)
        try:
            site = self._site(ticket)
            branch = ticket.branch or branch_name(site, ticket.key, ticket.summary)
            git = self._git(site)
            head = git.pushed_head(branch)
        except TriageError as error:
            return base.but(problem=str(error))
        if head is None:
            who = ticket.assignee or "its assignee"
            return base.but(
                branch=branch,
                problem=f"the branch {branch} is not pushed to {site.id}'s remote: "
                f"ask {who} to push it",
            )
        try:
            ahead, files = len(git.commits_ahead(branch)), git.numstat(branch)
        except TriageError as error:
            return base.but(branch=branch, problem=str(error))
        return base.but(
            branch=branch,
            head=head,
            ahead=ahead,
            files=len(files),
            added=sum(f.added or 0 for f in files),
            deleted=sum(f.deleted or 0 for f in files),
        )
