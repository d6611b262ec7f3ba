"""Composer's version constraints (`^10.2 || ~11.0.1`, `>= 8.0.0 <10.1.8`), parsed and matched.

The subset of composer/semver's VersionParser that advisories use: OR on `||` and `|`, AND
on space or comma, `^`, `~`, wildcards, hyphen ranges, comparisons with or without spaces,
stability flags, and the rule that `<` and `>=` without a suffix take an implicit `-dev`
(so `<10.1.8` excludes `10.1.8-beta1`). A `dev-` branch never matches a numeric constraint.
Printed (`str`), a constraint reads as Composer prints it: `[>= 1.0.0.0-dev < 2.0.0.0-dev]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from triage.core.security.versions import (
    MODIFIER,
    VersionError,
    compare,
    is_branch,
    normalize,
)

_VERSION = (
    r"v?(\d++)(?:\.(\d++))?(?:\.(\d++))?(?:\.(\d++))?"
    r"(?:" + MODIFIER + r"|\.([xX*][.-]?dev))(?:\+[^\s]+)?"
)
_TILDE = re.compile(r"~>?" + _VERSION, re.I)
_CARET = re.compile(r"\^" + _VERSION, re.I)
_XRANGE = re.compile(r"v?(\d++)(?:\.(\d++))?(?:\.(\d++))?(?:\.[xX*])++")
_HYPHEN = re.compile(r"(" + _VERSION + r") +- +(" + _VERSION + r")", re.I)
_MATCH_ALL = re.compile(r"(v)?[xX*](\.[xX*])*", re.I)
_COMPARISON = re.compile(r"(<>|!=|>=?|<=?|==?)?\s*(.*)", re.S)
_FLAGGED = re.compile(r"([^,\s]*?)@(stable|RC|beta|alpha|dev)", re.I)
_REFERENCE = re.compile(r"(dev-[^,\s@]+?|[^,\s@]+?\.x-dev)#.+", re.I)
_ALIAS = re.compile(r"([^,\s]++) ++as ++([^,\s]++)")
_OR = re.compile(r"\s*\|\|?\s*")
_AND = re.compile(r"(?<!^)(?<!as)(?<![=>< ,]) *(?<!-)[, ](?!-) *(?!,|as|$)")
_OPERATORS = {"=": "==", "==": "==", "<>": "!=", "!=": "!="}
_OPERATORS |= {op: op for op in ("<", "<=", ">", ">=")}
_TESTS = {
    "==": lambda c: c == 0,
    "!=": lambda c: c != 0,
    "<": lambda c: c < 0,
    "<=": lambda c: c <= 0,
    ">": lambda c: c > 0,
    ">=": lambda c: c >= 0,
}


class Constraint(Protocol):
    """Anything that says whether a normalized version satisfies it."""

    def matches(self, version: str) -> bool:
        """Whether this normalized version satisfies the constraint."""
        ...


@dataclass(frozen=True)
class Single:
    """One comparison: an operator and a normalized version."""

    op: str
    version: str

    def matches(self, version: str) -> bool:
        """Composer's comparison: branches equal only themselves, and order nothing."""
        mine, theirs = is_branch(self.version), is_branch(version)
        if self.op == "!=" and (mine or theirs):
            return version != self.version
        if mine or theirs:
            return mine and theirs and self.op == "==" and version == self.version
        return bool(_TESTS[self.op](compare(version, self.version)))

    def __str__(self) -> str:
        return f"{self.op} {self.version}"


@dataclass(frozen=True)
class Multi:
    """Constraints that must all hold (conjunctive) or of which one must (disjunctive)."""

    parts: tuple[Constraint, ...]
    conjunctive: bool = True

    def matches(self, version: str) -> bool:
        """All parts, or any part."""
        test = all if self.conjunctive else any
        return test(part.matches(version) for part in self.parts)

    def __str__(self) -> str:
        glue = " " if self.conjunctive else " || "
        return "[" + glue.join(str(part) for part in self.parts) + "]"


@dataclass(frozen=True)
class MatchAll:
    """`*`: every version, branches included."""

    def matches(self, version: str) -> bool:
        """Always."""
        return True

    def __str__(self) -> str:
        return "*"


@lru_cache(maxsize=4096)
def parse(text: str) -> Constraint:
    """A constraint from its text; VersionError saying what is wrong."""
    stripped = text.strip()
    flagged = _FLAGGED.fullmatch(stripped)
    if flagged:
        stripped = flagged.group(1) or "*"
    reference = _REFERENCE.fullmatch(stripped)
    if reference:
        stripped = reference.group(1)
    groups: list[Constraint] = []
    for alternative in _OR.split(stripped):
        pieces = [single for part in _AND.split(alternative) for single in _parse_one(part)]
        groups.append(pieces[0] if len(pieces) == 1 else Multi(tuple(pieces)))
    return groups[0] if len(groups) == 1 else Multi(tuple(groups), conjunctive=False)


def satisfies(version: str, constraint: str) -> bool:
    """Whether a version (any Composer or Drupal spelling) satisfies a constraint's text."""
    return parse(constraint).matches(normalize(version))


def _set(value: str | None) -> bool:
    return value is not None and value != ""


def _bump(numbers: list[str | None], position: int, increment: int = 0) -> str:
    """Composer's manipulateVersionString: zero after `position`, add `increment` at it."""
    parts = [value or "0" for value in numbers]
    for index in range(3, -1, -1):
        if index + 1 > position:
            parts[index] = "0"
        elif index + 1 == position and increment:
            parts[index] = str(int(parts[index]) + increment)
    return ".".join(parts)


def _parse_one(text: str) -> list[Constraint]:
    """One AND-part: a range gives two constraints, a comparison one."""
    constraint = text
    alias = _ALIAS.fullmatch(constraint)
    if alias:
        constraint = alias.group(1)
    modifier = ""
    flagged = _FLAGGED.fullmatch(constraint)
    if flagged:
        constraint = flagged.group(1) or "*"
        modifier = "" if flagged.group(2).lower() == "stable" else flagged.group(2)
    reference = _REFERENCE.fullmatch(constraint)
    if reference:
        constraint = reference.group(1)
    every = _MATCH_ALL.fullmatch(constraint)
    if every:
        return [Single(">=", "0.0.0.0-dev")] if every.group(1, 2) != (None, None) else [MatchAll()]
    ranged = _ranges(constraint)
    if ranged is not None:
        return ranged
    return [_comparison(constraint, modifier)]


def _ranges(constraint: str) -> list[Constraint] | None:
    """`~`, `^`, `1.2.*` and `a - b`, each as a lower and an upper bound; None for others."""
    found = _TILDE.fullmatch(constraint)
    if found:
        if constraint.startswith("~>"):
            raise VersionError(f"{constraint!r} is Ruby's ~>: write ~ without the >")
        g = found.groups()
        position = next((i for i in (4, 3, 2) if _set(g[i - 1])), 1) + (1 if g[7] else 0)
        suffix = "" if (g[4] or g[6] or g[7]) else "-dev"
        low = normalize(constraint[1:] + suffix)
        high = _bump(list(g[:4]), max(1, position - 1), 1) + "-dev"
        return [Single(">=", low), Single("<", high)]
    found = _CARET.fullmatch(constraint)
    if found:
        g = found.groups()
        if g[0] != "0" or not _set(g[1]):
            position = 1
        elif g[1] != "0" or not _set(g[2]):
            position = 2
        else:
            position = 3
        suffix = "" if (g[4] or g[6] or g[7]) else "-dev"
        low = normalize(constraint[1:] + suffix)
        return [Single(">=", low), Single("<", _bump(list(g[:4]), position, 1) + "-dev")]
    found = _XRANGE.fullmatch(constraint)
    if found:
        g = found.groups()
        position = next((i for i in (3, 2) if _set(g[i - 1])), 1)
        numbers: list[str | None] = [*g, None]
        bottom = _bump(numbers, position) + "-dev"
        top = Single("<", _bump(numbers, position, 1) + "-dev")
        return [top] if bottom == "0.0.0.0-dev" else [Single(">=", bottom), top]
    found = _HYPHEN.fullmatch(constraint)
    if found:
        return _hyphen(found)
    return None


def _hyphen(found: re.Match[str]) -> list[Constraint]:
    g = (None, *found.groups())  # numbered as Composer numbers them: from = 1, to = 10
    suffix = "" if (g[6] or g[8] or g[9]) else "-dev"
    low = Single(">=", normalize(found.group(1)) + suffix)
    to = normalize(found.group(10))
    if (_set(g[12]) and _set(g[13])) or g[15] or g[17] or g[18]:
        return [low, Single("<=", to)]
    position = 2 if _set(g[12]) else 1
    return [low, Single("<", _bump([g[11], g[12], g[13], g[14]], position, 1) + "-dev")]


def _comparison(constraint: str, modifier: str) -> Single:
    """`>= 8.0.0`, `<10.1.8`, `1.2.3`: Composer's implicit `-dev` on `<` and `>=`."""
    found = _COMPARISON.match(constraint)
    assert found is not None  # every text matches: both groups may be empty
    op, rest = found.group(1) or "=", found.group(2)
    try:
        version = normalize(rest)
    except VersionError:
        if rest.endswith("-dev") and re.fullmatch(r"[0-9a-zA-Z./-]+", rest):
            version = normalize("dev-" + rest[:-4])
        else:
            raise VersionError(
                f"{constraint!r} is not a version constraint Composer understands"
            ) from None
    if op not in ("=", "==") and modifier and stability(version) == "stable":
        version += "-" + modifier
    elif op in ("<", ">=") and not re.search("-" + MODIFIER + "$", rest.lower()):
        if not rest.startswith("dev-"):
            version += "-dev"
    return Single(_OPERATORS[op], version)


def stability(normalized: str) -> str:
    """dev, alpha, beta, RC or stable, of a normalized version."""
    if is_branch(normalized) or normalized.lower().endswith("-dev"):
        return "dev"
    found = re.search(r"-(alpha|beta|RC)", normalized)
    return found.group(1) if found else "stable"
