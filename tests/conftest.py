"""Shared fixtures: a clean environment, the cache on SQLite and PostgreSQL, ticket rows."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from postgres import (
    INSTALL_HINT,
    PostgresServer,
    PostgresUnavailable,
    admin_conninfo,
    find_bindir,
    sqlalchemy_url,
)
from sqlalchemy.engine import Engine, make_url

from triage.storage.db import open_cache, sqlite_url

TicketRow = Callable[..., dict[str, Any]]


@pytest.fixture(autouse=True)
def _no_triage_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's TRIAGE_* variables must not leak into what the tests see."""
    for name in list(os.environ):
        if name.startswith("TRIAGE_") and not name.startswith("TRIAGE_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database for the session: TRIAGE_TEST_POSTGRES_URL, or a throwaway server."""
    given = os.environ.get("TRIAGE_TEST_POSTGRES_URL")
    if given:
        yield sqlalchemy_url(given)
        return
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    server = PostgresServer(bindir)
    try:
        url = server.start()
    except PostgresUnavailable as error:
        server.stop()
        pytest.fail(str(error))
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """The URL of a fresh, empty cache: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "cache.db")
        return
    base: str = request.getfixturevalue("postgres_url")
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin_conninfo(base), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_conninfo(base), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """The cache at `db_url`, schema created; disposed after the test."""
    cache = open_cache(db_url)
    try:
        yield cache
    finally:
        cache.dispose()


T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def ticket_row() -> TicketRow:
    """A factory of complete ticket rows as the sync writes them (Jira's fields only)."""

    def make(key: str, **fields: Any) -> dict[str, Any]:
        row: dict[str, Any] = {
            "key": key,
            "jira_id": key.split("-")[-1],
            "project": key.split("-")[0],
            "summary": f"Summary of {key}",
            "description": "",
            "issue_type": "Bug",
            "severity": "Medium",
            "severity_rank": 3,
            "urgency": None,
            "jira_status": "To Do",
            "column": None,
            "assignee": None,
            "assignee_id": None,
            "reporter": "Rita Reporter",
            "site": None,
            "client": None,
            "labels": [],
            "created": T0,
            "updated": T0,
            "resolved": None,
            "package": None,
            "service_desk_sla": None,
            "synced_at": T0,
        }
        unknown = set(fields) - set(row)
        if unknown:
            raise KeyError(f"not a Jira field of a ticket: {sorted(unknown)}")
        row.update(fields)
        if "column" in fields and "jira_status" not in fields and fields["column"] is not None:
            row["jira_status"] = fields["column"].value
        return row

    return make
