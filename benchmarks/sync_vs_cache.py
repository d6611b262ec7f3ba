"""Why a cache: the board loads 20,000 tickets from it far faster than Jira can send them.

In one run: the time to fetch --tickets issues from the sandbox Jira at --latency ms per
request (a full sync: every page the sync asks for, mapped and stored in one transaction,
which benchmarks/upsert.py shows is a small part), then the median of --runs
`core.board.Board.load` calls on the synced SQLite cache. Prints both and their ratio.
The board's Done column shows only recent tickets, so it holds fewer cards than tickets.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import median_ms

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--latency", type=float, default=100.0, help="ms per Jira request")
    parser.add_argument("--flavour", choices=("cloud", "dc"), default="cloud")
    parser.add_argument("--runs", type=int, default=5, help="board loads")
    args = parser.parse_args()
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
