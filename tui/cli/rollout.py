"""`triage security rollout|resume|retry|skip|sites`: an advisory's rollout across the fleet.

`rollout ID` starts it (a parent ticket and one per affected site, through the outbox),
pushes the tickets, then updates the sites in order within the limits of
`security.rollout`; `resume` continues every unfinished rollout from each site's last
finished step (after a crash, a kill, or a production window that has passed). Each site
runs as a job: `triage job ID` shows its log.

Heavy imports wait inside the commands, so `triage --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from triage.core.board.service import Board
    from triage.core.config import Settings
    from triage.core.security.scheduler import RolloutScheduler, RunSummary
    from triage.storage.models import RolloutSite

EXIT_PROBLEMS = 1


def add_parsers(security: argparse.ArgumentParser) -> None:
    """The rollout commands under `triage security`."""
    sub = security.add_subparsers(dest="security_command", metavar="ACTION")
    start = sub.add_parser("rollout", help="start an advisory's rollout and run it")
    start.add_argument("advisory", metavar="ID", help="the advisory's id, e.g. SA-CORE-2026-001")
    start.add_argument("--package", metavar="NAME", help="only this package of the advisory")
    start.add_argument(
        "--no-run", action="store_true", help="only queue the tickets; run later with resume"
    )
    sub.add_parser("resume", help="continue every unfinished rollout from each site's last step")
    for name, what in (("retry", "run a failed, skipped or no-fix site again"),
                       ("skip", "take a site out of a rollout, with a reason")):  # fmt: skip
        one = sub.add_parser(name, help=what)
        one.add_argument("site", metavar="SITE", help="the site's id")
        one.add_argument("--advisory", required=True, metavar="ID", help="the advisory's id")
        one.add_argument("--package", metavar="NAME", help="when the advisory has several")
        if name == "skip":
            one.add_argument("--reason", required=True, help="why (kept in the audit log)")
    sites = sub.add_parser("sites", help="each site of the rollouts: state, step, ticket")
    sites.add_argument("advisory", nargs="?", metavar="ID", help="only this advisory")
    sites.add_argument("--json", action="store_true", help="print a JSON list")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Dispatch a rollout command."""
    command = args.security_command
    if command == "sites":
        return _sites(args, settings)
    if command in ("retry", "skip"):
        return _retry_or_skip(args, settings)
    return _start_and_run(args, settings)


def _board(settings: Settings) -> tuple[Settings, Board]:
    from triage.core.board.service import Board
    from triage.core.demo_run import jira_for_cache
    from triage.storage.db import open_cache

    engine = open_cache(settings.resolved_database_url())
    settings, demo = jira_for_cache(settings, engine)
    return settings, Board(engine, demo.settings(settings) if demo else settings)


def _start_and_run(args: argparse.Namespace, settings: Settings) -> int:
    from triage.core.security.rollout import start_rollout
    from triage.tui.safe_text import line

    settings, board = _board(settings)
    scheduler = _scheduler(settings, board)
    only = None
    if args.security_command == "rollout":
        started = start_rollout(
            board, scheduler.inventory, settings.security.rollout, args.advisory, args.package
        )
        only = [(s.rollout.advisory_id, s.rollout.package) for s in started]
        for entry in started:
            affected = sum(1 for row in entry.sites if row.ticket_key)
            print(line(f"{entry.rollout.advisory_id} {entry.rollout.package}: "
                       f"{affected} sites to update, {entry.added} new "
                       f"(parent ticket {entry.rollout.ticket_key})"))  # fmt: skip
    else:
        back = scheduler.recover()
        if back:
            print(f"{len(back)} sites whose run ended early continue after their last step")
    _push(settings, board)
    if getattr(args, "no_run", False):
        print("queued: run `triage security resume` to update the sites")
        return 0
    try:
        summary = scheduler.run(only, on_end=lambda site: _print_site(board, site))
    finally:
        scheduler.runner.close()
    _push(settings, board)  # the comments and moves the run made
    return _report(board, summary, only)


def _scheduler(settings: Settings, board: Board) -> RolloutScheduler:
    from triage.core.security.scheduler import RolloutScheduler, rollout_runner
    from triage.core.security.site_work import DockerSiteWork
    from triage.core.sites.inventory import load_inventory

    inventory = load_inventory(settings.resolved_sites_file())
    limits = settings.security.rollout
    runner = rollout_runner(board, limits)
    timeout = limits.command_timeout_seconds
    return RolloutScheduler(board, inventory, limits, runner,
                            lambda: DockerSiteWork(command_timeout=timeout))  # fmt: skip


def _push(settings: Settings, board: Board) -> None:
    """Send the tickets (and any other waiting change); a Jira that fails is reported."""
    from triage.core.redact import mask
    from triage.core.tracker.push import Pusher
    from triage.storage.errors import TriageError
    from triage.tui.cli.jira import jira_for
    from triage.tui.safe_text import line

    try:
        settings, engine, tracker = jira_for(settings)
        result = Pusher(engine, settings, tracker).run()
    except TriageError as error:
        print(line(f"the tickets could not reach Jira yet ({mask(str(error))}): the sites "
                   "wait for them; run `triage security resume` once Jira answers"),
              file=sys.stderr)  # fmt: skip
        return
    print(line(mask(result.summary())))


def _print_site(board: Board, site: tuple[str, str, str]) -> None:
    from triage.storage import rollouts as store

    row = store.site_row(board.engine, site)
    if row is not None:
        print(_site_line(row), flush=True)


def _site_line(row: RolloutSite) -> str:
    from triage.tui.safe_text import line

    versions = f"{row.version} → {row.new_version}" if row.new_version else row.version
    lines = [f"{row.advisory_id}  {row.site:<24} {row.state.value:<9} {versions}"
             + (f"  {row.ticket_key}" if row.ticket_key else "")]  # fmt: skip
    if row.reason and row.state.value in ("failed", "no-fix", "skipped", "queued"):
        lines.append(f"    {row.reason}")
    return "\n".join(line(text) for text in lines)


def _report(board: Board, summary: RunSummary, only: list[tuple[str, str]] | None) -> int:
    from triage.core.security.scheduler import next_prod_window
    from triage.storage import rollouts as store

    rows = [
        row for row in store.site_rows(board.engine)
        if only is None or (row.advisory_id, row.package) in only
    ]  # fmt: skip
    counts = ", ".join(f"{n} {state}" for state, n in sorted(summary.states.items()))
    print(f"ran {summary.started} sites" + (f": {counts}" if counts else ""))
    if summary.waiting_ticket:
        print(f"{len(summary.waiting_ticket)} sites wait for their tickets to reach Jira: "
              "run `triage push`, then `triage security resume`")  # fmt: skip
    window = next_prod_window(rows)
    if window is not None:
        print(f"sites wait for their production window; the first opens {window:%F %H:%M} UTC:"
              " run `triage security resume` then")  # fmt: skip
    if summary.timed_out:
        print("stopped waiting: sites still run; `triage security sites` shows them")
    failed = summary.states.get("failed", 0)
    return EXIT_PROBLEMS if failed or summary.timed_out else 0


def _retry_or_skip(args: argparse.Namespace, settings: Settings) -> int:
    from triage.core.security.scheduler import retry_site, skip_site
    from triage.storage import rollouts as store
    from triage.storage.errors import TriageError

    settings, board = _board(settings)
    wanted = args.advisory.strip().casefold()
    rows = [
        row for row in store.site_rows(board.engine)
        if row.advisory_id.casefold() == wanted and row.site == args.site
        and (args.package is None or row.package == args.package)
    ]  # fmt: skip
    if len(rows) != 1:
        what = "is not in" if not rows else "has several packages in"
        raise TriageError(
            f"{args.site} {what} the rollout of {args.advisory}: check "
            "`triage security sites`" + (" and give --package" if rows else "")
        )
    row = rows[0]
    site = (row.advisory_id, row.package, row.site)
    if args.security_command == "skip":
        skip_site(board, site, args.reason)
        print(f"skipped {row.site} in {row.advisory_id}")
    else:
        retry_site(board, site)
        print(f"{row.site} is queued again in {row.advisory_id}: run `triage security resume`")
    return 0


def _sites(args: argparse.Namespace, settings: Settings) -> int:
    from triage.storage import rollouts as store

    _, board = _board(settings)
    rows = store.site_rows(board.engine, args.advisory)
    if args.json:
        keys = ("advisory_id", "package", "site", "state", "step", "version", "new_version",
                "branch", "ticket_key", "job_id", "reason")  # fmt: skip
        print(json.dumps([{k: getattr(r, k) for k in keys} | {"state": r.state.value}
                          for r in rows], indent=2, default=str))  # fmt: skip
        return 0
    if not rows:
        print("no rollout has started: `triage security rollout ID` starts one")
        return 0
    for row in rows:
        step = f"  after {row.step}" if row.step and not row.state.finished else ""
        print(_site_line(row) + step)
    return 0
