"""What a clone does about personal data: Drupal's sanitizing, then a scan for any address left.

The sanitizing covers what `drush sql:sanitize` covers, for the tables the database has:
accounts (mail, init and password of users_field_data), sessions (emptied), comments (name,
mail, homepage and hostname of comment_field_data) and the accounts' fields (the text values
of the user__field_* tables); then the site's own `sanitize_sql` from sites.toml.

The check does not guess where personal data lives: it scans every text column (char,
varchar, *text) of every table in the database for an e-mail address, in SQL inside the db
container (one UNION query, one pass per table, a LIKE '%@%' before the REGEXP so that text
without an @ costs one byte search). Allowed are the sanitized addresses (any address at
SANITIZED_DOMAIN) and the site's `allowed_emails` and `allowed_email_domains`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from triage.core.sites.inventory import Site
from triage.core.sites.site_env import SiteEnv

SANITIZED_DOMAIN = "localhost.localdomain"
UNUSABLE_PASSWORD = "!sanitized-by-triage"
"""Not a hash any password matches: every account needs a new password on a clone."""
TEXT_TYPES = ("char", "varchar", "tinytext", "text", "mediumtext", "longtext")
COMMENT_VALUES = {
    "name": "IF(uid = 0, 'Anonymous', CONCAT('User', uid))",
    "mail": f"IF(uid = 0, '', CONCAT('user+', uid, '@{SANITIZED_DOMAIN}'))",
    "homepage": "'http://example.com'",
    "hostname": "'127.0.0.1'",
}
"""What drush's sanitizing sets in comment_field_data, and the commenter's address (hostname)."""
_FIELD_TABLE = re.compile(r"user__field_[A-Za-z0-9_]+")
_FIELD_KEYS = {"bundle", "langcode"}

_LOCAL = "[a-z0-9._%+-]"
_DOMAIN = "[a-z0-9-]+(?:[.][a-z0-9-]+)*[.][a-z]{2,}"
_END = "(?![a-z0-9-]|[.][a-z0-9])"
"""Where an address ends: not inside a longer name (a closing full stop is no part of it)."""

Columns = Mapping[str, Sequence[str]]
"""The text columns of each table: {table: [column, …]}."""


def text_columns(env: SiteEnv) -> dict[str, list[str]]:
    """{table: its text columns} of every base table of the environment's database."""
    listed = ", ".join(f"'{kind}'" for kind in TEXT_TYPES)
    rows = env.sql(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c"
        " JOIN information_schema.tables t ON t.table_schema = c.table_schema"
        " AND t.table_name = c.table_name AND t.table_type = 'BASE TABLE'"
        f" WHERE c.table_schema = DATABASE() AND c.data_type IN ({listed})"
        " ORDER BY c.table_name, c.ordinal_position",
        read_only=True,
    )
    columns: dict[str, list[str]] = {}
    for line in rows.splitlines():
        table, column = line.split("\t")
        columns.setdefault(table, []).append(column)
    return columns


def _ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def default_statements(columns: Columns) -> list[str]:
    """Drupal's sanitizing, for the tables of `columns` that the database has."""
    statements = []
    if "users_field_data" in columns:
        mail = f"CONCAT('user+', uid, '@{SANITIZED_DOMAIN}')"
        statements.append(
            f"UPDATE users_field_data SET mail = {mail}, init = {mail},"
            f" pass = '{UNUSABLE_PASSWORD}' WHERE uid > 0"
        )
    if "sessions" in columns:
        statements.append("TRUNCATE TABLE sessions")
    if "comment_field_data" in columns:
        sets = [f"{name} = {value}" for name, value in COMMENT_VALUES.items()
                if name in columns["comment_field_data"]]  # fmt: skip
        statements += [f"UPDATE comment_field_data SET {', '.join(sets)}"] if sets else []
    for table, names in columns.items():
        values = [n for n in names if n not in _FIELD_KEYS and not n.endswith("_format")]
        if _FIELD_TABLE.fullmatch(table) and values:
            statements.append(f"UPDATE {_ident(table)} SET {', '.join(map(_field_value, values))}")
    return statements


def _field_value(name: str) -> str:
    """An account's field value: an address becomes a sanitized one, other text a placeholder."""
    column = _ident(name)
    return (
        f"{column} = IF({column} LIKE '%@%', CONCAT('user+', entity_id, '@{SANITIZED_DOMAIN}'),"
        " CONCAT('sanitized ', entity_id))"
    )


def address_pattern(site: Site) -> str:
    """A REGEXP (PCRE, as MariaDB's) matching an address that is neither sanitized nor allowed.

    Built from validated names only (letters, digits, `._%+-`), so it needs no SQL quoting.
    """
    domains = [SANITIZED_DOMAIN, *site.allowed_email_domains]
    domain_names = "|".join(_literal(domain) for domain in domains)
    not_allowed_domain = f"(?!(?:[a-z0-9-]+[.])*(?:{domain_names}){_END})"
    not_allowed_address = ""
    if site.allowed_emails:
        addresses = "|".join(_literal(address) for address in site.allowed_emails)
        not_allowed_address = f"(?!(?:{addresses}){_END})"
    return f"(?i)(?<!{_LOCAL}){not_allowed_address}{_LOCAL}+@{not_allowed_domain}{_DOMAIN}"


def _literal(text: str) -> str:
    """A name as a pattern: its dots literal, its + escaped by a class."""
    return text.lower().replace(".", "[.]").replace("+", "[+]").replace("%", "[%]")


def scan_query(columns: Columns, pattern: str) -> str:
    """One SELECT per table, UNIONed: the table and its columns' counts of rows that match."""
    selects = []
    for table, names in columns.items():
        quoted = [_ident(name) for name in names]
        counts = ", ".join(
            f"IFNULL(SUM({name} LIKE '%@%' AND {name} REGEXP '{pattern}'), 0)" for name in quoted
        )
        label = table.replace("'", "''").replace("\\", "\\\\")
        selects.append(f"SELECT '{label}', CONCAT_WS(',', {counts}) FROM {_ident(table)}")
    return "\nUNION ALL ".join(selects)


def find_addresses(env: SiteEnv, columns: Columns) -> dict[str, int]:
    """{table.column: rows} of the columns holding an address neither sanitized nor allowed."""
    if not columns:
        return {}
    if env.reporter.dry_run:  # nothing was imported or sanitized: there is nothing to scan
        env.reporter.log(f"scan every text column of {len(columns)} tables for e-mail addresses")
        return {}
    found: dict[str, int] = {}
    rows = env.sql(scan_query(columns, address_pattern(env.site)), read_only=True)
    for line in rows.splitlines():
        table, counts = line.split("\t")
        for name, count in zip(columns[table], counts.split(","), strict=True):
            if int(count):
                found[f"{table}.{name}"] = int(count)
    return found
