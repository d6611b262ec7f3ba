"""Smoke checks: a few requests that a healthy site answers as sites.toml expects.

Each `SmokeCheck` (path, status, contains) is requested with httpx, with finite timeouts and a
bounded number of attempts, since a site that was just deployed may take a moment to come up.
Pass an `httpx.Client` (with an `httpx.MockTransport`, say) to check without a network.

Exceptions::

    TriageError (core.errors)
    └── SmokeFailed     a check did not get what it expected; `results` holds every check
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import httpx

from triage.core.jobs.reporting import Reporter
from triage.core.sites.inventory import SmokeCheck
from triage.storage.errors import TriageError

ATTEMPTS = 5
WAIT_S = 1.0
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


@dataclass(frozen=True)
class SmokeResult:
    """What one check expected and what it got."""

    url: str
    expected_status: int
    contains: str
    status: int | None = None
    """The status of the last answer; None when there was none."""
    found: bool = False
    """Whether the body contained `contains`."""
    error: str = ""
    """Why there was no answer (connection refused, timeout), if there was none."""
    attempts: int = 0

    @property
    def ok(self) -> bool:
        """The answer had the expected status and text."""
        return self.status == self.expected_status and self.found

    def describe(self) -> str:
        """One line: what was expected and what came."""
        want = f"{self.expected_status}" + (f" with {self.contains!r}" if self.contains else "")
        if self.status is None:
            got = self.error or "no answer"
        else:
            got = f"{self.status}" + ("" if self.found else f" without {self.contains!r}")
        return f"GET {self.url}: expected {want}, got {got}"


class SmokeFailed(TriageError):
    """A smoke check did not get what it expected."""

    def __init__(self, message: str, results: list[SmokeResult]) -> None:
        super().__init__(message)
        self.results = results


def check_site(
    base_url: str,
    checks: Sequence[SmokeCheck],
    reporter: Reporter,
    *,
    client: httpx.Client | None = None,
    attempts: int = ATTEMPTS,
    wait: float = WAIT_S,
    sleep: Callable[[float], None] = time.sleep,
) -> list[SmokeResult]:
    """Run every check against `base_url`; the results, or SmokeFailed naming the failures."""
    if not base_url:
        raise SmokeFailed(
            "the environment has no URL to smoke-check: set url for it in sites.toml", []
        )
    if reporter.dry_run:
        for check in checks:
            reporter.log(f"GET {_join(base_url, check.path)} (expect {check.status})")
        return []
    http = client or httpx.Client(timeout=TIMEOUT, follow_redirects=True)
    try:
        results = [_one(http, base_url, check, attempts, wait, sleep) for check in checks]
    finally:
        if client is None:
            http.close()
    for result in results:
        reporter.log(("ok    " if result.ok else "FAIL  ") + result.describe())
    failed = [result for result in results if not result.ok]
    if failed:
        what = "; ".join(result.describe() for result in failed)
        raise SmokeFailed(f"smoke check failed ({what}): look at the site and its logs", results)
    return results


def _join(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + "/" + path.lstrip("/")


def _one(
    http: httpx.Client,
    base_url: str,
    check: SmokeCheck,
    attempts: int,
    wait: float,
    sleep: Callable[[float], None],
) -> SmokeResult:
    url = _join(base_url, check.path)
    result = SmokeResult(url, check.status, check.contains)
    for attempt in range(1, max(1, attempts) + 1):
        try:
            answer = http.get(url)
        except httpx.HTTPError as error:
            result = SmokeResult(url, check.status, check.contains, error=_reason(error))
        else:
            found = check.contains in answer.text if check.contains else True
            result = SmokeResult(url, check.status, check.contains, answer.status_code, found)
        result = replace(result, attempts=attempt)
        if result.ok:
            break
        if attempt < attempts:
            sleep(wait)
    return result


def _reason(error: httpx.HTTPError) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "a timeout"
    if isinstance(error, httpx.ConnectError):
        return "no connection"
    return type(error).__name__
