"""Credentials are masked wherever text is shown, logged or sent: one function, every shape."""

from __future__ import annotations

import pytest

from triage.core.redact import mask


@pytest.mark.parametrize(
    ("text", "secret", "kept"),
    [
        ("https://TOKEN123@git.example.com/a.git", "TOKEN123", "git.example.com/a.git"),
        ("https://:Pw0rd@git.example.com/a.git", "Pw0rd", "git.example.com/a.git"),
        ("https://alice:hunter2@jira.example.com", "hunter2", "alice"),
        ("https://alice:p@ss@w0rd@jira.example.com/x", "ss@w0rd", "jira.example.com/x"),
        ("postgresql+psycopg://u:s3cr@t@db.example/triage", "s3cr", "db.example/triage"),
        ("postgresql+psycopg://u@db/triage?password=hunter2&sslmode=require", "hunter2", "sslmode"),
        ("postgresql://db/t?sslmode=require&PASSWORD=hunter2", "hunter2", "sslmode=require"),
        ("https://h/api?access_token=abc123def", "abc123def", "https://h/api"),
        ("Authorization: Bearer eyJhbGciOi.xyz", "eyJhbGciOi", "Authorization"),
    ],
)
def test_every_credential_shape_is_masked(text: str, secret: str, kept: str) -> None:
    shown = mask(text)
    assert secret not in shown
    assert kept in shown
    assert "***" in shown


def test_a_url_in_a_sentence_keeps_the_rest_of_the_sentence() -> None:
    text = "cannot reach https://bot:tok@git.example.com/site.git (timeout): mail bob@example.com"
    shown = mask(text)
    assert shown == (
        "cannot reach https://bot:***@git.example.com/site.git (timeout): mail bob@example.com"
    )


def test_text_without_credentials_is_unchanged() -> None:
    for text in (
        "https://jira.example.com/browse/SUP-1?jql=a%3Db",
        "git@github.com:agency/site.git",
        "ssh://git@host/repo.git",
        "mail bob@example.com about SUP-1",
        "",
    ):
        assert mask(text) == text


def test_masking_twice_changes_nothing_more() -> None:
    once = mask("https://u:p@h/x?token=t")
    assert mask(once) == once
