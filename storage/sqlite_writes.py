"""One writer at a time per SQLite file in this process, queued in Python, not in SQLite.

SQLite lets one transaction write at a time; the others wait in its busy handler, which
sleeps in growing steps (up to 100 ms) between tries. With a few threads writing at once
(a rollout's jobs, their log writer, a screen's poll) those sleeps, not the writes, made
the time: a write of a millisecond waited up to a second. Here a write transaction first
takes the file's lock in this process (threads queue on it and wake as soon as it is
free) and gives it back on commit, rollback or close. Other processes still meet at
SQLite's own lock and busy timeout. A thread that waits longer than the busy timeout goes
on without the lock, so a mistake can only fail as it did before (database is locked).
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

WAIT_S = 5.0
"""As long as SQLite's busy timeout."""
_READS = ("SELECT", "PRAGMA")
_LOCKS: dict[str, threading.Lock] = {}
_GUARD = threading.Lock()


class _SerialCursor(sqlite3.Cursor):
    """A cursor that takes its connection's writer lock before a statement that writes."""

    connection: SerialWrites

    def execute(self, sql: str, parameters: Any = (), /) -> _SerialCursor:
        if not sql.lstrip()[:6].upper().startswith(_READS):
            self.connection.take()
        return super().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> _SerialCursor:
        if not sql.lstrip()[:6].upper().startswith(_READS):
            self.connection.take()
        return super().executemany(sql, seq_of_parameters)


class SerialWrites(sqlite3.Connection):
    """A SQLite connection that holds its file's writer lock from its first write to its end.

    The write is seen by its cursor (not by an event of the engine: SQLAlchemy runs every
    statement on a slower path once an engine has statement events)."""

    lock: threading.Lock | None = None
    _held = False

    def cursor(self, factory: Any = _SerialCursor) -> Any:
        return super().cursor(factory)

    def take(self) -> None:
        """Take the writer lock before a write, unless this transaction has it."""
        if self.lock is not None and not self._held:
            self._held = self.lock.acquire(timeout=WAIT_S)

    def _give_back(self) -> None:
        if self._held and self.lock is not None:
            self._held = False
            self.lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._give_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._give_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give_back()


def serialize_writes(engine: Engine, database: str) -> None:
    """Make the engine's connections (made with `factory=SerialWrites`) share one writer lock."""
    with _GUARD:
        lock = _LOCKS.setdefault(database, threading.Lock())

    @sa.event.listens_for(engine, "connect")
    def _share(dbapi_connection: Any, _record: Any) -> None:
        if isinstance(dbapi_connection, SerialWrites):
            dbapi_connection.lock = lock
