"""The clone's sanitizing statements, its address pattern, and the allow-list in sites.toml.

The pattern runs in MariaDB (PCRE); the constructs it uses (an inline (?i), a one-character
lookbehind, lookaheads, classes) mean the same in Python's `re`, which checks it here. The
same pattern on real containers: tests/integration/test_clone.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from triage.core.errors import ConfigError
from triage.core.sites.inventory import Site, load_inventory
from triage.core.sites.sanitize import address_pattern, default_statements, scan_query

SITE = """
[sites.acme]
name = "Acme"
client = "Acme Corp"
repo = "/srv/git/acme.git"
checkout = "~/sites/acme"
{extra}
[sites.acme.envs.prod]
web_container = "acme-prod-web"
db_container = "acme-prod-db"
"""


def _site(tmp_path: Path, extra: str = "") -> Site:
    path = tmp_path / "sites.toml"
    path.write_text(SITE.format(extra=extra))
    return load_inventory(path).site("acme")


@pytest.fixture
def pattern(tmp_path: Path) -> re.Pattern[str]:
    site = _site(
        tmp_path,
        'allowed_emails = ["Sales@Acme.example"]\nallowed_email_domains = ["agency.example"]',
    )
    return re.compile(address_pattern(site))


@pytest.mark.parametrize(
    "text",
    [
        "anna.kowalski@gmail.com",
        "Write to Lisa.Nguyen@ACME-SHOP.example.",
        "<a href='mailto:bob.r+orders@mail.example.co.uk'>Bob</a>",
        "presales@acme.example",  # not the allowed sales@
        "sales@acme.examples",
        "someone@notagency.example",
        "someone@agency.example.evil.com",
        "user+1@localhost.localdomain.evil.com",
        "sanitized user+1@localhost.localdomain, and also eve@gmail.com",
    ],
)
def test_an_address_neither_sanitized_nor_allowed_is_found(
    pattern: re.Pattern[str], text: str
) -> None:
    assert pattern.search(text)


@pytest.mark.parametrize(
    "text",
    [
        "user+12@localhost.localdomain",
        "COMMENT+3@LOCALHOST.LOCALDOMAIN",
        "Questions? Write to sales@acme.example.",
        "SALES@acme.example and sales@acme.example",
        "dana@agency.example, ops@eu.agency.example",
        "no address here @ all, not even a@b or @example.com",
        "a version: drupal/core@10.3.1",
    ],
)
def test_sanitized_and_allowed_addresses_pass(pattern: re.Pattern[str], text: str) -> None:
    assert not pattern.search(text)


def test_the_pattern_needs_no_sql_quoting(pattern: re.Pattern[str]) -> None:
    assert "'" not in pattern.pattern and "\\" not in pattern.pattern


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ('allowed_emails = ["sales"]', "'sales' is not an e-mail address"),
        ('allowed_emails = ["x\'@acme.example"]', "is not an e-mail address"),
        ('allowed_email_domains = ["*.agency.example"]', "is not a mail domain"),
        ('allowed_email_domains = ["@agency.example"]', "is not a mail domain"),
    ],
)
def test_a_wrong_allow_list_entry_is_one_sentence(tmp_path: Path, extra: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _site(tmp_path, extra)
    message = str(caught.value)
    assert "site acme" in message and says in message and "\n" not in message


def test_drupals_sanitizing_covers_the_tables_there_are() -> None:
    statements = default_statements(
        {
            "users_field_data": ["langcode", "name", "pass", "mail", "init"],
            "sessions": ["sid", "hostname"],
            "comment_field_data": ["subject", "name", "mail", "hostname"],
            "user__field_phone": ["bundle", "langcode", "field_phone_value"],
            "user__field_bio": ["bundle", "langcode", "field_bio_value", "field_bio_format"],
            "node__body": ["bundle", "body_value"],
        }
    )
    text = "\n".join(statements)
    assert statements[0].startswith("UPDATE users_field_data SET mail = CONCAT('user+', uid")
    assert "TRUNCATE TABLE sessions" in statements
    assert (
        "UPDATE comment_field_data SET name = IF(uid = 0, 'Anonymous', CONCAT('User', uid)),"
        " mail = IF(uid = 0, '', CONCAT('user+', uid, '@localhost.localdomain')),"
        " hostname = '127.0.0.1'"
    ) in statements  # homepage: not a column of this table
    assert "UPDATE `user__field_phone` SET `field_phone_value` = " in text
    assert "`field_bio_value` = " in text and "field_bio_format" not in text
    assert "bundle" not in text and "node__body" not in text
    assert default_statements({"node__body": ["body_value"]}) == []


def test_the_scan_reads_each_table_once() -> None:
    query = scan_query({"a": ["x", "y"], "b": ["z"]}, "p")
    assert query.count("SELECT") == 2 and query.count("UNION ALL") == 1
    assert "FROM `a`" in query and "`y` LIKE '%@%' AND `y` REGEXP 'p'" in query
