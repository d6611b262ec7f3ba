"""Statements written many times a second, run on the driver's cursor: compiled once per
dialect, each call only converts its parameters.

A rollout writes the same few small statements at every step boundary of every site (the
job's step records and log lines, the site's row). Through `Connection.execute` most of the
CPU of each is SQLAlchemy's, not the driver's: an execution context, a cache-key lookup, a
result to set up. A `Prepared` statement is compiled once for the connection's dialect;
a call converts each row's values with the column types' own bind processors (the same
conversion `execute` does) and runs it on the cursor of the connection's open transaction.
Only statements complete in themselves qualify: one whose columns need a default computed
in Python is refused when it is first compiled.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.compiler import SQLCompiler


class NotPreparable(ValueError):
    """The statement needs SQLAlchemy at run time (a default computed in Python)."""


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...] | None
    """The parameters' order for a positional paramstyle (SQLite's `?`); None if named."""
    compiled: SQLCompiler
    processors: dict[str, Any]
    """Parameter name → its type's bind processor (the conversion `execute` does)."""


class Prepared:
    """A Core statement run on the driver's cursor (see the module's docstring).

    `keys`: for an INSERT without values, the columns each row gives (SQLAlchemy's
    `column_keys`). `statement` stays usable through `Connection.execute` as well.
    """

    def __init__(self, statement: sa.Insert | sa.Update, keys: Sequence[str] | None = None) -> None:
        self.statement = statement
        self.keys = list(keys) if keys is not None else None
        self._by_dialect: dict[str, _Compiled] = {}

    def run(self, connection: sa.Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement once per row, in the connection's transaction (begun)."""
        if not rows:
            return
        prepared = self._compiled(connection.dialect)
        converted = [self._params(prepared, row) for row in rows]
        cursor = connection.connection.cursor()
        try:
            if len(converted) == 1:
                cursor.execute(prepared.sql, converted[0])
            else:
                cursor.executemany(prepared.sql, converted)
        finally:
            cursor.close()

    def _compiled(self, dialect: sa.Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect, column_keys=self.keys)
            assert isinstance(compiled, SQLCompiler)
            if compiled.insert_prefetch or compiled.update_prefetch:
                missing = [c.name for c in [*compiled.insert_prefetch, *compiled.update_prefetch]]
                raise NotPreparable(
                    f"the statement needs Python defaults for {', '.join(missing)}: give "
                    "those columns' values in each row, or run it with Connection.execute"
                )
            processors: dict[str, Any] = {}
            for bind in compiled.binds.values():
                processor = bind.type.bind_processor(dialect)
                if processor is not None:
                    processors[compiled.bind_names[bind]] = processor
            names = tuple(compiled.positiontup or ()) if compiled.positional else None
            found = _Compiled(compiled.string, names, compiled, processors)
            self._by_dialect[dialect.name] = found
        return found

    @staticmethod
    def _params(prepared: _Compiled, row: Mapping[str, Any]) -> Any:
        values = prepared.compiled.construct_params(dict(row))
        for name, processor in prepared.processors.items():
            if name in values:
                values[name] = processor(values[name])
        if prepared.names is not None:
            return tuple(values[name] for name in prepared.names)
        return values
