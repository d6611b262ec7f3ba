"""Budget: a rollout over 120 sites within 5% of the ideal wall time, bookkeeping < 1 s of CPU.

An engine stand-in does each site's steps (branch, composer update, commit, audit, push,
clone, deploy) as sleeps of fixed lengths, some sites with a long clone; everything else is
Triage's own: the rollout's tickets in the outbox, the scheduler, one job per site with its
steps and log in the cache, the site rows, the report comment and the move of each ticket.
Meanwhile a poller reads the rollout's site rows as the fleet screen does while sites run
(`core.security.progress.LiveSites`, every `REFRESH_S` of the screen).

Printed, median of the runs:

- the wall time of the run against the ideal for the limits: the makespan that list
  scheduling in the same order gives with zero overhead (and the lower bound, the larger of
  all work over max_parallel and each engine's work over per_engine);
- the CPU time of this process over the run (sleeps cost none): the bookkeeping;
- the baseline, in the same run: the same stand-in steps on a bare ThreadPoolExecutor that
  honours only max_parallel, no cache, no per-engine limit.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import sqlalchemy as sa
from rollout_standin import CORE, LONG_CLONE_MS, SA, STEP_MS, StandIn, durations_of, make_fleet

from triage.core.security.progress import LiveSites
from triage.core.security.scheduler import RolloutScheduler, rollout_runner
from triage.storage import rollouts as store
from triage.storage.sqlite_writes import SerialWrites
from triage.tui.screens.fleet import REFRESH_S


def list_schedule(
    order: list[str], seconds: dict[str, float], engines: dict[str, str], limit: int, per: int
) -> float:
    """The makespan of serving `order` greedily within the limits, with no overhead."""
    queue, running, busy, now = list(order), [], Counter[str](), 0.0
    while queue or running:
        index = 0
        while index < len(queue) and len(running) < limit:
            site = queue[index]
            if busy[engines[site]] >= per:
                index += 1
                continue
            queue.pop(index)
            busy[engines[site]] += 1
            heapq.heappush(running, (now + seconds[site], site))
        now, done = heapq.heappop(running)
        busy[engines[done]] -= 1
    return now


def lower_bound(seconds: dict[str, float], engines: dict[str, str], limit: int, per: int) -> float:
    """No schedule within the limits ends sooner."""
    per_engine = Counter[str]()
    for site, length in seconds.items():
        per_engine[engines[site]] += length
    return max(sum(seconds.values()) / limit, max(per_engine.values()) / per,
               max(seconds.values()))  # fmt: skip


def poll(engine: sa.Engine, stop: threading.Event, counts: list[int]) -> None:
    """What the fleet screen does while a rollout runs: read the rollout's site rows."""
    sites = LiveSites(engine, SA, CORE)
    while not stop.wait(REFRESH_S):
        rows = sites.read()
        counts.append(sum(1 for row in rows if row.state.finished))


def one_rollout(folder: Path, args: argparse.Namespace, scale: float) -> dict[str, float]:
    """Start the rollout, give its tickets keys, run it; its figures."""
    fleet = make_fleet(folder, args.sites, args.engines, args.max_parallel, args.per_engine)
    seconds = durations_of(fleet.inventory, scale)
    engines = {site.id: site.envs["dev"].docker_host for site in fleet.inventory.sites.values()}
    settings = fleet.board.settings.security.rollout
    stop, polls = threading.Event(), list[int]()
    StandIn.scale = scale
    with counting_commits() as commits, rollout_runner(fleet.board, settings) as runner:
        scheduler = RolloutScheduler(fleet.board, fleet.inventory, settings, runner, StandIn)
        order = [row.site for row in scheduler.runnable()]
        poller = threading.Thread(target=poll, args=(fleet.board.engine, stop, polls))
        cpu, start = time.process_time(), time.perf_counter()
        poller.start()
        summary = scheduler.run(timeout=600)
        wall = time.perf_counter() - start
        stop.set()
        poller.join()
    cpu = time.process_time() - cpu  # the jobs' last records are written by close()
    run_commits = len(commits)
    commit_ms = durable_commit_ms(fleet.board.engine)
    # Each step of a site starts after a pause as long as its step before.
    pause = statistics.median(STEP_MS.values()) * scale / 1000
    warm, cold = (write_cpu_us(fleet.board.engine, p, n) for p, n in ((0.0, 200), (pause, 20)))
    fleet.board.engine.dispose()
    assert summary.states["tested"] == args.sites, summary
    ideal = list_schedule(order, seconds, engines, settings.max_parallel, settings.per_engine)
    bound = lower_bound(seconds, engines, settings.max_parallel, settings.per_engine)
    return {"wall": wall, "cpu": cpu, "ideal": ideal, "bound": bound, "polls": len(polls),
            "start": fleet.start_seconds, "commits": run_commits / args.sites,
            "commit_ms": commit_ms, "warm_us": warm, "cold_us": cold}  # fmt: skip


@contextlib.contextmanager
def counting_commits() -> Iterator[list[int]]:
    """Count the cache's commits where the driver makes them. (An engine event would do it,
    but SQLAlchemy runs every statement on a slower path once an engine has events.)"""
    commits, commit = [], SerialWrites.commit

    def counted(connection: SerialWrites) -> None:
        commits.append(1)
        commit(connection)

    SerialWrites.commit = counted  # type: ignore[method-assign]
    try:
        yield commits
    finally:
        SerialWrites.commit = commit  # type: ignore[method-assign]


def durable_commit_ms(engine: sa.Engine, count: int = 50) -> float:
    """What one small durable write costs on this disk (the cache's synchronous=FULL)."""
    ident = (SA, "drupal/core", "site-000")
    start = time.perf_counter()
    for _ in range(count):
        store.update(engine, ident, reason="")
    return (time.perf_counter() - start) / count * 1000


def write_cpu_us(engine: sa.Engine, pause: float, count: int) -> float:
    """The CPU one durable row write takes, `pause` seconds after the one before (median).

    The reference for the bookkeeping's CPU: a machine that idles between writes (slower
    clock, cold caches) charges each more CPU than one kept busy.
    """
    ident, spent = (SA, "drupal/core", "site-000"), []
    for _ in range(count):
        time.sleep(pause)
        began = time.process_time()
        store.update(engine, ident, reason="")
        spent.append(time.process_time() - began)
    return statistics.median(spent) * 1e6


def baseline(args: argparse.Namespace, scale: float) -> tuple[float, float]:
    """The same stand-in steps on a bare pool of max_parallel threads; (wall, its ideal)."""
    with tempfile.TemporaryDirectory() as folder:
        fleet = make_fleet(Path(folder), args.sites, args.engines, 1, 1, start=False)
        fleet.board.engine.dispose()
    sites = sorted(fleet.inventory.sites.values(), key=lambda site: site.id)
    seconds = durations_of(fleet.inventory, scale)
    StandIn.scale = scale
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.max_parallel) as pool:
        list(pool.map(StandIn().all_steps, sites))
    wall = time.perf_counter() - start
    engines = {site.id: "one" for site in sites}
    return wall, list_schedule([s.id for s in sites], seconds, engines, args.max_parallel, 10**6)


def report(args: argparse.Namespace, scale: float) -> None:
    """Run the rollout and the baseline `args.runs` times at this scale; print the medians."""
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            runs.append(one_rollout(Path(folder), args, scale))
    bases = [baseline(args, scale) for _ in range(args.runs)]

    def median(name: str) -> float:
        return statistics.median(run[name] for run in runs)

    wall, ideal, bound, cpu = median("wall"), median("ideal"), median("bound"), median("cpu")
    base = statistics.median(b[0] for b in bases)
    low, high = (min(STEP_MS.values()) * scale, max(STEP_MS.values()) * scale)
    print(
        f"Steps of {low:g}-{high:g} ms (every tenth clone +{LONG_CLONE_MS * scale:g} ms), "
        f"median of {args.runs} runs"
    )
    print(f"  wall time of the run:              {wall:7.2f} s")
    print(
        f"  ideal (list scheduling, same order, no overhead): {ideal:7.2f} s -> wall/ideal "
        f"{wall / ideal:.3f} (budget 1.05)"
    )
    print(f"  lower bound for the limits:        {bound:7.2f} s -> wall/bound {wall / bound:.3f}")
    print(
        f"  CPU of the bookkeeping (process time over the run, {median('polls'):.0f} screen "
        f"polls): {cpu:.2f} s (budget 1 s)"
    )
    print(
        f"  commits per site: {median('commits'):.1f}; one durable commit on this disk: "
        f"{median('commit_ms'):.2f} ms"
    )
    print(
        f"  reference, same run: one durable row write takes {median('warm_us'):.0f} us of CPU "
        f"back to back, {median('cold_us'):.0f} us after a pause as long as a step "
        f"({median('cold_us') / median('warm_us'):.1f}x: an idle machine charges more)"
    )
    print(f"  starting it (tickets for {args.sites} sites + parent): {median('start'):.2f} s")
    print(
        f"  baseline, bare ThreadPoolExecutor({args.max_parallel}), same steps: {base:7.2f} s "
        f"(its ideal {bases[0][1]:.2f} s) -> rollout/baseline {wall / base:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=120)
    parser.add_argument("--engines", type=int, default=6)
    parser.add_argument("--max-parallel", type=int, default=8)
    parser.add_argument("--per-engine", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--scales", default="1,10", help="step times multiplied by each")
    args = parser.parse_args()
    print(
        f"Rollout of one advisory over {args.sites} sites on {args.engines} engine stand-ins, "
        f"SQLite cache; limits: max_parallel {args.max_parallel}, per_engine {args.per_engine}"
    )
    for scale in (float(s) for s in args.scales.split(",")):
        report(args, scale)


if __name__ == "__main__":
    main()
