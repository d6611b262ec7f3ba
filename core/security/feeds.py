"""Advisory feeds read defensively: the Packagist security-advisories shape and Drupal's PSAs.

Packagist's shape (`/api/security-advisories/`, which drupal.org also serves for `drupal/*`)::

    {"advisories": {"drupal/core": [{"advisoryId": "SA-CORE-2024-001",
        "packageName": "drupal/core", "affectedVersions": ">= 8.0.0 <10.1.8 || >=10.2.0 <10.2.2",
        "title": "...", "link": "...", "cve": null, "reportedAt": "2024-01-17 15:00:00",
        "severity": "moderate", "sources": [{"name": "...", "remoteId": "..."}]}]}}

Drupal's psa.json is a list of `{"title", "link", "project", "type", "insecure": [...],
"is_psa": 0 | 1, "pubDate"}`. An entry that cannot be read is reported by what is wrong
with it, never fatal to the rest; text is cleaned of terminal control.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from triage.core.security.constraints import parse
from triage.core.security.versions import VersionError
from triage.core.text import clean_line
from triage.storage.models import Advisory, utcnow


@dataclass
class FeedRead:
    """What one feed gave: the advisories read, and one sentence per entry that was not."""

    advisories: list[Advisory] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _text(value: Any, limit: int = 1024) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    return clean_line(value)[:limit] if isinstance(value, str) else ""


def reported_at(value: Any) -> datetime | None:
    """`2024-01-17 15:00:00`, `2024-01-17T15:00:00+00:00` or an RFC 2822 date, as UTC."""
    text = _text(value)
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def check_constraint(text: str) -> str:
    """The constraint, stripped, if Composer would read it; VersionError if not."""
    stripped = text.strip()
    if not stripped:
        raise VersionError("the affected versions are empty")
    parse(stripped)
    return stripped


def _advisory(entry: Any, package_key: str, source: str) -> Advisory:
    if not isinstance(entry, dict):
        raise ValueError("is not an object")
    ident = _text(entry.get("advisoryId"), 255)
    package = _text(entry.get("packageName"), 255) or package_key
    if not ident:
        raise ValueError("has no advisoryId")
    if "/" not in package:
        raise ValueError(f"{ident} has no package name (vendor/name)")
    try:
        affected = check_constraint(_text(entry.get("affectedVersions"), 4000))
    except VersionError as error:
        raise ValueError(f"{ident} of {package}: affectedVersions: {error}") from None
    return Advisory(
        id=ident,
        package=package,
        affected=affected,
        title=_text(entry.get("title")),
        link=_text(entry.get("link")),
        cve=_text(entry.get("cve"), 64),
        severity=_text(entry.get("severity"), 32).lower(),
        reported_at=reported_at(entry.get("reportedAt")),
        source=source,
        updated=utcnow(),
    )


def parse_advisories(data: Any, source: str) -> FeedRead:
    """A Packagist-shaped answer read entry by entry."""
    read = FeedRead()
    listing = data.get("advisories") if isinstance(data, dict) else None
    if isinstance(listing, list):  # an empty PHP array arrives as [] rather than {}
        listing = {"": listing} if listing else {}
    if not isinstance(listing, dict):
        read.problems.append(f"{source}: the answer has no `advisories` object")
        return read
    for package_key, entries in listing.items():
        for index, entry in enumerate(entries if isinstance(entries, list) else [entries]):
            try:
                read.advisories.append(_advisory(entry, _text(package_key, 255), source))
            except ValueError as error:
                where = f"{_text(package_key, 255) or 'advisories'}[{index}]"
                read.problems.append(f"{source}: {where} {error}; skipped")
    return read


def parse_psa(data: Any, source: str = "psa") -> FeedRead:
    """Drupal's psa.json: PSAs as early warnings, security releases with their versions."""
    read = FeedRead()
    if not isinstance(data, list):
        read.problems.append(f"{source}: psa.json is not a list")
        return read
    for index, entry in enumerate(data):
        if not isinstance(entry, dict) or not _text(entry.get("link") or entry.get("title")):
            read.problems.append(f"{source}: entry {index} has no title or link; skipped")
            continue
        project = _text(entry.get("project"), 200) or "drupal"
        package = "drupal/core" if project == "drupal" else f"drupal/{project}"
        link = _text(entry.get("link"))
        ident = link.rstrip("/").rsplit("/", 1)[-1] or _text(entry.get("title"), 255)
        insecure = entry.get("insecure")
        versions = [_text(v, 64) for v in insecure] if isinstance(insecure, list) else []
        affected = " || ".join(v for v in versions if v)
        try:
            affected = check_constraint(affected) if affected else ""
        except VersionError as error:
            read.problems.append(f"{source}: {ident}: insecure versions: {error}; kept as a PSA")
            affected = ""
        psa = bool(entry.get("is_psa")) or not affected
        read.advisories.append(
            Advisory(
                id=ident[:255],
                package=package,
                affected="" if psa else affected,
                title=_text(entry.get("title")),
                link=link,
                severity="psa" if psa else "",
                reported_at=reported_at(entry.get("pubDate")),
                source=source,
                kind="psa" if psa else "advisory",
                updated=utcnow(),
            )
        )
    return read
