"""Composer's version rules, checked against composer/semver's own test cases (semver_cases.json,
transcribed from its SemverTest and VersionParserTest data providers) and Drupal's quirks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from triage.core.security.constraints import Single, parse, satisfies
from triage.core.security.versions import VersionError, compare, normalize, normalize_branch

CASES: dict[str, Any] = json.loads((Path(__file__).parent / "semver_cases.json").read_text())


@pytest.mark.parametrize(("expected", "version", "constraint"), CASES["satisfies"])
def test_satisfies_as_composer_does(expected: bool, version: str, constraint: str) -> None:
    assert satisfies(version, constraint) is expected


@pytest.mark.parametrize(("version", "expected"), CASES["normalize"])
def test_normalizes_as_composer_does(version: str, expected: str) -> None:
    assert normalize(version) == expected


@pytest.mark.parametrize(("version",), CASES["normalize_fails"])
def test_refuses_what_composer_refuses(version: str) -> None:
    with pytest.raises(VersionError):
        normalize(version)


@pytest.mark.parametrize(("branch", "expected"), CASES["normalize_branch"])
def test_branches_as_composer_names_them(branch: str, expected: str) -> None:
    assert normalize_branch(branch) == expected


@pytest.mark.parametrize(("constraint", "expected"), CASES["parse"])
def test_parses_constraints_as_composer_does(constraint: str, expected: str) -> None:
    assert str(parse(constraint)) == expected


@pytest.mark.parametrize(("constraint",), CASES["parse_fails"])
def test_refuses_constraints_composer_refuses(constraint: str) -> None:
    with pytest.raises(VersionError):
        parse(constraint)


@pytest.mark.parametrize(
    ("version", "constraint", "expected"),
    [
        # Drupal contrib versions: 8.x-1.13 is 1.13.0.
        ("8.x-1.13", ">=1.0 <1.14", True),
        ("8.x-1.14", ">=1.0 <1.14", False),
        ("8.x-2.0-beta3", "<2.0", False),  # `<` takes an implicit -dev
        ("8.x-2.0-beta3", "<=2.0", True),
        ("8.x-1.x-dev", "~1.0", True),  # a numeric branch has its place
        ("8.x-1.x-dev", "^2", False),
        # dev- branches never match a numeric constraint, only themselves.
        ("dev-main", ">=0", False),
        ("dev-main", "<99", False),
        ("dev-main", "dev-main", True),
        ("dev-main", "*", True),
        # What advisories write: spaces after operators, | and ||, wildcards.
        ("10.1.7", ">= 8.0.0 <10.1.8 || >=10.2.0 <10.2.2", True),
        ("10.1.8", ">= 8.0.0 <10.1.8 || >=10.2.0 <10.2.2", False),
        ("10.2.1", ">=8.0.0,<10.1.8|>=10.2.0,<10.2.2", True),
        ("11.2.3", "11.2.*", True),
        ("11.3.0", "11.2.*", False),
        ("10.1.8-beta1", "<10.1.8", False),
        ("10.1.8-beta1", "<=10.1.8", True),
        ("10.1.8-RC1", ">10.1.8", False),
        ("10.1.8-RC1", ">=10.1.8", True),  # `>=` takes an implicit -dev
        ("10.1.8-patch1", ">10.1.8", True),
        ("7.100.0", "7.0 - 7.99", False),
        ("7.99.5", "7.0 - 7.99", True),
    ],
)
def test_drupal_and_advisory_spellings(version: str, constraint: str, expected: bool) -> None:
    assert satisfies(version, constraint) is expected


def test_orders_stabilities_as_php_does() -> None:
    order = ["1.0.0.0-dev", "1.0.0.0-alpha1", "1.0.0.0-beta2", "1.0.0.0-RC1", "1.0.0.0"]
    order.append("1.0.0.0-patch1")
    for lower, higher in zip(order, order[1:], strict=False):
        assert compare(lower, higher) == -1
        assert compare(higher, lower) == 1
    assert compare("1.0.0.0", "1.0.0.0") == 0


@pytest.mark.parametrize(("expected", "op", "version", "provided"), CASES["constraint_matches"])
def test_compares_as_composer_constraints_do(
    expected: bool, op: str, version: str, provided: str
) -> None:
    # ConstraintTest's pairs where one side is `==`: a version against one comparison.
    op = {"=": "==", "<>": "!="}.get(op, op)
    assert Single(op, version).matches(provided) is expected
