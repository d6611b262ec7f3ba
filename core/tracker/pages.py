"""Search answers read safely, and many pages fetched side by side without holding them all.

A search answer that lacks its `issues` list (a `{}` from a proxy, an HTML login page
served with 200) is an error here, never an empty result: read as "no issues", it would
make a full sync delete the whole cache.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

from triage.storage.errors import TriageError

In = TypeVar("In")
Out = TypeVar("Out")


class IssuePage(list[dict[str, Any]]):
    """The first page of a search that knows how many issues match in all (Data Center).

    A full sync that fetched fewer distinct issues than `total` saw the result shift while
    it paged (an issue updated or deleted meanwhile), so it must not delete what it missed.
    """

    def __init__(self, issues: list[dict[str, Any]], total: int) -> None:
        super().__init__(issues)
        self.total = total


class BadSearchAnswer(TriageError):
    """Jira answered a search with something that is not a page of issues."""


def issues_of(page: Any, url: str, what: str) -> list[dict[str, Any]]:
    """The issue list of one search answer; BadSearchAnswer when it has none."""
    issues = page.get("issues") if isinstance(page, dict) else None
    if not isinstance(issues, list) or not all(isinstance(i, dict) for i in issues):
        shape = "no issue list" if isinstance(page, dict) else f"a {type(page).__name__}"
        raise BadSearchAnswer(
            f"Jira at {url} answered the {what} with {shape}, not a page of issues: "
            "check jira.url (a proxy or login page?) and sync again; the cache is unchanged"
        )
    return issues


def total_of(page: dict[str, Any], url: str) -> int:
    """The `total` of a Data Center search answer; BadSearchAnswer when it has none."""
    total = page.get("total")
    if not isinstance(total, int) or total < 0:
        raise BadSearchAnswer(
            f"Jira at {url} answered a search without its total: check jira.url and "
            "jira.deployment (Data Center pages by startAt) and sync again"
        )
    return total


def in_window(
    pool: Executor, work: Callable[[In], Out], items: Iterable[In], window: int
) -> Iterator[Out]:
    """`work` over `items` on `pool`, in order, with at most `window` calls in flight.

    Bounded, so a sync of 20,000 issues holds a few pages at a time, not all of them.
    """
    source = iter(items)
    running: deque[Future[Out]] = deque()
    for item in source:
        running.append(pool.submit(work, item))
        if len(running) >= window:
            break
    try:
        while running:
            result = running.popleft().result()
            following = next(source, _END)
            if following is not _END:
                running.append(pool.submit(work, following))
            yield result
    finally:
        for future in running:
            future.cancel()


_END: Any = object()
