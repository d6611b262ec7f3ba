"""Review approvals as Jira comments: the sentence Triage posts, and reading it back.

Approving a review in Triage records `approved_by` in the approver's cache and posts
"Approved by NAME after review of BRANCH at SHA" to the ticket. Every other cache learns the
approval when its sync brings that comment: `approvals` finds the newest one per ticket whose
Jira author is the person it names, so nobody approves in someone else's name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

_APPROVAL = re.compile(
    r"^Approved by (?P<name>.+?) after review of (?P<branch>\S+) at (?P<sha>[0-9a-f]{7,40})\b"
)


def approval_comment(name: str, branch: str, sha: str) -> str:
    """The comment that says `name` approved `branch` at commit `sha`."""
    return f"Approved by {name} after review of {branch} at {sha[:12]}"


def approver(body: str, author: str) -> str | None:
    """Who a comment says approved the review, if it is an approval written by that person."""
    match = _APPROVAL.match(body.strip())
    if match is None or match.group("name") != author:
        return None
    return author


def approvals(comments: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """The approver per ticket key, from mapped comments (the newest approval wins)."""
    newest: dict[str, tuple[Any, str]] = {}
    for comment in comments:
        name = approver(str(comment["body"]), str(comment["author"]))
        key = str(comment["ticket_key"])
        if name is not None and (key not in newest or comment["created"] >= newest[key][0]):
            newest[key] = (comment["created"], name)
    return {key: name for key, (_, name) in newest.items()}
