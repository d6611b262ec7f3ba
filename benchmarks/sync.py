"""Budget: an incremental sync of N changed tickets: ⌈N / page size⌉ search calls + a constant.

Against the sandbox Jira on loopback, both flavours, at 0 ms and 100 ms latency per request:
a full sync of --tickets issues into a fresh SQLite cache (median of --runs: wall time, API
calls, issues/s), then an incremental sync with nothing changed and one with --changed issues
edited a minute after the watermark (API calls and search calls, with the page size).

The demo agency squeezes the tickets whose history would outrun its `now` into its last
minute (~8% of them), which no real Jira shows and which the incremental sync's overlap
window would re-fetch every time; they are spread five minutes apart first (see the
"overlap" figure printed).
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import median_ms

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3, help="full syncs per measurement")
    parser.add_argument("--latency", type=float, nargs="+", default=[0.0, 100.0])
    parser.add_argument("--flavour", choices=("cloud", "dc"), nargs="+", default=["cloud", "dc"])
    parser.add_argument("--changed", type=int, default=50)
    args = parser.parse_args()
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
