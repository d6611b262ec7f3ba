"""A composer.lock read as data: every package, its version, and Drupal's extra fields.

Drupal's packages carry `extra.drupal.version` (`8.x-1.13`, the release name on drupal.org)
and `extra.drupal.security-coverage.status` (`covered`, `not-covered`): both are kept, as
the text came, cleaned of terminal control.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from triage.core.text import clean_line
from triage.storage.errors import TriageError


class LockfileError(TriageError):
    """The composer.lock is not one: not JSON, or no package list."""


@dataclass(frozen=True)
class LockedPackage:
    """One package a lock pins."""

    name: str
    version: str
    drupal_version: str = ""
    coverage: str = ""


def _text(value: Any, limit: int = 128) -> str:
    return clean_line(value)[:limit] if isinstance(value, str) else ""


def _package(entry: Any) -> LockedPackage | None:
    if not isinstance(entry, dict):
        return None
    name, version = _text(entry.get("name"), 255), _text(entry.get("version"))
    if not name or not version:
        return None
    extra = entry.get("extra")
    drupal = extra.get("drupal") if isinstance(extra, dict) else None
    drupal = drupal if isinstance(drupal, dict) else {}
    coverage = drupal.get("security-coverage")
    status = coverage.get("status") if isinstance(coverage, dict) else None
    return LockedPackage(name, version, _text(drupal.get("version")), _text(status, 64))


def parse_lock(text: str) -> list[LockedPackage]:
    """The packages of a composer.lock (`packages` and `packages-dev`), by name."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise LockfileError(f"composer.lock is not valid JSON ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("packages"), list):
        raise LockfileError("composer.lock has no `packages` list")
    entries = list(data["packages"])
    if isinstance(data.get("packages-dev"), list):
        entries += data["packages-dev"]
    found: dict[str, LockedPackage] = {}
    for entry in entries:
        package = _package(entry)
        if package is not None:
            found.setdefault(package.name, package)
    return sorted(found.values(), key=lambda package: package.name)
