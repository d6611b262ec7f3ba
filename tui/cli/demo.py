"""`triage demo` and `triage sandbox`: a demo agency served by the sandbox Jira.

The demo goes through the same paths as a real workspace: the sandbox speaks Jira's REST
API on a loopback port, the sync fills the cache from it, and the outbox pushes to it.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from typing import Any

from triage.core.board.service import Board
from triage.core.config import Settings
from triage.core.demo import busiest_assignee, clear_demo, ensure_demo_cache, seed_demo_facts
from triage.core.redact import mask
from triage.core.tracker.client import Credentials, JiraTracker
from triage.core.tracker.sync import Sync, SyncProgress
from triage.storage.db import open_cache
from triage.storage.errors import TriageError
from triage.storage.models import utcnow
from triage.tui.cli.common import Subparsers


def add_parsers(sub: Subparsers) -> None:
    """The demo's commands."""
    demo = sub.add_parser(
        "demo", help="build a demo agency, serve it from the sandbox Jira, sync, open the board"
    )
    demo.add_argument("--tickets", type=int, default=2000, help="how many tickets (default 2000)")
    demo.add_argument("--seed", type=int, default=0, help="random seed; same seed, same agency")
    demo.add_argument(
        "--flavour",
        choices=("cloud", "dc"),
        default="cloud",
        help="which Jira the sandbox plays (default cloud)",
    )
    demo.add_argument("--no-open", action="store_true", help="build the cache, do not open it")

    sandbox = sub.add_parser("sandbox", help="run the sandbox Jira server standalone")
    sandbox.add_argument("--flavour", choices=("cloud", "dc"), default="cloud")
    sandbox.add_argument("--port", type=int, default=8089, help="loopback port (default 8089)")
    sandbox.add_argument("--tickets", type=int, default=2000)
    sandbox.add_argument("--seed", type=int, default=0)
    sandbox.add_argument("--latency-ms", type=float, default=0.0, help="delay every answer")


def _progress(progress: SyncProgress) -> None:
    print(
        f"\rsync: {progress.pages} pages, {progress.fetched:,} issues, "
        f"{progress.rate:,.0f} issues/s",
        end="",
        file=sys.stderr,
        flush=True,
    )


def run_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Serve a demo agency from the sandbox Jira, sync it into the cache, open the board."""
    from triage.sandbox.agency import build_agency
    from triage.sandbox.jira_server import JiraSandbox

    if args.tickets < 1:
        raise TriageError("--tickets must be at least 1: pass a positive number")
    engine = open_cache(settings.resolved_database_url())
    ensure_demo_cache(engine)
    agency = build_agency(tickets=args.tickets, seed=args.seed, now=utcnow())
    me = _demo_user(agency, args.flavour)
    token = secrets.token_urlsafe(16)
    sandbox = JiraSandbox.from_agency(agency, flavour=args.flavour, user=me, token=token)
    sandbox.start()
    try:
        demo = settings.model_copy(
            update={
                "jira": settings.jira.model_copy(
                    update={
                        "url": sandbox.url,
                        "user": me if args.flavour == "cloud" else "",
                        "projects": [agency.project_key],
                        "jql": "",
                    }
                )
            }
        )
        credentials = Credentials(sandbox.url, token, demo.jira.user)

        def tracker() -> JiraTracker:
            return JiraTracker(credentials, args.flavour)

        clear_demo(engine)
        result = Sync(engine, demo, tracker(), progress=_progress).run(full=True)
        print(file=sys.stderr)
        seed_demo_facts(engine, args.seed)
        print(result.summary())
        print(
            f"demo: {len(agency.clients)} clients, {len(agency.sites)} sites, "
            f"Jira sandbox ({args.flavour}) at {sandbox.url}, "
            f"cache {mask(settings.resolved_database_url())}"
        )
        if not args.no_open:
            from triage.tui.app import make_app

            make_app(Board(engine, demo), tracker).run()
    finally:
        sandbox.stop()
    return 0


def _demo_user(agency: Any, flavour: str) -> str:
    """The demo's "me": the developer with the most work in progress, as the API user."""
    _, account = busiest_assignee(agency.issues)
    person = next(p for p in agency.people if p.account_id == account)
    return str(person.email if flavour == "cloud" else person.username)


def run_sandbox(args: argparse.Namespace, settings: Settings) -> int:
    """Run the sandbox Jira until Ctrl-C."""
    from triage.sandbox.jira_server import serve

    try:
        serve(args.flavour, args.port, args.tickets, seed=args.seed, latency_ms=args.latency_ms)
    except OSError as error:
        raise TriageError(
            f"cannot listen on 127.0.0.1:{args.port} ({error.strerror}): pick another --port"
        ) from None
    return 0


COMMANDS = {"demo": run_demo, "sandbox": run_sandbox}
