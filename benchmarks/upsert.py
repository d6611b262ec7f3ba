"""Budget: writing 20,000 tickets into the cache takes under 0.5 s, in one transaction.

Prints the median of several runs into an empty and into a full cache, against a baseline
in the same process: the same rows through plain sqlite3 executemany (no SQLAlchemy, no
conflict handling). Set TRIAGE_BENCH_POSTGRES_URL to measure PostgreSQL too.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
from pathlib import Path

from common import NOW, median_ms

from triage.core.config import JiraFields
from triage.core.tracker.ingest import map_issues
from triage.core.tracker.mapping import StatusMapper, resolve_fields
from triage.sandbox.agency import build_agency
from triage.storage import queries
from triage.storage.db import make_engine, open_cache, sqlite_url


def rows(tickets: int) -> list[dict[str, object]]:
    agency = build_agency(tickets=tickets, seed=1, now=NOW)
    ids = resolve_fields(agency.fields, JiraFields())
    return [m.ticket for m in map_issues(agency.issues, ids, StatusMapper(), NOW)]


def time_upsert(
    url: str, data: list[dict[str, object]], runs: int
) -> tuple[list[float], list[float]]:
    empty, full = [], []
    for _ in range(runs):
        engine = open_cache(url)
        with engine.begin() as connection:
            connection.exec_driver_sql("DELETE FROM ticket")
        for bucket in (empty, full):
            start = time.perf_counter()
            with engine.begin() as connection:
                queries.upsert_tickets(connection, data)
            bucket.append(time.perf_counter() - start)
        engine.dispose()
    return empty, full


def time_plain_sqlite(path: Path, data: list[dict[str, object]], runs: int) -> list[float]:
    names = [n for n in data[0] if n != "labels"]
    samples = []
    for _ in range(runs):
        path.unlink(missing_ok=True)
        connection = sqlite3.connect(path)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute(f"CREATE TABLE t ({', '.join(names)}, PRIMARY KEY (key))")
        values = [tuple(str(row[n]) if row[n] is not None else None for n in names) for row in data]
        start = time.perf_counter()
        with connection:
            connection.executemany(
                f"INSERT INTO t VALUES ({', '.join('?' for _ in names)})", values
            )
        samples.append(time.perf_counter() - start)
        connection.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    data = rows(args.tickets)
    with tempfile.TemporaryDirectory() as folder:
        url = sqlite_url(Path(folder) / "bench.db")
        make_engine(url).dispose()
        empty, full = time_upsert(url, data, args.runs)
        baseline = time_plain_sqlite(Path(folder) / "plain.db", data, args.runs)
    base = median_ms(baseline)
    print(f"upsert of {args.tickets:,} tickets, median of {args.runs} runs (budget 500 ms)")
    print(
        f"  sqlite  empty cache: {median_ms(empty):7.1f} ms  ({median_ms(empty) / base:.2f}x plain)"
    )
    print(
        f"  sqlite  full cache:  {median_ms(full):7.1f} ms  ({median_ms(full) / base:.2f}x plain)"
    )
    print(f"  baseline, plain sqlite3 executemany insert: {base:7.1f} ms")
    pg_url = os.environ.get("TRIAGE_BENCH_POSTGRES_URL")
    if pg_url:
        empty, full = time_upsert(pg_url, data, args.runs)
        print(f"  postgres empty cache: {median_ms(empty):7.1f} ms")
        print(f"  postgres full cache:  {median_ms(full):7.1f} ms")


if __name__ == "__main__":
    main()
