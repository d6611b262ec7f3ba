"""Budget: an incremental sync of N changed tickets: ⌈N / page size⌉ search calls + a constant.

Against the sandbox Jira on loopback, both flavours, at 0 ms and 100 ms latency per request:
a full sync of --tickets issues into a fresh SQLite cache (median of --runs: wall time, API
calls, issues/s), then an incremental sync with nothing changed and one with --changed issues
edited a minute after the watermark (API calls and search calls, with the page size).

With --cli, a full `triage sync` as a user runs it: a fresh process on an empty cache
against the sandbox in a process of its own at --cli-latency ms, for each of --cli-tickets:
median wall time and the process's peak memory, beside a bare process that makes one request
(the floor) and, with --before REF, the same command from the repository at that git ref.

The demo agency squeezes the tickets whose history would outrun its `now` into its last
minute (~8% of them), which no real Jira shows and which the incremental sync's overlap
window would re-fetch every time; they are spread five minutes apart first (see the
"overlap" figure printed).
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import median_ms
from jira_process import (
    LAST_CPU,
    ROOT,
    SANDBOX_PID,
    process_cpu,
    run_measured,
    sandbox_process,
    tree_at,
    workspace,
)

import triage.core.tracker.client as client
from triage.core.config import load_settings
from triage.core.tracker.client import Credentials, JiraTracker
from triage.core.tracker.sync import OVERLAP, Sync, SyncResult
from triage.sandbox.agency import Agency, build_agency
from triage.sandbox.jira_server import JiraSandbox
from triage.storage import queries
from triage.storage.db import open_cache

JIRA_TIME = "%Y-%m-%dT%H:%M:%S.%f%z"
CLIENT_USER = {"cloud": "me@agency.example", "dc": ""}
SANDBOX_USER = {"cloud": "me@agency.example", "dc": "me"}
SEARCH_ROUTE = {"cloud": "search/jql", "dc": "search"}


def agency_of(tickets: int) -> tuple[Agency, datetime]:
    """The demo agency an hour before now (the sandbox stamps edits with the real now)."""
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    agency = build_agency(tickets=tickets, seed=1, now=now)
    tail = [
        issue
        for issue in agency.issues
        if datetime.strptime(issue["fields"]["updated"], JIRA_TIME) > now - timedelta(minutes=10)
    ]
    tail.sort(key=lambda issue: (issue["fields"]["updated"], issue["key"]), reverse=True)
    for index, issue in enumerate(tail):
        moment = now - timedelta(minutes=1 + 5 * index)
        issue["fields"]["updated"] = moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    return agency, now


def tracker_for(sandbox: JiraSandbox, flavour: str) -> JiraTracker:
    credentials = Credentials(sandbox.url, sandbox.token, CLIENT_USER[flavour])
    return JiraTracker(credentials, "cloud" if flavour == "cloud" else "dc")


def full_sync(sandbox: JiraSandbox, flavour: str, folder: Path) -> tuple[float, SyncResult, Sync]:
    folder.mkdir(parents=True, exist_ok=True)
    settings = load_settings(
        folder / "absent.toml", data_dir=str(folder), jira={"projects": ["SUP"]}
    )
    engine = open_cache(settings.resolved_database_url())
    sync = Sync(engine, settings, tracker_for(sandbox, flavour))
    start = time.perf_counter()
    result = sync.run(full=True)
    return time.perf_counter() - start, result, sync


def incremental(sandbox: JiraSandbox, flavour: str, sync: Sync, changed: int) -> SyncResult:
    """A sync after `changed` issues were edited a minute after the watermark."""
    value = queries.get_meta(sync.engine, "sync_watermark")
    assert value is not None
    mark = datetime.fromisoformat(value)
    sandbox.set_clock(lambda: mark + timedelta(minutes=1))
    for number in range(1, changed + 1):
        sandbox.edit(f"SUP-{number}", summary=f"changed for the benchmark ({number})")
    return sync.run()


def measure(agency: Agency, flavour: str, latency: float, runs: int, changed: int) -> None:
    tickets = len(agency.issues)
    sandbox = JiraSandbox.from_agency(
        agency, flavour=flavour, user=SANDBOX_USER[flavour], latency_ms=latency
    )
    sandbox.start()
    try:
        walls: list[float] = []
        calls: list[int] = []
        last: Sync | None = None
        with tempfile.TemporaryDirectory() as folder:
            for run in range(runs):
                wall, result, sync = full_sync(sandbox, flavour, Path(folder) / str(run))
                assert result.fetched == tickets, result.summary()
                walls.append(wall)
                calls.append(result.calls)
                last = sync
            assert last is not None
            wall = median_ms(walls) / 1000
            print(
                f"  {flavour:5} {latency:5.0f} ms  full sync: {wall:7.2f} s  "
                f"{statistics.median(calls):6.0f} API calls  {tickets / wall:8,.0f} issues/s"
            )
            page = client.CLOUD_PAGE if flavour == "cloud" else client.DC_PAGE
            route = SEARCH_ROUTE[flavour]
            for edits in (0, changed):
                before = sandbox.calls[route]
                start = time.perf_counter()
                result = incremental(sandbox, flavour, last, edits)
                seconds = time.perf_counter() - start
                searches = sandbox.calls[route] - before
                overlap = result.fetched - edits
                bound = f", ⌈{edits}/{page}⌉ = {math.ceil(edits / page)}" if edits else ""
                print(
                    f"  {flavour:5} {latency:5.0f} ms  incremental, {edits:3} changed: "
                    f"{result.calls} API calls ({searches} search, page size {page}{bound}), "
                    f"{result.fetched} fetched ({overlap} from the {OVERLAP.seconds // 60}-minute "
                    f"overlap), {seconds * 1000:.0f} ms"
                )
            last.engine.dispose()
    finally:
        sandbox.stop()


ONE_REQUEST = (
    "import sys, urllib.request; "
    "urllib.request.urlopen(sys.argv[1] + '/rest/api/2/serverInfo', timeout=30).read()"
)


def measure_cli(
    flavour: str, tickets: int, latency: float, runs: int, trees: dict[str, Path]
) -> None:
    """A full `triage sync` in a fresh process per run, per tree, against its own sandbox."""
    with sandbox_process(flavour, tickets, latency) as url, tempfile.TemporaryDirectory() as tmp:
        floor = [
            run_measured([sys.executable, "-c", ONE_REQUEST, url], dict(os.environ), ROOT)[0]
            for _ in range(runs)
        ]
        figures: dict[str, tuple[float, float, float]] = {}
        for name, tree in trees.items():
            walls, peaks, cpus = [], [], []
            served = process_cpu(SANDBOX_PID[0])
            for run in range(runs):
                env = workspace(Path(tmp) / f"{name}-{run}", url, flavour)
                command = [sys.executable, "-m", "triage.tui.cli.main", "sync", "--full"]
                wall, peak, out = run_measured(command, env, tree)
                assert f"{tickets:,} issues" in out, out
                walls.append(wall)
                peaks.append(peak)
                cpus.append(LAST_CPU[0])
            figures[name] = (median_ms(walls), statistics.median(peaks), median_ms(cpus))
            served = (process_cpu(SANDBOX_PID[0]) - served) / runs
            print(f"  ({name}: the sandbox process used {served * 1000:.0f} ms CPU per sync)")
        base = median_ms(floor)
        for name, (wall, peak, cpu) in figures.items():
            print(
                f"  {flavour:5} {tickets:6,} issues {latency:4.0f} ms  `triage sync --full` "
                f"({name}): {wall:8.0f} ms  cpu {cpu:7.0f} ms  peak {peak:5.0f} MB  "
                f"{wall / base:5.1f}x one request ({base:.0f} ms)"
            )
        if "before" in figures:
            (old, old_peak, old_cpu), (new, new_peak, new_cpu) = (
                figures["before"],
                figures["this tree"],
            )
            print(
                f"  {flavour:5} {tickets:6,} issues: {old / new:.2f}x faster, "
                f"{old_cpu / new_cpu:.2f}x less CPU, {old_peak / new_peak:.2f}x less memory"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3, help="full syncs per measurement")
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 100.0])
    parser.add_argument("--flavour", choices=("cloud", "dc"), nargs="+", default=["cloud", "dc"])
    parser.add_argument("--changed", type=int, default=50)
    parser.add_argument("--cli", action="store_true", help="only the `triage sync` processes")
    parser.add_argument("--cli-tickets", type=int, nargs="+", default=[364, 20_000])
    parser.add_argument("--cli-latency", type=float, default=150.0)
    parser.add_argument("--before", metavar="REF", help="also run the CLI of this git ref")
    args = parser.parse_args()
    if args.cli:
        with tempfile.TemporaryDirectory() as old:
            trees = {"this tree": ROOT}
            if args.before:
                trees = {"before": tree_at(args.before, Path(old)), **trees}
            print(
                f"`triage sync --full` on an empty cache, sandbox Jira in its own process at "
                f"{args.cli_latency:.0f} ms, median of {args.runs} processes"
            )
            for tickets in args.cli_tickets:
                for flavour in args.flavour:
                    measure_cli(flavour, tickets, args.cli_latency, args.runs, trees)
        return
    agency, _ = agency_of(args.tickets)
    print(
        f"sync of {args.tickets:,} issues from the sandbox Jira, median of {args.runs} full syncs "
        "(SQLite cache)"
    )
    for latency in args.latency:
        for flavour in args.flavour:
            measure(agency, flavour, latency, args.runs, args.changed)


if __name__ == "__main__":
    main()
