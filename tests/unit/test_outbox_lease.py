"""The outbox's state machine on SQLite and PostgreSQL: claims, leases, authors, upgrades.

Pushers claim a change with a lease before sending it; these tests drive the storage
functions directly, as two pushers on one cache would (`engine` runs them on both).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session

from triage.storage import changes, outbox
from triage.storage.db import init_schema
from triage.storage.models import OutboxEntry, OutboxState
from triage.storage.queries import upsert_tickets

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def upsert(engine: Engine, rows: list[dict[str, object]]) -> None:
    with engine.begin() as connection:
        upsert_tickets(connection, rows)


def fill(engine: Engine, ticket_row: object) -> None:
    upsert(engine, [ticket_row("SUP-1"), ticket_row("SUP-2")])  # type: ignore[operator]
    changes.record_comment(engine, "SUP-1", "one", actor="Ann", at=T0, author_id="acc-ann")
    changes.record_comment(engine, "SUP-1", "two", actor="Ann", at=T0, author_id="acc-ann")
    changes.record_comment(engine, "SUP-2", "three", actor="Bob", at=T0, author_id="acc-bob")


def claim(engine: Engine, owner: str, at: datetime = T0, **kw: object) -> OutboxEntry | None:
    return outbox.claim_next(engine, owner, now=at, lease=LEASE, **kw)  # type: ignore[arg-type]


def test_a_claimed_change_is_not_claimed_again_until_its_lease_lapses(
    engine: Engine, ticket_row: object
) -> None:
    fill(engine, ticket_row)

    first = claim(engine, "pusher-a")
    second = claim(engine, "pusher-b")

    assert first is not None and first.payload == {"body": "one"}
    assert first.lease_owner == "pusher-a"
    # "two" waits behind "one" (same ticket); "three" is free.
    assert second is not None and second.payload == {"body": "three"}
    assert claim(engine, "pusher-c") is None
    # pusher-a crashed: once its lease lapses, another pusher takes the change over.
    taken = claim(engine, "pusher-c", T0 + LEASE + timedelta(seconds=1))
    assert taken is not None and taken.id == first.id and taken.lease_owner == "pusher-c"
    assert not outbox.finish(engine, first.id or 0, "pusher-a", state=OutboxState.DONE)


def test_renewing_keeps_the_lease_and_finishing_lets_the_next_change_go(
    engine: Engine, ticket_row: object
) -> None:
    fill(engine, ticket_row)
    first = claim(engine, "pusher-a", authors=["acc-ann"])
    assert first is not None and first.id is not None

    assert outbox.renew_lease(engine, first.id, "pusher-a", T0 + 3 * LEASE)
    assert not outbox.renew_lease(engine, first.id, "pusher-b", T0 + 3 * LEASE)
    assert claim(engine, "pusher-b", T0 + 2 * LEASE, authors=["acc-ann"]) is None
    assert outbox.finish(engine, first.id, "pusher-a", state=OutboxState.DONE)
    after = claim(engine, "pusher-b", authors=["acc-ann"])

    assert after is not None and after.payload == {"body": "two"}
    with Session(engine) as session:
        done = session.get(OutboxEntry, first.id)
    assert done is not None and done.state is OutboxState.DONE and done.lease_owner is None


def test_a_pusher_claims_only_its_authors_changes(engine: Engine, ticket_row: object) -> None:
    fill(engine, ticket_row)

    bobs = claim(engine, "bob's app", authors=["acc-bob", ""])

    assert bobs is not None and bobs.author == "Bob" and bobs.payload == {"body": "three"}
    assert claim(engine, "bob's app", authors=["acc-bob", ""]) is None
    assert outbox.waiting_counts(engine, ["acc-bob", ""]) == (1, 2)


def test_an_old_outbox_upgrades_and_its_changes_go_to_whoever_pushes(
    engine: Engine, ticket_row: object
) -> None:
    upsert(engine, [ticket_row("OLD-1")])  # type: ignore[operator]
    changes.record_comment(engine, "OLD-1", "typed offline", actor="Me", at=T0)
    with engine.begin() as connection:
        for name in ("author", "author_id", "lease_owner", "lease_until"):
            connection.execute(sa.text(f'ALTER TABLE "outbox" DROP COLUMN "{name}"'))
    engine.dispose()

    init_schema(engine)

    old = claim(engine, "new version", authors=["acc-ann", ""])
    assert old is not None and old.payload == {"body": "typed offline"}
    assert (old.author, old.author_id, old.lease_owner) == ("", "", "new version")
