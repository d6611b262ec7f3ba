"""A security rollout over real sites: wall time, the sites' own job times, and the speedup.

The world of tests/integration/rollout_world.py with `--sites` sites (at least 12; the six
kinds of site cycled: updated and tested, already patched, another minor branch, tests
broken and rolled back, no fix, on to production), a sandbox Jira (Data Center) and a SQLite
cache. The rollout runs with `--parallel` sites at once (overall and per engine), then, in
the same run, the same sites (a fresh copy of the world, built the same way) one at a time.
Printed per run: wall time of the scheduler's run, the sum of the sites' job times (job
started → finished), their ratio (how many jobs ran at once on average), the end states;
then the speedup of the parallel run over the one-at-a-time run.

Run from the repository: `python -m benchmarks.rollout_docker [--sites 12] [--parallel 4]`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "tests", ROOT / "tests" / "integration"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import rollout_support as rs  # noqa: E402
from dockerd import ensure_docker  # noqa: E402
from jira_support import SANDBOX_USER, tracker_for  # noqa: E402
from rollout_world import build_world  # noqa: E402

from triage.core.board.service import Board  # noqa: E402
from triage.core.jobs.runner import JobRunner  # noqa: E402
from triage.sandbox.agency import build_agency  # noqa: E402
from triage.sandbox.images import ensure_images  # noqa: E402
from triage.sandbox.jira_server import JiraSandbox  # noqa: E402
from triage.storage import jobs  # noqa: E402
from triage.storage.db import open_cache, sqlite_url  # noqa: E402


@dataclass
class Measured:
    """One rollout's figures."""

    parallel: int
    wall: float
    job_sum: float
    longest: float
    states: Counter[str]


def one_rollout(count: int, parallel: int) -> Measured:
    """Build a world of `count` sites, roll the advisory out over it, measure the run."""
    client = ensure_docker()
    ensure_images(client)
    agency = build_agency(tickets=40, seed=9, now=datetime.now(UTC) - timedelta(hours=1))
    with tempfile.TemporaryDirectory(prefix="rollout-bench-") as scratch:
        root = Path(scratch)
        started = time.perf_counter()
        with build_world(client, root / "sites", count) as world:
            print(f"  world of {count} sites built in {time.perf_counter() - started:.0f} s")
            sandbox = JiraSandbox.from_agency(agency, flavour="dc", user=SANDBOX_USER["dc"])
            sandbox.start()
            engine = open_cache(sqlite_url(root / "cache.db"))
            try:
                tracker = tracker_for(sandbox, "dc")
                board = Board(engine, rs.rollout_settings(root, world.feed, parallel))
                rs.prepare(board, tracker, world)
                rs.start(board, tracker, world)
                with JobRunner(engine, max_jobs=parallel) as runner:
                    plan = rs.scheduler(board, world, runner, world.engines)
                    began = time.perf_counter()
                    summary = plan.run(timeout=3600)
                    wall = time.perf_counter() - began
                assert not summary.timed_out
                times = [
                    (job.finished - job.started).total_seconds()
                    for job in jobs.latest(engine, 10_000)
                    if job.kind == "security-update" and job.started and job.finished
                ]
                states = Counter(row.state.value for row in rs.rows(board).values())
            finally:
                engine.dispose()
                sandbox.stop()
    return Measured(parallel, wall, sum(times), max(times, default=0.0), states)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=12, help="real sites (at least 12)")
    parser.add_argument("--parallel", type=int, default=4, help="sites at once in the first run")
    args = parser.parse_args()
    if args.sites < 12 or args.parallel < 2:
        parser.error("give --sites 12 or more and --parallel 2 or more")
    results = []
    for parallel in (args.parallel, 1):
        print(f"rollout over {args.sites} sites, {parallel} at a time:")
        done = one_rollout(args.sites, parallel)
        results.append(done)
        states = ", ".join(f"{state} {n}" for state, n in sorted(done.states.items()))
        ratio = done.job_sum / done.wall
        print(f"  wall {done.wall:.1f} s; sum of the sites' job times {done.job_sum:.1f} s "
              f"(longest {done.longest:.1f} s); sum / wall {ratio:.2f}")  # fmt: skip
        print(f"  end states: {states}")
    fast, serial = results
    print(f"speedup of {fast.parallel} at a time over one at a time: "
          f"{serial.wall / fast.wall:.2f}x ({serial.wall:.1f} s → {fast.wall:.1f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
