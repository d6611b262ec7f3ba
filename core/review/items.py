"""What the review queue hands the screens and the command line, and its one refusal."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from triage.core.sites.gitdiff import CommitLine, FileStat
from triage.storage.errors import TriageError


class ReviewRefused(TriageError):
    """A review verdict that cannot be given: wrong column, my own ticket, no branch…"""


@dataclass(frozen=True)
class ReviewItem:
    """One ticket waiting for review, with what its branch changes against main."""

    key: str
    summary: str
    assignee: str | None
    site: str | None
    branch: str | None
    entered: datetime
    """When the ticket last entered Code Review."""
    head: str | None = None
    """The sha of the branch on the remote."""
    ahead: int = 0
    files: int = 0
    added: int = 0
    deleted: int = 0
    problem: str | None = None
    """Why no diff can be shown (no site, branch not pushed…); None when it can."""
    short: str = ""
    """The problem in two words, for a list."""

    def but(self, **changes: object) -> ReviewItem:
        """A copy with these fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def size(self, short: bool = False) -> str:
        """The branch's size in one short phrase, or its problem (`short`: in two words)."""
        if self.problem:
            return self.short if short and self.short else self.problem
        commits = "commit" if self.ahead == 1 else "commits"
        files = "file" if self.files == 1 else "files"
        if short:
            return f"{self.ahead} ahead, {self.files} {files} +{self.added} −{self.deleted}"
        return f"{self.ahead} {commits} ahead, {self.files} {files} +{self.added} −{self.deleted}"

    def as_json(self) -> dict[str, object]:
        """The item for `triage review --json`."""
        return {
            "key": self.key,
            "summary": self.summary,
            "assignee": self.assignee,
            "site": self.site,
            "branch": self.branch,
            "in_review_since": self.entered.isoformat(),
            "head": self.head,
            "ahead": self.ahead,
            "files": self.files,
            "added": self.added,
            "deleted": self.deleted,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class ReviewDiff:
    """A ticket opened for review: its commits and changed files; diffs come per file."""

    item: ReviewItem
    commits: list[CommitLine]
    files: list[FileStat]


class NullReporter:
    """A reporter that keeps nothing: review reads are not jobs."""

    dry_run = False

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Nothing to record."""
        yield

    def log(self, line: str) -> None:
        """Nothing to record."""

    def check_cancelled(self) -> None:
        """A read is never cancelled."""
