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
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, Protocol

from triage.core.board.service import Board
from triage.core.review.items import NullReporter, ReviewDiff, ReviewItem, ReviewRefused
from triage.core.sites.git import Git, branch_name
from triage.core.sites.gitdiff import CommitLine, DiffLine, FileStat, parse_diff
from triage.core.sites.inventory import Inventory, Site
from triage.core.tracker.approvals import approval_comment
from triage.core.tracker.mapping import StatusMapper
from triage.storage import queries, review
from triage.storage.columns import BoardColumn
from triage.storage.errors import TriageError
from triage.storage.models import Ticket
from triage.storage.queries import CardRow


class ReviewGit(Protocol):
    """What the review reads of `core.sites.git.Git`."""

    def ensure_checkout(self) -> Any: ...
    def pushed_head(self, branch: str) -> str | None: ...
    def commits_ahead(self, head: str, limit: int = 500) -> list[CommitLine]: ...
    def numstat(self, head: str) -> list[FileStat]: ...
    def file_diff(self, head: str, path: str | None = None, old_path: str | None = None) -> str: ...


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
        items = [self._read(t, entered.get(t.key, t.updated)).item for t in tickets]
        return sorted(items, key=lambda item: (item.entered, item.key))

    def open(self, key: str) -> ReviewDiff:
        """One reviewable ticket with its commits and changed files (no diff text yet)."""
        ticket = self._reviewable(key)
        return self._read(ticket, self._entered({ticket.key}).get(ticket.key, ticket.updated))

    def file_diff(self, diff: ReviewDiff, file: FileStat) -> list[DiffLine]:
        """The lines of one changed file's diff at the commit opened, read when first shown."""
        item = diff.item
        if item.site is None or item.head is None or self.inventory is None:
            return []
        git = self._git(self.inventory.site(item.site))
        return parse_diff(git.file_diff(item.head, file.path, file.old_path))

    # -- the verdict --------------------------------------------------------------------------

    def approve(self, key: str, seen: str | None = None) -> CardRow:
        """Approve the review: record it, say so in Jira (outbox) and move the ticket to QA.

        `seen` is the commit the reviewer read: a branch pushed again since is refused.
        """
        ticket = self._reviewable(key)
        item = self._read(ticket, ticket.updated).item
        if item.problem or item.branch is None or item.head is None:
            raise ReviewRefused(f"cannot approve {ticket.key}: {item.problem}")
        if seen is not None and seen != item.head:
            raise ReviewRefused(
                f"{item.branch} was pushed again since you opened it ({seen[:10]} → "
                f"{item.head[:10]}): reload the diff and review the new commits"
            )
        me = self.board.me.name
        with self.board.changes(ticket.key) as change:
            change.move(BoardColumn.QA, comment=approval_comment(me, item.branch, item.head))
            if change.ticket.approved_by != me:
                # An earlier approval by someone else let the move through without mine.
                change.facts(approved_by=me)
        return self.board.card(ticket.key)

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

    def _read(self, ticket: Ticket, entered: datetime) -> ReviewDiff:
        """The ticket's branch on the remote: its size, commits and files, or its problem."""
        base = ReviewItem(ticket.key, ticket.summary, ticket.assignee, ticket.site, None, entered)
        try:
            site = self._site(ticket)
        except ReviewRefused as error:
            short = "no site" if not ticket.site else "no repo"
            return ReviewDiff(base.but(problem=str(error), short=short), [], [])
        try:
            branch = ticket.branch or branch_name(site, ticket.key, ticket.summary)
            base = base.but(branch=branch)
            git = self._git(site)
            head = git.pushed_head(branch)
            if head is None:
                who = ticket.assignee or "its assignee"
                problem = f"the branch {branch} is not pushed to {site.id}'s remote: ask {who} "
                return ReviewDiff(
                    base.but(problem=problem + "to push it", short="not pushed"), [], []
                )
            # Two git processes side by side: the diff screen waits for both.
            with ThreadPoolExecutor(max_workers=1) as pool:
                later = pool.submit(git.commits_ahead, head)
                files = git.numstat(head)
                commits = later.result()
        except TriageError as error:
            return ReviewDiff(base.but(problem=str(error), short="git failed"), [], [])
        item = base.but(
            head=head,
            ahead=len(commits),
            files=len(files),
            added=sum(f.added or 0 for f in files),
            deleted=sum(f.deleted or 0 for f in files),
        )
        return ReviewDiff(item, commits, files)
