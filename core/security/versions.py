"""Composer's version strings: normalisation (`1.0-beta2` → `1.0.0.0-beta2`) and ordering.

The rules are Composer's (composer/semver's VersionParser and PHP's `version_compare`),
written anew for the subset Triage needs, plus Drupal's contrib versions: `8.x-1.13` is
`1.13.0.0` and `8.x-1.x-dev` is the branch `1.9999999.9999999.9999999-dev`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from triage.storage.errors import TriageError

MODIFIER = r"[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\d+)*+)?)?([.-]?dev)?"
"""What may follow the numbers: a stability, its number, a dev suffix (three groups)."""
_CLASSICAL = re.compile(r"v?(\d{1,5}+)(\.\d++)?(\.\d++)?(\.\d++)?" + MODIFIER, re.I)
_DATE = re.compile(r"v?(\d{4}(?:[.:-]?\d{2}){1,6}(?:[.:-]?\d{1,3}){0,2})" + MODIFIER, re.I)
_BRANCH = re.compile(r"v?(\d++)(\.(?:\d++|[xX*]))?(\.(?:\d++|[xX*]))?(\.(?:\d++|[xX*]))?", re.I)
_ALIAS = re.compile(r"([^,\s]++) ++as ++([^,\s]++)")
_FLAG = re.compile(r"@(?:stable|RC|beta|alpha|dev)$", re.I)
_BUILD = re.compile(r"([^,\s+]++)\+[^\s]++")
_DRUPAL = re.compile(r"\d+\.x-(\d.*)")
_EXPANDED = {"a": "alpha", "b": "beta", "p": "patch", "pl": "patch", "rc": "RC"}
_FORMS = (("dev", 0), ("alpha", 1), ("a", 1), ("beta", 2), ("b", 2), ("rc", 3), ("#", 4))
_FORMS_AFTER = (("pl", 5), ("p", 5))
BRANCH_NUMBER = "9999999"


class VersionError(TriageError, ValueError):
    """A version or constraint Composer would not accept either."""


def expand_stability(name: str) -> str:
    """`b` → `beta`, `rc` → `RC`, `pl` → `patch`: the names Composer writes."""
    lowered = name.lower()
    return _EXPANDED.get(lowered, lowered)


def _with_modifier(base: str, match: re.Match[str], index: int) -> str:
    stability = match.group(index)
    if stability and stability.lower() != "stable":
        base += "-" + expand_stability(stability) + (match.group(index + 1) or "").lstrip(".-")
    if match.group(index + 2):
        base += "-dev"
    return base


@lru_cache(maxsize=8192)
def normalize(version: str) -> str:
    """Composer's normal form of a version; VersionError when it is not one."""
    text = version.strip()
    original = text
    drupal = _DRUPAL.fullmatch(text)
    if drupal:
        text = drupal.group(1)
    alias = _ALIAS.fullmatch(text)
    if alias:
        text = alias.group(1)
    text = _FLAG.sub("", text)
    if re.fullmatch(r"(?:dev-)?(?:master|trunk|default)", text, re.I):
        return "dev-" + re.sub(r"^dev-", "", text, flags=re.I)
    if text[:4].lower() == "dev-":
        return "dev-" + text[4:]
    build = _BUILD.fullmatch(text)
    if build:
        text = build.group(1)
    match = _CLASSICAL.fullmatch(text)
    if match:
        parts = [match.group(1), *(match.group(i) or ".0" for i in (2, 3, 4))]
        return _with_modifier("".join(parts), match, 5)
    match = _DATE.fullmatch(text)
    if match:
        return _with_modifier(re.sub(r"\D", ".", match.group(1)), match, 2)
    dev = re.fullmatch(r"(.*?)[.-]?dev", text, re.I)
    if dev:
        branch = normalize_branch(dev.group(1))
        if not branch.startswith("dev-"):
            return branch
    raise VersionError(f"{original!r} is not a version Composer understands")


def normalize_branch(name: str) -> str:
    """A branch name as a version: `1.x` → `1.9999999.9999999.9999999-dev`, else `dev-NAME`."""
    text = name.strip()
    match = _BRANCH.fullmatch(text)
    if not match:
        return "dev-" + text
    parts = [match.group(1), *(match.group(i) or ".x" for i in (2, 3, 4))]
    joined = "".join(parts).replace("*", "x").replace("X", "x")
    return joined.replace("x", BRANCH_NUMBER) + "-dev"


def is_branch(normalized: str) -> bool:
    """A `dev-` branch: it has no place in the numeric order."""
    return normalized.startswith("dev-")


def _rank(token: str) -> int:
    lowered = token.lower()
    for form, rank in (*_FORMS, *_FORMS_AFTER):
        if lowered.startswith(form):
            return rank
    return -1


@lru_cache(maxsize=8192)
def _tokens(normalized: str) -> tuple[tuple[int, int], ...]:
    """PHP's `version_compare` pieces: numbers rank with `#`, words by their stability."""
    canonical = re.sub(r"[-_+]", ".", normalized)
    canonical = re.sub(r"(?<=\d)(?=\D)|(?<=[^\d.])(?=\d)", ".", canonical)
    return tuple(
        (4, int(piece)) if piece.isdigit() else (_rank(piece), 0)
        for piece in canonical.split(".")
        if piece
    )


_MISSING = (4, -1)
"""What a shorter version has where a longer one goes on: numbers beat it, `beta` does not."""


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as PHP's `version_compare` orders two normalized versions."""
    left, right = _tokens(a), _tokens(b)
    size = max(len(left), len(right))
    left += (_MISSING,) * (size - len(left))
    right += (_MISSING,) * (size - len(right))
    return (left > right) - (left < right)
