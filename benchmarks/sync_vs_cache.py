"""Why a cache: the board loads 20,000 tickets from it far faster than Jira can send them.

In one run: the time to fetch --tickets issues from the sandbox Jira at --latency ms per
request (a full sync: every page the sync asks for, mapped and stored in one transaction,
which benchmarks/upsert.py shows is a small part), then the median of --runs
`core.board.Board.load` calls on the synced SQLite cache. Prints both and their ratio.
The board's Done column shows only recent tickets, so it holds fewer cards than tickets.

With --first-ticket, the other side of a cache: the app opened on an empty cache, the time
from spawning `triage` to the first card on the board while the first sync runs, against
the sandbox in its own process at --latency ms (median of --runs fresh processes, beside a
bare process making one request and, with --before REF, the app of that git ref).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import median_ms
from jira_process import ROOT, run_measured, sandbox_process, tree_at, workspace

from triage.core.board.service import Board
from triage.core.config import load_settings
from triage.core.tracker.client import Credentials, JiraTracker
from triage.core.tracker.sync import Sync
from triage.sandbox.agency import build_agency
from triage.sandbox.jira_server import JiraSandbox
from triage.storage import queries
from triage.storage.db import open_cache

CLIENT_USER = {"cloud": "me@agency.example", "dc": ""}
SANDBOX_USER = {"cloud": "me@agency.example", "dc": "me"}


FIRST_TICKET = r"""
import os, sys, time
sys.path.insert(0, os.getcwd())
from triage.core.board.service import Board
from triage.core.config import load_settings
from triage.storage.db import open_cache
from triage.tui.app import make_app
from triage.tui.cli.board import tracker_factory
settings = load_settings(None)
app = make_app(Board(open_cache(settings.resolved_database_url()), settings),
               tracker_factory(settings))
def check():
    screen = app.board_screen
    if screen is not None and screen.data.total > 0:
        print("first_ticket", time.time(), screen.data.total, flush=True)
        os._exit(0)  # the sync's worker thread may still run: its end is not measured
app.call_later(lambda: app.set_interval(0.005, check))
app.run(headless=True, size=(160, 48))
"""
ONE_REQUEST = (
    "import sys, urllib.request; "
    "urllib.request.urlopen(sys.argv[1] + '/rest/api/2/serverInfo', timeout=30).read()"
)


def first_ticket(args: argparse.Namespace) -> None:
    """Spawn to first card, empty cache, the sync running against the sandbox process."""
    with tempfile.TemporaryDirectory() as old, tempfile.TemporaryDirectory() as tmp:
        trees = {"this tree": ROOT}
        if args.before:
            trees = {"before": tree_at(args.before, Path(old)), **trees}
        with sandbox_process(args.flavour, args.tickets, args.latency) as url:
            floor = [
                run_measured([sys.executable, "-c", ONE_REQUEST, url], dict(os.environ), ROOT)[0]
                for _ in range(args.runs)
            ]
            print(
                f"empty cache, app opened: spawn to the first card, {args.tickets:,} issues in "
                f"Jira {args.flavour} at {args.latency:.0f} ms, median of {args.runs}"
            )
            print(f"  one request from a bare process: {median_ms(floor):7.0f} ms")
            results = {}
            for name, tree in trees.items():
                samples = []
                for run in range(args.runs):
                    env = workspace(Path(tmp) / f"{name}-{run}", url, args.flavour)
                    start = time.time()
                    _, _, out = run_measured([sys.executable, "-c", FIRST_TICKET], env, tree)
                    samples.append(float(out.split()[1]) - start)
                results[name] = median_ms(samples)
                print(
                    f"  first card ({name}): {results[name]:7.0f} ms  "
                    f"({results[name] / median_ms(floor):.1f}x one request)"
                )
            if "before" in results:
                print(f"  ratio: {results['before'] / results['this tree']:.2f}x faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--latency", type=float, default=100.0, help="ms per Jira request")
    parser.add_argument("--flavour", choices=("cloud", "dc"), default="cloud")
    parser.add_argument("--runs", type=int, default=5, help="board loads")
    parser.add_argument("--first-ticket", action="store_true", help="only the empty-cache app")
    parser.add_argument("--before", metavar="REF", help="with --first-ticket: also this git ref")
    args = parser.parse_args()
    if args.first_ticket:
        first_ticket(args)
        return
    # An hour before now, as Jira would hold them; the board's Done column shows recent ones.
    agency = build_agency(tickets=args.tickets, seed=1, now=datetime.now(UTC) - timedelta(hours=1))
    sandbox = JiraSandbox.from_agency(
        agency, flavour=args.flavour, user=SANDBOX_USER[args.flavour], latency_ms=args.latency
    )
    sandbox.start()
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            Path(folder) / "absent.toml", data_dir=folder, jira={"projects": ["SUP"]}
        )
        engine = open_cache(settings.resolved_database_url())
        credentials = Credentials(sandbox.url, sandbox.token, CLIENT_USER[args.flavour])
        tracker = JiraTracker(credentials, args.flavour)
        try:
            start = time.perf_counter()
            result = Sync(engine, settings, tracker).run(full=True)
            fetch = time.perf_counter() - start
        finally:
            sandbox.stop()
        assert result.fetched == queries.ticket_count(engine) == args.tickets, result.summary()
        board = Board(engine, settings)
        samples, cards = [], 0
        for _ in range(args.runs):
            start = time.perf_counter()
            cards = board.load().total
            samples.append(time.perf_counter() - start)
        engine.dispose()
    load = median_ms(samples)
    print(
        f"{args.tickets:,} tickets: Jira {args.flavour} at {args.latency:.0f} ms against the cache"
    )
    print(
        f"  fetch from Jira (full sync):  {fetch * 1000:9.1f} ms  "
        f"({result.calls} API calls, {result.fetched / fetch:,.0f} issues/s)"
    )
    print(
        f"  board load from the cache:    {load:9.1f} ms  "
        f"({cards:,} cards, SQLite, median of {args.runs}; first {samples[0] * 1000:.1f} ms)"
    )
    print(f"  ratio: Jira takes {fetch * 1000 / load:,.0f}x as long as the cache")


if __name__ == "__main__":
    main()
