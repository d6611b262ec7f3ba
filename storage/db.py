"""Engine and session factory, and the schema: created and upgraded on start.

Exceptions::

    StorageError                 anything the cache cannot do; the message says what to do
    ├── DatabaseUnreachable      the database URL does not answer
    ├── DataDirNotWritable       the SQLite file's directory cannot be written
    └── CacheUnusable            the cache answers but cannot be used: damaged or read-only

A SQLite cache is private: its file (and so its -wal and -shm files, which SQLite creates
with the file's mode) is created 0600, its directory 0700 when Triage creates it.
Messages name a database by backend, host and name only, never with its credentials.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel

from triage.storage import models
from triage.storage.errors import StorageError
from triage.storage.sqlite_writes import SerialWrites, serialize_writes

SCHEMA_VERSION = 1


class DatabaseUnreachable(StorageError):
    """The database named by the URL does not answer."""


class DataDirNotWritable(StorageError):
    """The directory of the SQLite file cannot be written."""


class CacheUnusable(StorageError):
    """The cache answers but cannot be used: not a database, damaged, or read-only."""


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file."""
    return f"sqlite:///{path}"


def describe(url: str) -> str:
    """The database named for a message: the SQLite file, or backend://host:port/name.

    Built from parts that hold no credential (no user, password or query), so storage
    needs no masking of its own.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"the cache file {parsed.database}"
    port = f":{parsed.port}" if parsed.port else ""
    return f"the database at {parsed.drivername}://{parsed.host or ''}{port}/{parsed.database}"


def _reason(error: sa.exc.DBAPIError) -> str:
    text = str(error.orig).strip() if error.orig else str(error)
    return (text.splitlines() or ["no reason given"])[0]


def make_engine(url: str) -> Engine:
    """An engine for `url` (SQLite in WAL mode, or PostgreSQL), checked to answer."""
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    if sqlite:
        engine = _sqlite_engine(parsed.database)
    else:
        engine = sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.DBAPIError as error:
        engine.dispose()
        if sqlite or not isinstance(error, sa.exc.OperationalError):
            raise _unusable(url, error) from None
        raise DatabaseUnreachable(
            f"{describe(url)} is not reachable ({_reason(error)}): "
            "start it or fix TRIAGE_DATABASE_URL"
        ) from None
    return engine


def _unusable(url: str, error: sa.exc.DBAPIError) -> StorageError:
    """The sentence for a cache that answers but cannot be used."""
    reason = _reason(error)
    where = describe(url)
    if "readonly" in reason or "read-only" in reason:
        return CacheUnusable(
            f"{where} is read-only ({reason}): make it writable for your user "
            "(chmod u+w, or its owner), or set TRIAGE_DATA_DIR to another directory"
        )
    if "not a database" in reason or "malformed" in reason or "corrupt" in reason:
        return CacheUnusable(
            f"{where} is damaged or not a Triage cache ({reason}): move it aside and run "
            "`triage sync --full` to rebuild it, or set TRIAGE_DATA_DIR to another directory"
        )
    return CacheUnusable(f"{where} cannot be used ({reason}): fix it or set TRIAGE_DATABASE_URL")


def _sqlite_engine(database: str | None) -> Engine:
    if database and database != ":memory:":
        folder = Path(database).parent
        try:
            if not folder.is_dir():
                folder.parent.mkdir(parents=True, exist_ok=True)
                folder.mkdir(mode=0o700, exist_ok=True)
        except OSError as error:
            raise DataDirNotWritable(
                f"cannot create the data directory {folder} ({error.strerror}): "
                "set TRIAGE_DATA_DIR to a writable directory"
            ) from None
        if not os.access(folder, os.W_OK | os.X_OK):
            raise DataDirNotWritable(
                f"the data directory {folder} is not writable: "
                "set TRIAGE_DATA_DIR to a writable directory"
            )
        _create_private(Path(database))
    if not database or database == ":memory:":
        engine = sa.create_engine("sqlite:///:memory:")
    else:
        engine = sa.create_engine(f"sqlite:///{database}", connect_args={"factory": SerialWrites})
        serialize_writes(engine, os.path.realpath(database))

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a change shown as done survives a killed process and a power cut.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    return engine


def wait_for_disk(connection: sa.Connection, on: bool) -> None:
    """Whether this connection's next commits wait for the disk (outside a transaction).

    On (the cache's default): a commit returns once it is on disk, and survives a killed
    process and a power cut. Off: once the database has it: a killed process keeps it, and
    a power cut or an OS crash may lose the last such commits without harming the file; the
    next commit that waits makes them durable too (one log, written in order). SQLite (WAL):
    `synchronous` FULL or NORMAL; PostgreSQL: `synchronous_commit` on or off.
    """
    if connection.dialect.name == "sqlite":
        statement = f"PRAGMA synchronous={'FULL' if on else 'NORMAL'}"
    else:
        statement = f"SET synchronous_commit TO {'on' if on else 'off'}"
    # On the driver's cursor: a setting, not a transaction of SQLAlchemy's to commit (on
    # PostgreSQL it is part of the transaction that follows, and kept when that commits).
    cursor = connection.connection.cursor()
    try:
        cursor.execute(statement)
    finally:
        cursor.close()


def _create_private(path: Path) -> None:
    """Create the SQLite file 0600 if it is not there; SQLite gives -wal and -shm its mode."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as error:
        raise DataDirNotWritable(
            f"cannot create the cache file {path} ({error.strerror}): "
            "set TRIAGE_DATA_DIR to a writable directory"
        ) from None
    os.close(descriptor)


def init_schema(engine: Engine) -> None:
    """Create missing tables and add missing columns, keeping every existing row."""
    tables = SQLModel.metadata.sorted_tables
    ours = [t for t in tables if t.name in _our_tables()]
    SQLModel.metadata.create_all(engine, tables=ours)
    inspector = sa.inspect(engine)
    with engine.begin() as connection:
        for table in ours:
            present = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present:
                    _add_column(connection, table.name, column)
            for index in table.indexes:
                index.create(connection, checkfirst=True)
        _record_version(connection)


def _our_tables() -> set[str]:
    return {
        str(m.__tablename__)
        for m in (
            models.Ticket,
            models.Comment,
            models.StatusChange,
            models.OutboxEntry,
            models.AuditEntry,
            models.Job,
            models.JobStep,
            models.JobLog,
            models.Meta,
            models.HealthResult,
            models.SiteHealth,
            models.IntakeMail,
            models.SiteLock,
            models.SitePackage,
            models.Advisory,
            models.Rollout,
            models.RolloutSite,
        )
    }


def _add_column(connection: sa.Connection, table: str, column: sa.Column[Any]) -> None:
    """Add `column` to an older table; old rows get its default (a time column: now)."""
    preparer = connection.dialect.identifier_preparer
    type_sql = column.type.compile(dialect=connection.dialect)
    name = preparer.quote(column.name)
    ddl = f"ALTER TABLE {preparer.quote(table)} ADD COLUMN {name} {type_sql}"
    is_time = isinstance(column.type, models.UTCDateTime)
    default = None if is_time else _default_sql(column)
    if default is not None:
        ddl += f" DEFAULT {default}"
    connection.execute(sa.text(ddl))
    if is_time and not column.nullable:
        # Neither dialect takes a moving default in ADD COLUMN; fill old rows explicitly.
        connection.execute(sa.update(column.table).values({column.name: models.utcnow()}))


def _default_sql(column: sa.Column[Any]) -> str | None:
    default = column.default
    if default is None or not getattr(default, "is_scalar", False):
        return None if column.nullable else _zero_for(column)
    value = default.arg  # type: ignore[attr-defined]
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return None


def _zero_for(column: sa.Column[Any]) -> str:
    """A neutral value for old rows of a NOT NULL column that has no fixed default."""
    if isinstance(column.type, sa.JSON):
        return "'[]'"
    python_type: Any
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        python_type = str
    if python_type is bool:
        return "FALSE"
    if python_type in (int, float):
        return "0"
    return "''"


def _record_version(connection: sa.Connection) -> None:
    table = models.table_of(models.Meta)
    key, value = "schema_version", str(SCHEMA_VERSION)
    updated = connection.execute(sa.update(table).where(table.c.key == key).values(value=value))
    if updated.rowcount == 0:
        connection.execute(sa.insert(table).values(key=key, value=value))


def open_cache(url: str) -> Engine:
    """An engine on the cache at `url` with its schema up to date."""
    engine = make_engine(url)
    try:
        init_schema(engine)
    except sa.exc.DBAPIError as error:
        engine.dispose()
        raise _unusable(url, error) from None
    return engine


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
