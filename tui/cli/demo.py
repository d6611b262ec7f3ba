"""`triage demo` and `triage sandbox`: a demo agency served by the sandbox Jira.

The demo goes through the same paths as a real workspace: the sandbox speaks Jira's REST
API on a loopback port, the sync fills the cache from it, and the outbox pushes to it.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triage.storage.errors import TriageError
from triage.tui.cli.common import Subparsers

if TYPE_CHECKING:  # the parser imports this module: heavy imports live in the commands
    from sqlalchemy.engine import Engine

    from triage.core.config import Settings
    from triage.core.demo_run import DemoRun, DemoState
    from triage.core.tracker.sync import SyncProgress


def add_parsers(sub: Subparsers) -> None:
    """The demo's commands."""
    demo = sub.add_parser(
        "demo", help="build a demo agency, serve it from the sandbox Jira, sync, open the board"
    )
    demo.add_argument(
        "--tickets", type=int, help="how many tickets (default: the last demo's, else 2000)"
    )
    demo.add_argument(
        "--seed", type=int, help="random seed; same seed, same agency (default: the last demo's)"
    )
    demo.add_argument(
        "--flavour",
        choices=("cloud", "dc"),
        help="which Jira the sandbox plays (default: the last demo's, else cloud)",
    )
    demo.add_argument(
        "--sites",
        type=int,
        metavar="N",
        help="also start N demo sites (1-12) on the local Docker engine, for a real rollout",
    )
    demo.add_argument("--no-open", action="store_true", help="build the cache, do not open it")
    demo.add_argument(
        "--reset",
        action="store_true",
        help="drop the last demo's waiting changes, its Jira's changes and what its sites "
        "left on Docker; start afresh",
    )

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


def _options(args: argparse.Namespace, saved: DemoState | None, waiting: int) -> DemoState:
    """The demo to build: the options given, else the last demo's; keeps its Jira if the same."""
    from triage.core.demo_run import DemoState, first_demo

    last = saved or first_demo()
    wanted = DemoState(
        tickets=last.tickets if args.tickets is None else args.tickets,
        seed=last.seed if args.seed is None else args.seed,
        flavour=args.flavour or last.flavour,
    )
    if wanted.tickets < 1:
        raise TriageError("--tickets must be at least 1: pass a positive number")
    if saved is not None and (saved.tickets, saved.seed) == (wanted.tickets, wanted.seed):
        wanted.issues = saved.issues
    elif saved is not None and waiting:
        raise TriageError(
            f"{waiting} change(s) wait for the demo built with --tickets {saved.tickets} "
            f"--seed {saved.seed}: run `triage demo` without --tickets/--seed to push them, "
            "or add --reset to drop them"
        )
    return wanted


def run_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Serve a demo agency from the sandbox Jira, sync it into the cache, open the board.

    The last demo's Jira is served again, and changes still waiting are pushed to it first
    (`--reset` drops both). While it runs, `demo-run.json` lets other terminals reach it.
    """

    from triage.core.board.service import Board
    from triage.core.demo import busiest_assignee, ensure_demo_cache, seed_demo_facts
    from triage.core.demo_run import (
        DemoRun,
        load_state,
        remove_run,
        running_demo,
        save_state,
        write_run,
    )
    from triage.core.redact import mask
    from triage.core.tracker.sync import Sync
    from triage.sandbox.agency import build_agency
    from triage.sandbox.jira_server import JiraSandbox
    from triage.storage.db import open_cache
    from triage.storage.models import utcnow
    from triage.storage.queries import open_change_counts
    from triage.tui.cli import demo_sites

    engine = open_cache(settings.resolved_database_url())
    ensure_demo_cache(engine)
    data_dir = settings.resolved_data_dir()
    if (other := running_demo(data_dir)) is not None:
        raise TriageError(
            f"a demo already runs on this data directory (process {other.pid}): use it with "
            "`triage` in another terminal, or quit it first"
        )
    saved = load_state(data_dir)
    if saved is not None and args.reset:
        saved.issues = []  # the same agency, as built
    waiting = sum(open_change_counts(engine).values())
    options = _options(args, saved, waiting if not args.reset else 0)
    if args.reset and (left := demo_sites.remove_leftovers(data_dir)):
        print(f"removed {left} containers, volumes and networks a demo left (--reset)")
    docker = demo_sites.docker_engine(args.sites) if args.sites is not None else None
    agency = build_agency(tickets=options.tickets, seed=options.seed, now=utcnow())
    me = _demo_user(agency, options.flavour)
    kept = {str(issue["key"]).upper(): issue for issue in options.issues}
    issues = [kept.pop(str(i["key"]).upper(), i) for i in agency.issues] + list(kept.values())
    sandbox = JiraSandbox(
        issues=issues,
        fields=agency.fields,
        statuses=agency.statuses,
        people=agency.people,
        project_key=agency.project_key,
        flavour="dc" if options.flavour == "dc" else "cloud",
        user=me,
        token=secrets.token_urlsafe(16),
    )
    sandbox.start()
    stack = contextlib.ExitStack()
    run = DemoRun(sandbox.url, options.flavour, me, sandbox.token, agency.project_key)
    try:
        if docker is not None:
            made = stack.enter_context(
                demo_sites.running_sites(docker, data_dir, args.sites, engine)
            )
            run = replace(run, sites_file=str(made.sites_file), rollout=made.rollout)
        write_run(data_dir, run)
        demo = run.settings(settings)
        _carry_over(engine, demo, run, waiting, args.reset)
        result = Sync(engine, demo, run.tracker(), progress=_progress).run(full=True)
        print(file=sys.stderr)
        seed_demo_facts(engine, options.seed, busiest_assignee(agency.issues))
        print(result.summary())
        _demo_fleet(engine, data_dir, agency)
        print(
            f"demo: {len(agency.clients)} clients, {len(agency.sites)} sites, "
            f"Jira sandbox ({options.flavour}) at {sandbox.url}, "
            f"cache {mask(settings.resolved_database_url())}"
        )
        if not args.no_open:
            from triage.tui.app import make_app

            make_app(Board(engine, demo), run.tracker).run()
            _say_waiting(engine)
    finally:
        remove_run(data_dir, run)
        options.issues = sandbox.changed_issues(agency.issues)
        save_state(data_dir, options)
        stack.close()  # the demo's sites, while their Jira still answers
        sandbox.stop()
    return 0


def _demo_fleet(engine: Engine, data_dir: Path, agency: Any) -> None:
    """The demo sites' repositories with composer.lock files, read as a real fleet is."""
    from triage.core.security.demo import load_demo_fleet
    from triage.sandbox.agency_fleet import ADVISORIES, build_fleet

    try:
        fleet = build_fleet(
            data_dir / "demo-fleet", [(s.id, s.drupal_version) for s in agency.sites]
        )
    except (OSError, subprocess.SubprocessError) as error:
        print(f"demo: no site repositories, git could not make them ({error})", file=sys.stderr)
        return
    read, advisories = load_demo_fleet(
        engine, data_dir, [(s.id, s.repo, s.prod_ref) for s in fleet], ADVISORIES
    )
    print(
        f"demo: {read} site repositories read, {advisories} advisories "
        "(`triage security`, `triage fleet packages drupal/core`)"
    )


def _carry_over(engine: Engine, demo: Settings, run: DemoRun, waiting: int, reset: bool) -> None:
    """Push the last demo's waiting changes to its Jira (or drop them), then empty the cache."""
    from triage.core.demo import clear_demo
    from triage.core.tracker.rounds import push_outbox

    if reset:
        clear_demo(engine)
        if waiting:
            print(f"dropped {waiting} change(s) the last demo left waiting (--reset)")
        return
    if waiting:
        pushed = push_outbox(engine, demo, run.tracker())
        print(
            f"the last demo left {waiting} change(s) waiting; {pushed.summary()} "
            "(`triage demo --reset` drops them instead)"
        )
    clear_demo(engine, keep_open=True)


def _say_waiting(engine: Engine) -> None:
    """After the board closes: what happens to changes the sandbox has not taken."""
    from triage.storage.queries import open_change_counts

    waiting = sum(open_change_counts(engine).values())
    if waiting:
        print(
            f"{waiting} demo change(s) still wait for Jira: the next `triage demo` pushes them, "
            "`triage demo --reset` drops them"
        )


def _demo_user(agency: Any, flavour: str) -> str:
    """The demo's "me": the developer with the most work in progress, as the API user."""
    from triage.core.demo import busiest_assignee

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
