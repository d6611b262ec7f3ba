"""The cache on SQLite and PostgreSQL alike: schema, upserts, board reads, local changes."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from triage.storage import changes, queries
from triage.storage.columns import BoardColumn
from triage.storage.db import (
    DatabaseUnreachable,
    DataDirNotWritable,
    init_schema,
    make_engine,
    open_cache,
    sqlite_url,
)
from triage.storage.models import (
    AuditEntry,
    Comment,
    OutboxEntry,
    OutboxKind,
    OutboxState,
    StatusChange,
    Ticket,
    table_of,
)

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TicketRow = Callable[..., dict[str, Any]]


def count(engine: Engine, model: type[Any]) -> int:
    with engine.connect() as connection:
        query = sa.select(sa.func.count()).select_from(table_of(model))
        return int(connection.execute(query).scalar_one())


def upsert(engine: Engine, rows: list[dict[str, Any]]) -> int:
    with engine.begin() as connection:
        return queries.upsert_tickets(connection, rows)


def load(engine: Engine, key: str) -> Ticket:
    with Session(engine) as session:
        found = session.get(Ticket, key)
    assert found is not None, f"{key} is not in the cache"
    return found


def set_facts(engine: Engine, key: str, **facts: Any) -> None:
    with Session(engine) as session:
        ticket = session.get(Ticket, key)
        assert ticket is not None
        for name, value in facts.items():
            setattr(ticket, name, value)
        session.add(ticket)
        session.commit()


def comment_row(key: str, remote_id: str, body: str = "hello") -> dict[str, Any]:
    return {"ticket_key": key, "remote_id": remote_id, "author": "Ann", "body": body, "created": T0}


def change_row(key: str, remote_id: str, to_status: str = "In Progress") -> dict[str, Any]:
    return {
        "ticket_key": key,
        "remote_id": remote_id,
        "from_status": "To Do",
        "to_status": to_status,
        "author": "Ann",
        "at": T0,
        "source": "jira",
    }


# --- schema --------------------------------------------------------------------------------


def test_open_cache_creates_every_table_and_records_the_schema_version(engine: Engine) -> None:
    tables = set(sa.inspect(engine).get_table_names())

    assert {"ticket", "comment", "status_change", "outbox", "audit", "meta"} <= tables
    assert queries.get_meta(engine, "schema_version") == "1"
    assert queries.ticket_count(engine) == 0


def test_open_cache_twice_keeps_the_rows(db_url: str, ticket_row: TicketRow) -> None:
    first = open_cache(db_url)
    upsert(first, [ticket_row("SUP-1")])
    first.dispose()

    second = open_cache(db_url)
    try:
        assert queries.ticket_count(second) == 1
    finally:
        second.dispose()


# --- ticket upserts ------------------------------------------------------------------------


def test_upsert_inserts_then_updates_jira_fields_and_keeps_triage_facts(
    engine: Engine, ticket_row: TicketRow
) -> None:
    assert upsert(engine, [ticket_row("SUP-1", summary="Old", column=BoardColumn.TODO)]) == 1
    set_facts(
        engine,
        "SUP-1",
        branch="SUP-1-fix",
        branch_ahead=3,
        approved_by="Rev Iewer",
        test_site_passed=True,
        prod_deploy_passed=True,
    )
    changes.record_comment(engine, "SUP-1", "local note", actor="Me", at=T0)
    with Session(engine) as session:
        session.add(AuditEntry(actor="Me", action="deploy", ticket_key="SUP-1", at=T0))
        session.commit()

    later = T0 + timedelta(hours=2)
    updated = ticket_row(
        "SUP-1",
        summary="New",
        column=BoardColumn.CODE_REVIEW,
        jira_status="In Review",
        assignee="Ann Dev",
        labels=["site:acme"],
        updated=later,
        synced_at=later,
    )
    assert upsert(engine, [updated]) == 1

    ticket = load(engine, "SUP-1")
    assert (ticket.summary, ticket.column, ticket.jira_status) == (
        "New",
        BoardColumn.CODE_REVIEW,
        "In Review",
    )
    assert ticket.assignee == "Ann Dev"
    assert ticket.labels == ["site:acme"]
    assert ticket.updated == later
    assert ticket.branch == "SUP-1-fix"
    assert ticket.branch_ahead == 3
    assert ticket.approved_by == "Rev Iewer"
    assert ticket.test_site_passed is True
    assert ticket.prod_deploy_passed is True
    assert count(engine, OutboxEntry) == 1
    assert count(engine, AuditEntry) == 1
    assert count(engine, Comment) == 1
    assert queries.ticket_count(engine) == 1


def test_upsert_of_a_new_ticket_starts_with_no_facts(engine: Engine, ticket_row: TicketRow) -> None:
    upsert(engine, [ticket_row("SUP-9")])

    ticket = load(engine, "SUP-9")

    assert ticket.branch is None
    assert ticket.approved_by is None
    assert ticket.test_site_passed is False
    assert ticket.prod_deploy_passed is False


def test_upsert_of_nothing_writes_nothing(engine: Engine) -> None:
    assert upsert(engine, []) == 0
    assert queries.ticket_count(engine) == 0


def test_upsert_of_20000_rows_into_an_empty_then_a_full_cache(
    engine: Engine, ticket_row: TicketRow
) -> None:
    rows = [
        ticket_row(f"BULK-{n}", summary=f"ticket {n}", severity_rank=n % 5 + 1)
        for n in range(20_000)
    ]

    assert upsert(engine, rows) == 20_000
    assert queries.ticket_count(engine) == 20_000

    again = [{**row, "summary": row["summary"] + " (edited)"} for row in rows]
    again += [ticket_row(f"BULK-{n}") for n in range(20_000, 20_100)]
    assert upsert(engine, again) == 20_100

    assert queries.ticket_count(engine) == 20_100
    assert load(engine, "BULK-12345").summary == "ticket 12345 (edited)"
    assert load(engine, "BULK-12345").severity_rank == 12345 % 5 + 1


# --- board reads ---------------------------------------------------------------------------


def test_card_rows_shows_open_tickets_and_recent_done_in_board_order(
    engine: Engine, ticket_row: TicketRow
) -> None:
    day = timedelta(days=1)
    upsert(
        engine,
        [
            ticket_row("SUP-1", column=BoardColumn.TODO, severity_rank=3, updated=T0),
            ticket_row("SUP-2", column=BoardColumn.IN_PROGRESS, severity_rank=1, updated=T0 - day),
            ticket_row("SUP-3", column=BoardColumn.QA, severity_rank=1, updated=T0),
            ticket_row("SUP-4", column=BoardColumn.DONE, severity_rank=2, updated=T0 - 2 * day),
            ticket_row("SUP-5", column=BoardColumn.DONE, severity_rank=1, updated=T0 - 30 * day),
            ticket_row("SUP-6", column=None, jira_status="Triage", severity_rank=5, updated=T0),
            ticket_row("SUP-7", column=BoardColumn.TODO, severity_rank=3, updated=T0),
        ],
    )

    cards = queries.card_rows(engine, done_since=T0 - 7 * day)

    assert [card.key for card in cards] == ["SUP-3", "SUP-2", "SUP-4", "SUP-1", "SUP-7", "SUP-6"]
    unmapped = cards[-1]
    assert (unmapped.column, unmapped.jira_status) == (None, "Triage")
    assert cards[0].column is BoardColumn.QA


def test_card_rows_of_an_empty_cache_is_empty(engine: Engine) -> None:
    assert queries.card_rows(engine, done_since=T0) == []


# --- comments and status changes -----------------------------------------------------------


def test_comment_upserts_are_idempotent_and_update_the_body(
    engine: Engine, ticket_row: TicketRow
) -> None:
    upsert(engine, [ticket_row("SUP-1")])
    rows = [comment_row("SUP-1", "100"), comment_row("SUP-1", "101", "second")]

    for _ in range(2):
        with engine.begin() as connection:
            assert queries.upsert_comments(connection, rows) == 2
    with engine.begin() as connection:
        queries.upsert_comments(connection, [comment_row("SUP-1", "100", "edited in Jira")])

    with Session(engine) as session:
        comments = queries.comments_of(session, "SUP-1")
    assert sorted((c.remote_id, c.body) for c in comments) == [
        ("100", "edited in Jira"),
        ("101", "second"),
    ]


def test_status_change_upserts_are_idempotent(engine: Engine, ticket_row: TicketRow) -> None:
    upsert(engine, [ticket_row("SUP-1")])
    rows = [change_row("SUP-1", "500.0"), change_row("SUP-1", "501.0", "Code Review")]

    for _ in range(3):
        with engine.begin() as connection:
            queries.upsert_status_changes(connection, rows)

    with Session(engine) as session:
        history = queries.history_of(session, "SUP-1")
    assert [(c.remote_id, c.to_status) for c in history] == [
        ("500.0", "In Progress"),
        ("501.0", "Code Review"),
    ]
    assert count(engine, StatusChange) == 2


# --- local changes and the outbox ----------------------------------------------------------


def test_record_move_changes_the_ticket_and_queues_it(
    engine: Engine, ticket_row: TicketRow
) -> None:
    upsert(engine, [ticket_row("SUP-1", column=BoardColumn.TODO, jira_status="Open")])
    at = T0 + timedelta(hours=1)

    changes.record_move(
        engine, "SUP-1", BoardColumn.NEEDS_WORK, actor="Me", comment="waiting on assets", at=at
    )

    ticket = load(engine, "SUP-1")
    assert (ticket.column, ticket.updated) == (BoardColumn.NEEDS_WORK, at)
    with Session(engine) as session:
        (entry,) = queries.pending_changes(session, "SUP-1")
        (change,) = queries.history_of(session, "SUP-1")
        (comment,) = queries.comments_of(session, "SUP-1")
    assert entry.kind is OutboxKind.MOVE
    assert entry.state is OutboxState.PENDING
    assert entry.payload == {
        "to": "Needs Work",
        "from": "To Do",
        "from_status": "Open",
        "comment": "waiting on assets",
    }
    assert (change.from_status, change.to_status, change.source, change.override) == (
        "To Do",
        "Needs Work",
        "local",
        False,
    )
    assert (comment.author, comment.body, comment.remote_id) == ("Me", "waiting on assets", None)
    assert count(engine, AuditEntry) == 0


def test_record_move_with_override_approval_and_assignment(
    engine: Engine, ticket_row: TicketRow
) -> None:
    upsert(engine, [ticket_row("SUP-1", column=BoardColumn.CODE_REVIEW, site="acme")])

    changes.record_move(
        engine,
        "SUP-1",
        BoardColumn.QA,
        actor="Me",
        override_reason="hotfix, reviewed on a call",
        approved_by="Me",
        assign_to=("Me", "acc-me"),
        at=T0,
    )

    ticket = load(engine, "SUP-1")
    assert (ticket.column, ticket.approved_by) == (BoardColumn.QA, "Me")
    assert (ticket.assignee, ticket.assignee_id) == ("Me", "acc-me")
    with Session(engine) as session:
        kinds = [e.kind for e in queries.pending_changes(session, "SUP-1")]
        (change,) = queries.history_of(session, "SUP-1")
        audit = session.exec(select(AuditEntry)).one()
    assert kinds == [OutboxKind.MOVE, OutboxKind.ASSIGN]
    assert change.override is True
    assert (audit.action, audit.actor, audit.ticket_key, audit.site) == (
        "override-move",
        "Me",
        "SUP-1",
        "acme",
    )
    assert "Code Review → QA" in audit.detail
    assert "hotfix, reviewed on a call" in audit.detail


def test_record_comment_stores_and_queues_it(engine: Engine, ticket_row: TicketRow) -> None:
    upsert(engine, [ticket_row("SUP-1")])
    at = T0 + timedelta(minutes=5)

    comment_id = changes.record_comment(engine, "SUP-1", "Looked at the logs", actor="Me", at=at)

    with Session(engine) as session:
        (stored,) = queries.comments_of(session, "SUP-1")
        (entry,) = queries.pending_changes(session, "SUP-1")
    assert stored.id == comment_id
    assert (stored.body, stored.author, stored.created) == ("Looked at the logs", "Me", at)
    assert (entry.kind, entry.payload) == (OutboxKind.COMMENT, {"body": "Looked at the logs"})
    assert load(engine, "SUP-1").updated == at


def test_record_assign_changes_the_assignee_and_queues_it(
    engine: Engine, ticket_row: TicketRow
) -> None:
    upsert(engine, [ticket_row("SUP-1", assignee="Old Owner", assignee_id="acc-old")])

    changes.record_assign(engine, "SUP-1", ("Me", "acc-me"), actor="Me", at=T0)

    ticket = load(engine, "SUP-1")
    assert (ticket.assignee, ticket.assignee_id) == ("Me", "acc-me")
    with Session(engine) as session:
        (entry,) = queries.pending_changes(session, "SUP-1")
    assert entry.kind is OutboxKind.ASSIGN
    assert entry.payload == {
        "assignee": "Me",
        "account_id": "acc-me",
        "previous": "Old Owner",
        "to_author": True,
    }


def test_a_change_to_an_unknown_ticket_says_so(engine: Engine) -> None:
    with pytest.raises(changes.UnknownTicket, match="SUP-404 is not in the cache"):
        changes.record_comment(engine, "SUP-404", "hello", actor="Me")
    assert count(engine, OutboxEntry) == 0


class Boom(RuntimeError):
    """Raised inside a transaction after its rows were written, before its commit."""


@pytest.fixture
def fail_before_commit(engine: Engine) -> Iterator[list[int]]:
    """Make every commit of the cache fail just before it; yields the outbox rows seen then."""
    seen: list[int] = []

    def boom(connection: sa.Connection) -> None:
        query = sa.select(sa.func.count()).select_from(table_of(OutboxEntry))
        seen.append(int(connection.execute(query).scalar_one()))
        raise Boom("the process died before the commit")

    sa.event.listen(engine, "commit", boom)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "commit", boom)


CHANGES: dict[str, Callable[[Engine], object]] = {
    "move": lambda engine: changes.record_move(
        engine,
        "SUP-1",
        BoardColumn.QA,
        actor="Me",
        comment="approved",
        override_reason="on purpose",
        approved_by="Me",
        assign_to=("Me", "acc-me"),
    ),
    "comment": lambda engine: changes.record_comment(engine, "SUP-1", "a note", actor="Me"),
    "assign": lambda engine: changes.record_assign(engine, "SUP-1", ("Me", "acc"), actor="Me"),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_that_fails_before_commit_writes_nothing(
    engine: Engine, ticket_row: TicketRow, change: str, request: pytest.FixtureRequest
) -> None:
    upsert(engine, [ticket_row("SUP-1", column=BoardColumn.CODE_REVIEW, assignee="Ann")])
    before = load(engine, "SUP-1")
    seen: list[int] = request.getfixturevalue("fail_before_commit")

    with pytest.raises(Boom):
        CHANGES[change](engine)

    assert seen and seen[0] >= 1, "the outbox row was written, then lost"
    after = load(engine, "SUP-1")
    assert after.model_dump() == before.model_dump()
    for model in (OutboxEntry, Comment, StatusChange, AuditEntry):
        assert count(engine, model) == 0, model.__name__


# --- datetimes -----------------------------------------------------------------------------


def test_datetimes_come_back_aware_in_utc(engine: Engine, ticket_row: TicketRow) -> None:
    new_york = timezone(timedelta(hours=-5))
    created = datetime(2026, 11, 20, 10, 0, 0, 123456, tzinfo=new_york)
    upsert(engine, [ticket_row("SUP-1", created=created, updated=created, resolved=None)])
    changes.record_comment(engine, "SUP-1", "note", actor="Me", at=created)

    ticket = load(engine, "SUP-1")
    (card,) = queries.card_rows(engine, done_since=T0)
    with Session(engine) as session:
        (comment,) = queries.comments_of(session, "SUP-1")
        (entry,) = queries.pending_changes(session, "SUP-1")

    expected = datetime(2026, 11, 20, 15, 0, 0, 123456, tzinfo=UTC)
    for value in (ticket.created, ticket.updated, card.updated, comment.created, entry.created):
        assert value == expected
        assert value.tzinfo is UTC
    assert ticket.resolved is None


# --- schema upgrades -----------------------------------------------------------------------


def _insert_survivors(engine: Engine, ticket_row: TicketRow) -> None:
    upsert(engine, [ticket_row("OLD-1", summary="from an old version")])
    changes.record_comment(engine, "OLD-1", "typed offline", actor="Me", at=T0)
    with Session(engine) as session:
        session.add(AuditEntry(actor="Me", action="deploy", ticket_key="OLD-1", at=T0))
        session.commit()


def _drop_columns(engine: Engine, table: str, columns: tuple[str, ...]) -> None:
    with engine.begin() as connection:
        for name in columns:
            # A cache from before the column had no index on it either.
            connection.execute(sa.text(f'DROP INDEX IF EXISTS "ix_{table}_{name}"'))
            connection.execute(sa.text(f'ALTER TABLE "{table}" DROP COLUMN "{name}"'))


OLD_TICKET_LACKS = ("branch", "branch_ahead", "test_site_passed", "synced_at")


def test_init_schema_upgrades_an_old_cache_and_keeps_its_rows(
    engine: Engine, ticket_row: TicketRow
) -> None:
    _insert_survivors(engine, ticket_row)
    _drop_columns(engine, "ticket", OLD_TICKET_LACKS)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TABLE status_change"))
    engine.dispose()
    old = {c["name"] for c in sa.inspect(engine).get_columns("ticket")}
    assert not old & set(OLD_TICKET_LACKS)

    init_schema(engine)

    inspector = sa.inspect(engine)
    present = {c["name"] for c in inspector.get_columns("ticket")}
    assert set(OLD_TICKET_LACKS) <= present
    assert "ix_ticket_synced_at" in {index["name"] for index in inspector.get_indexes("ticket")}
    assert "status_change" in inspector.get_table_names()
    ticket = load(engine, "OLD-1")
    assert ticket.summary == "from an old version"
    assert (ticket.branch, ticket.branch_ahead, ticket.synced_at) == (None, None, None)
    assert ticket.test_site_passed is False
    with Session(engine) as session:
        (entry,) = queries.pending_changes(session, "OLD-1")
        audit = session.exec(select(AuditEntry)).one()
    assert (entry.kind, entry.payload) == (OutboxKind.COMMENT, {"body": "typed offline"})
    assert (audit.action, audit.ticket_key) == ("deploy", "OLD-1")
    # The upgraded cache takes new writes in the restored columns.
    changes.record_move(engine, "OLD-1", BoardColumn.IN_PROGRESS, actor="Me", at=T0)
    set_facts(engine, "OLD-1", branch="OLD-1-work", test_site_passed=True)
    assert load(engine, "OLD-1").branch == "OLD-1-work"


@pytest.mark.parametrize("column", ["labels", "created"])
def test_init_schema_restores_not_null_columns_without_a_scalar_default(
    engine: Engine, ticket_row: TicketRow, column: str
) -> None:
    _insert_survivors(engine, ticket_row)
    _drop_columns(engine, "ticket", (column,))
    engine.dispose()

    init_schema(engine)

    ticket = load(engine, "OLD-1")
    assert column in {c["name"] for c in sa.inspect(engine).get_columns("ticket")}
    assert ticket.summary == "from an old version"
    assert count(engine, OutboxEntry) == 1


# --- engines that cannot work --------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_an_unreachable_postgres_says_to_fix_triage_database_url() -> None:
    url = f"postgresql+psycopg://triage:s3cret-pw@127.0.0.1:{_closed_port()}/triage"

    with pytest.raises(DatabaseUnreachable) as caught:
        make_engine(url)

    message = str(caught.value)
    assert "TRIAGE_DATABASE_URL" in message
    assert "127.0.0.1" in message
    assert "s3cret-pw" not in message
    assert "\n" not in message


def test_an_unwritable_data_directory_says_to_set_triage_data_dir(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a regular file where a directory should be")
    folder = blocker / "sub"

    with pytest.raises(DataDirNotWritable) as caught:
        make_engine(sqlite_url(folder / "triage.db"))

    assert str(folder) in str(caught.value)
    assert "TRIAGE_DATA_DIR" in str(caught.value)
    assert not folder.exists()
