"""The SQLite cache's writer lock: held from a transaction's first write to its end, only then.

Threads of one process queue on it instead of sleeping in SQLite's busy handler; these
tests check when it is held and that every way a transaction ends gives it back.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from triage.storage import sqlite_writes
from triage.storage.db import open_cache, sqlite_url
from triage.storage.models import Meta, table_of

META = table_of(Meta)


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[tuple[Engine, threading.Lock]]:
    engine = open_cache(sqlite_url(tmp_path / "cache.db"))
    try:
        yield engine, sqlite_writes._LOCKS[os.path.realpath(tmp_path / "cache.db")]
    finally:
        engine.dispose()


def write(connection: sa.Connection, value: str) -> None:
    connection.execute(sa.insert(META).values(key=f"k{value}", value=value))


def test_the_lock_is_held_from_the_first_write_to_the_commit(
    cache: tuple[Engine, threading.Lock],
) -> None:
    engine, lock = cache
    with engine.begin() as connection:
        connection.execute(sa.select(META))
        assert not lock.locked(), "a read does not take it"
        write(connection, "1")
        assert lock.locked()
        write(connection, "2")
    assert not lock.locked()
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(META)).scalar() == 3


def test_a_rollback_an_error_and_a_closed_connection_give_it_back(
    cache: tuple[Engine, threading.Lock],
) -> None:
    engine, lock = cache
    with engine.connect() as connection:
        write(connection, "1")
        connection.rollback()
    assert not lock.locked()
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as connection:
        write(connection, "2")
        write(connection, "2")
    assert not lock.locked()
    with engine.connect() as connection:
        write(connection, "3")  # never committed: the pool rolls it back on return
    assert not lock.locked()
    raw = engine.raw_connection()
    raw.cursor().execute("SELECT count(*) FROM meta")
    assert not lock.locked(), "a read does not take it"
    raw.cursor().execute("INSERT INTO meta (key, value) VALUES ('k4', '4')")
    assert lock.locked(), "a write through the driver's own cursor queues too"
    raw.close()  # back to the pool, rolled back
    assert not lock.locked()


def test_threads_writing_at_once_all_get_through(cache: tuple[Engine, threading.Lock]) -> None:
    engine, lock = cache
    errors: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            for step in range(25):
                with engine.begin() as connection:
                    write(connection, f"{number}-{step}")
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == [] and not lock.locked()
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(META)).scalar() == 201
