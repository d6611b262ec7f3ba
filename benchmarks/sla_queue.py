"""Budget: ranking the SLA queue over 20,000 cached tickets, clocks included, in <= 30 ms.

Builds a demo cache of N tickets in a real SQLite file and prints medians of:

- re-rank: what runs after each sync or change (the budget): the tickets changed since the
  last ranking are read and measured again (here: the 100 a sync just wrote), every running
  clock moves on to the new time, and all open tickets are sorted by the rule; five syncs
  follow each first ranking;
- first ranking: read every open ticket with its moves and first response, measure every
  clock on its package's calendar, rank (runs once, in a worker, after the first paint);
- baseline: sorting the same tickets by (severity, created) alone, no clocks, to compare.

The re-rank is also given in CPU time of the process: on a machine shared with other work,
wall time shows the waiting for a core as well.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from common import demo_cache, median_ms

from triage.core.sla.queue import Queue
from triage.storage.models import Ticket, table_of, utcnow
from triage.storage.sla_rows import open_queue_inputs

TICKET = table_of(Ticket)
SYNCS = 5
"""Syncs (and re-ranks) after each first ranking."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--changed", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        board = demo_cache(Path(folder), args.tickets)
        engine, settings = board.engine, board.settings
        # The queue's clock is the one the sync stamps `synced_at` with: the real one.
        first, rerank, rerank_cpu, baseline = [], [], [], []
        keys = [row[0] for row in engine.connect().execute(sa.select(TICKET.c.key).limit(5000))]
        for run in range(args.runs):
            queue = Queue(engine, settings, clock=utcnow, site_packages={})
            start = time.perf_counter()
            ranking = queue.ranking()
            first.append(time.perf_counter() - start)
            # Then syncs, each writing a page of changed tickets, and a re-rank after each.
            for sync in range(SYNCS):
                offset = (run * SYNCS + sync) * args.changed % 4000
                changed = keys[offset : offset + args.changed]
                with engine.begin() as connection:
                    connection.execute(
                        sa.update(TICKET)
                        .where(TICKET.c.key.in_(changed))
                        .values(synced_at=utcnow())
                    )
                start, cpu = time.perf_counter(), time.process_time()
                again = queue.ranking()
                rerank.append(time.perf_counter() - start)
                rerank_cpu.append(time.process_time() - cpu)
                assert len(again.items) == len(ranking.items)
        rows = open_queue_inputs(engine).rows
        for _ in range(args.runs):
            start = time.perf_counter()
            sorted(rows, key=lambda r: (r.severity_rank, r.created, r.key))
            baseline.append(time.perf_counter() - start)
    base = median_ms(baseline)
    print(
        f"SLA queue over {args.tickets:,} cached tickets ({len(ranking.items):,} open), "
        f"SQLite, median of {args.runs} runs ({args.runs * SYNCS} re-ranks)"
    )
    print(
        f"  re-rank after a sync of {args.changed} tickets: {median_ms(rerank):7.1f} ms"
        f"  (budget 30 ms; {median_ms(rerank) / base:.1f}x the plain sort)"
    )
    print(
        f"  the same, CPU time of this process:  {median_ms(rerank_cpu):7.1f} ms"
        "  (what a busy machine's other work does not add)"
    )
    print(f"  first ranking, every clock measured:  {median_ms(first):7.1f} ms  (in a worker)")
    print(f"  baseline, sort by severity and age:   {base:7.1f} ms")
    print(f"  breached {ranking.breached:,}, at risk {ranking.at_risk:,}")


if __name__ == "__main__":
    main()
