"""What a branch changes, as git prints it: commits, per-file counts and diffs, parsed.

`core.sites.git.Git` runs the commands (`git log`, `git diff --numstat -z`, `git diff`);
the functions here only read their output, so they are tested without a repository.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LOG_FORMAT = "%H%x1f%an%x1f%aI%x1f%s%x1e"
"""One commit per record: sha, author, ISO date, subject (unit and record separators)."""

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@")


@dataclass(frozen=True)
class CommitLine:
    """One commit of a branch: who, when and its subject line."""

    sha: str
    author: str
    date: str
    subject: str


@dataclass(frozen=True)
class FileStat:
    """One changed file: lines added and deleted (None for a binary file)."""

    path: str
    added: int | None
    deleted: int | None
    old_path: str | None = None
    """The path before a rename or copy."""

    @property
    def binary(self) -> bool:
        """True when git counts no lines: a binary file."""
        return self.added is None


@dataclass(frozen=True)
class DiffLine:
    """One line of a unified diff, with its line number on the new side when it has one."""

    text: str
    kind: str
    """One of "meta", "hunk", "add", "del", "context"."""
    new_line: int | None = None


def parse_log(out: str) -> list[CommitLine]:
    """Commits from `git log --format=LOG_FORMAT`, in git's order."""
    commits = []
    for record in out.split("\x1e"):
        fields = record.strip("\n").split("\x1f")
        if len(fields) == 4:
            commits.append(CommitLine(*fields))
    return commits


def _count(text: str) -> int | None:
    return None if text == "-" else int(text)


def parse_numstat(out: str) -> list[FileStat]:
    """Files from `git diff --numstat -z`: renames come as two paths after an empty one."""
    parts = out.split("\0")
    files: list[FileStat] = []
    index = 0
    while index < len(parts) and parts[index]:
        added, deleted, path = parts[index].split("\t", 2)
        if path:
            files.append(FileStat(path, _count(added), _count(deleted)))
            index += 1
        else:
            old, new = parts[index + 1], parts[index + 2]
            files.append(FileStat(new, _count(added), _count(deleted), old_path=old))
            index += 3
    return files


def parse_diff(text: str) -> list[DiffLine]:
    """The lines of one file's unified diff, each with its kind and new-side line number."""
    lines: list[DiffLine] = []
    new_line: int | None = None
    for raw in text.splitlines():
        match = _HUNK.match(raw)
        if raw.startswith("diff --git "):
            new_line = None
            lines.append(DiffLine(raw, "meta"))
        elif match:
            new_line = int(match.group(2))
            lines.append(DiffLine(raw, "hunk"))
        elif new_line is None:
            lines.append(DiffLine(raw, "meta"))
        elif raw.startswith("+"):
            lines.append(DiffLine(raw, "add", new_line))
            new_line += 1
        elif raw.startswith("-"):
            lines.append(DiffLine(raw, "del"))
        elif raw.startswith("\\"):
            lines.append(DiffLine(raw, "meta"))
        else:
            lines.append(DiffLine(raw, "context", new_line))
            new_line += 1
    return lines
