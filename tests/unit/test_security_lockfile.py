"""composer.lock read as data: packages and packages-dev, Drupal's extra fields, bad files."""

from __future__ import annotations

import json

import pytest

from triage.core.security.lockfile import LockedPackage, LockfileError, parse_lock


def test_reads_packages_with_drupal_extra_fields() -> None:
    lock = {
        "packages": [
            {"name": "drupal/core", "version": "10.4.8",
             "extra": {"drupal": {"version": "10.4.8"}}},
            {"name": "drupal/token", "version": "1.13.0", "extra": {"drupal": {
                "version": "8.x-1.13", "security-coverage": {"status": "covered"}}}},
            {"name": "drupal/old", "version": "2.0.0-beta1", "extra": {"drupal": {
                "version": "8.x-2.0-beta1",
                "security-coverage": {"status": "not-covered", "message": "Beta"}}}},
        ],
        "packages-dev": [{"name": "drush/drush", "version": "13.3.1"}],
    }  # fmt: skip
    found = parse_lock(json.dumps(lock))
    assert found == [
        LockedPackage("drupal/core", "10.4.8", "10.4.8", ""),
        LockedPackage("drupal/old", "2.0.0-beta1", "8.x-2.0-beta1", "not-covered"),
        LockedPackage("drupal/token", "1.13.0", "8.x-1.13", "covered"),
        LockedPackage("drush/drush", "13.3.1"),
    ]


def test_skips_entries_that_are_not_packages_and_cleans_text() -> None:
    lock = {
        "packages": [
            "junk", {"name": "x/no-version"}, {"version": "1.0"},
            {"name": "x/evil", "version": "1.0\x1b[31m", "extra": {"drupal": "not a table"}},
        ],
        "packages-dev": None,
    }  # fmt: skip
    assert parse_lock(json.dumps(lock)) == [LockedPackage("x/evil", "1.0")]


@pytest.mark.parametrize("text", ["", "{", "[]", '{"packages": {}}', '"text"'])
def test_refuses_what_is_not_a_lock(text: str) -> None:
    with pytest.raises(LockfileError):
        parse_lock(text)
