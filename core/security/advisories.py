"""Advisories into the cache: feeds polled with `updatedSince`, Drupal's PSAs, and by hand.

Each feed remembers when it was last polled successfully (the time the poll started, so
nothing published during a poll is missed); the next poll asks only for what changed since.
A feed that does not answer, or answers something else than JSON, is reported and left for
the next poll; the others go on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.engine import Engine

from triage.core.config import SecuritySettings
from triage.core.redact import mask
from triage.core.security.feeds import FeedRead, check_constraint, parse_advisories, parse_psa
from triage.core.security.versions import VersionError
from triage.storage import security as rows
from triage.storage.errors import TriageError
from triage.storage.models import Advisory, utcnow

PSA = "psa"
MANUAL = "manual"
SEVERITIES = ("critical", "high", "moderate", "medium", "low")
_PACKAGE = re.compile(r"[a-z0-9]([_.-]?[a-z0-9]+)*/[a-z0-9](([_.]|-{1,2})?[a-z0-9]+)*")


class AdvisoryError(TriageError):
    """An advisory typed by hand is wrong: its id, package, constraint or severity."""


class FeedError(TriageError):
    """A feed did not answer, or answered something else than JSON."""


@dataclass
class PollReport:
    """What a poll did: advisories new and seen again, and what went wrong where."""

    new: int = 0
    seen: int = 0
    problems: list[str] = field(default_factory=list)
    failed_feeds: list[str] = field(default_factory=list)


def _get(client: httpx.Client, name: str, url: str, params: dict[str, Any]) -> Any:
    """The JSON a feed answers; FeedError naming the feed and what to do when it does not."""
    try:
        answer = client.get(url, params=params)
        answer.raise_for_status()
        return answer.json()
    except httpx.HTTPStatusError as error:
        reason = f"HTTP {error.response.status_code}"
    except httpx.HTTPError as error:
        reason = type(error).__name__ + (f": {error}" if str(error) else "")
    except ValueError:
        reason = "the answer is not JSON"
    raise FeedError(
        f"feed {name} at {mask(url)} could not be read ({mask(reason)}): "
        "check security.feeds in the config and the network"
    )


def poll(
    engine: Engine, settings: SecuritySettings, transport: httpx.BaseTransport | None = None
) -> PollReport:
    """Poll every feed and the PSA feed once; keep what they give."""
    report = PollReport()
    with httpx.Client(
        timeout=settings.timeout_seconds, transport=transport, follow_redirects=True
    ) as client:
        for name, url in settings.feeds.items():
            started = utcnow()
            since = rows.polled(engine, name) or started - timedelta(days=settings.first_poll_days)
            try:
                data = _get(client, name, url, {"updatedSince": int(since.timestamp())})
            except FeedError as error:
                report.problems.append(str(error))
                report.failed_feeds.append(name)
                continue
            _keep(engine, parse_advisories(data, name), report)
            rows.set_polled(engine, name, started)
        if settings.psa_url:
            try:
                data = _get(client, PSA, settings.psa_url, {})
            except FeedError as error:
                report.problems.append(str(error))
                report.failed_feeds.append(PSA)
            else:
                _keep(engine, parse_psa(data, PSA), report)
                rows.set_polled(engine, PSA, utcnow())
    return report


def _keep(engine: Engine, read: FeedRead, report: PollReport) -> None:
    new = rows.save_advisories(engine, read.advisories)
    report.new += new
    report.seen += len(read.advisories) - new
    report.problems.extend(read.problems)


def add_manual(
    engine: Engine,
    ident: str,
    package: str,
    affected: str,
    *,
    severity: str = "",
    title: str = "",
    link: str = "",
) -> Advisory:
    """An advisory typed by hand, for the morning a release is announced and not yet in a feed."""
    ident, package, severity = ident.strip(), package.strip().lower(), severity.strip().lower()
    if not ident or len(ident) > 255:
        raise AdvisoryError(
            "the advisory needs an id of at most 255 characters, e.g. SA-CORE-2025-001"
        )
    if not _PACKAGE.fullmatch(package):
        raise AdvisoryError(f"{package!r} is not a Composer package name: write it as vendor/name")
    try:
        constraint = check_constraint(affected)
    except VersionError as error:
        raise AdvisoryError(
            f"--affected {affected!r} is not a Composer constraint ({error}): "
            'write it as Composer does, e.g. ">=10.0 <10.4.9 || >=11.0 <11.1.3"'
        ) from None
    if severity and severity not in SEVERITIES:
        raise AdvisoryError(f"severity {severity!r} is not one of {', '.join(SEVERITIES)}")
    advisory = Advisory(
        id=ident,
        package=package,
        affected=constraint,
        title=title.strip(),
        link=link.strip(),
        severity=severity,
        reported_at=utcnow(),
        source=MANUAL,
        updated=utcnow(),
    )
    rows.save_advisories(engine, [advisory])
    return advisory
