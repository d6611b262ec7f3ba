"""Sites and jobs from the command line: list sites, open a branch, clone, deploy, see jobs.

An operation runs as a job in this process: its log lines are printed as they reach the
cache, then one summary line. Exit 0 when it succeeded, 1 when it failed or was cancelled,
2 when the input was wrong (one sentence on stderr, before anything ran).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from triage.storage.errors import TriageError
from triage.tui.cli.common import Subparsers

if TYPE_CHECKING:  # the parser imports this module: heavy imports live in the commands
    from datetime import datetime

    from sqlalchemy.engine import Engine

    from triage.core.board.service import Board
    from triage.core.config import Settings
    from triage.core.jobs.reporting import Reporter
    from triage.core.jobs.runner import JobRunner
    from triage.core.sites.inventory import Site
    from triage.storage.models import Job

EXIT_FAILED = 1
FOLLOW_TICK_S = 0.25


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def add_parsers(sub: Subparsers) -> None:
    """The site and job commands."""
    sub.add_parser("sites", help="list the sites and the state of their environments")
    branch = sub.add_parser("branch", help="open a ticket's git branch: create or switch, push")
    branch.add_argument("key", metavar="KEY")
    branch.add_argument("--dry-run", action="store_true", help="print the commands, run none")
    clone = sub.add_parser("clone", help="clone prod (sanitized) into another environment")
    clone.add_argument("site", metavar="SITE")
    clone.add_argument("--to", required=True, metavar="ENV", help="the environment to replace")
    clone.add_argument("--skip-files", action="store_true", help="leave the files directory")
    clone.add_argument("--ref", metavar="REF", help="check out this ref (default: prod's)")
    clone.add_argument("--dry-run", action="store_true", help="print the commands, run none")
    deploy = sub.add_parser("deploy", help="deploy a ref to an environment of a site")
    deploy.add_argument("site", metavar="SITE")
    deploy.add_argument("ref", metavar="REF", help="branch, tag or commit")
    deploy.add_argument("--to", required=True, metavar="ENV", help="the environment")
    deploy.add_argument("--dry-run", action="store_true", help="print every command, run none")
    deploy.add_argument("--ticket", metavar="KEY", help="the ticket this deploy is for")
    deploy.add_argument("--confirm", metavar="SITE", help="the site id again: prod needs it")
    jobs = sub.add_parser("jobs", help="list the latest jobs")
    jobs.add_argument("--limit", type=_positive, default=20, metavar="N", help="default 20")
    job = sub.add_parser("job", help="show a job's steps and log, or cancel it")
    job.add_argument("id", type=int, metavar="ID")
    job.add_argument("--cancel", action="store_true", help="stop it at its next step")


def run_sites(args: argparse.Namespace, settings: Settings) -> int:
    """Print every site with the state of each environment, one engine problem per line."""
    from triage.core.redact import mask
    from triage.core.sites.environments import Engines, state
    from triage.core.sites.inventory import PROD, load_inventory
    from triage.tui.safe_text import line

    path = settings.resolved_sites_file()
    inventory = load_inventory(path)
    if not inventory.sites:
        print(f"no sites in {path}")
        return 0
    engines = Engines()
    try:
        for site in sorted(inventory.sites.values(), key=lambda s: s.id):
            package = f", {site.package}" if site.package else ""
            print(f"{site.id}  {site.name} ({site.client}{package})")
            for name in sorted(site.envs, key=lambda n: (n != PROD, n)):
                try:
                    env = state(engines, site, name)
                except TriageError as error:
                    print(f"  {name:<8} {line(mask(str(error)))}")
                    continue
                unsafe = "  UNSAFE: holds unsanitized production data" if env.unsafe else ""
                print(f"  {name:<8} {env.status:<8} {mask(env.url or '-')}{unsafe}")
    finally:
        engines.close()
    return 0


def run_branch(args: argparse.Namespace, settings: Settings) -> int:
    """Open the ticket's branch as a job; record it on the ticket."""
    from triage.core.actions import ActionContext, run_action
    from triage.core.board.service import Board
    from triage.core.sites.inventory import load_inventory
    from triage.storage.db import open_cache

    engine = open_cache(settings.resolved_database_url())
    board = Board(engine, settings)
    inventory = load_inventory(settings.resolved_sites_file())
    with _runner(engine, settings, board) as runner:
        context = ActionContext(args.key.upper(), board, runner, inventory, dry_run=args.dry_run)
        return follow(runner, run_action("open-branch", context))


def run_clone(args: argparse.Namespace, settings: Settings) -> int:
    """Clone prod into an environment as a job."""
    from triage.core.sites.inventory import PROD
    from triage.storage.db import open_cache

    site, env = _site_env(settings, args.site, args.to)
    if env == PROD:
        raise TriageError(f"cannot clone into prod of {site.id}: choose another environment")
    if args.ref:
        _check_ref(site, args.ref)

    def operation(reporter: Reporter) -> str:
        from triage.core.sites.clone import clone_prod
        from triage.core.sites.environments import Engines

        engines = Engines()
        try:
            report = clone_prod(
                site, env, reporter, engines, ref=args.ref, skip_files=args.skip_files
            )
        finally:
            engines.close()
        at = f" at {report.sha[:10]}" if report.sha else ""
        return f"prod of {site.id} cloned into {env}{at}"

    engine = open_cache(settings.resolved_database_url())
    with _runner(engine, settings) as runner:
        job_id = runner.submit("clone", site.id, env, None, args.ref, args.dry_run, operation)
        return follow(runner, job_id)


def run_deploy(args: argparse.Namespace, settings: Settings) -> int:
    """Deploy a ref to an environment as a job; prod goes through the ticket's release."""
    from triage.core.board.service import Board
    from triage.core.sites.deploy_rules import DeployRequest
    from triage.core.sites.git import Git
    from triage.core.sites.inventory import PROD
    from triage.storage.db import open_cache

    site, env = _site_env(settings, args.site, args.to)
    if env == PROD:
        return _release(args, settings, site)
    engine = open_cache(settings.resolved_database_url())
    board = Board(engine, settings)
    key = column = branch = None
    if args.ticket:
        ticket = board.ticket(args.ticket)
        if ticket.site and ticket.site != site.id:
            raise TriageError(f"{ticket.key} belongs to site {ticket.site}, not {site.id}")
        key, branch = ticket.key, ticket.branch
        column = ticket.column.value if ticket.column else None
    _check_ref(site, args.ref)
    request = DeployRequest(site, args.ref, env, ticket_column=column, branch=branch)

    def operation(reporter: Reporter) -> str:
        from triage.core.sites.deploy import deploy
        from triage.core.sites.environments import Engines

        engines = Engines()
        try:
            deploy(request, reporter, engines, Git(site, reporter))
        finally:
            engines.close()
        if reporter.dry_run:
            return f"dry run: would deploy {args.ref} to {env} of {site.id}"
        return f"{args.ref} deployed to {env} of {site.id}"

    with _runner(engine, settings, board) as runner:
        job_id = runner.submit("deploy", site.id, env, key, args.ref, args.dry_run, operation)
        return follow(runner, job_id)


def _release(args: argparse.Namespace, settings: Settings, site: Site) -> int:
    """A production deploy: the ticket's "Deploy to prod" action, with the same rules."""
    from triage.core.actions import ActionContext, run_action
    from triage.core.board.service import Board
    from triage.core.sites.inventory import load_inventory
    from triage.storage.db import open_cache

    if not args.ticket:
        raise TriageError(
            f"a deploy to prod of {site.id} is the release of a ticket in Ready To Deploy: "
            "add --ticket KEY"
        )
    if args.confirm != site.id:
        raise TriageError(f"a deploy to prod needs a confirm: add --confirm {site.id}")
    engine = open_cache(settings.resolved_database_url())
    board = Board(engine, settings)
    ticket = board.ticket(args.ticket)
    if ticket.site != site.id:
        raise TriageError(f"{ticket.key} belongs to site {ticket.site or 'none'}, not {site.id}")
    if ticket.branch and ticket.branch != args.ref:
        raise TriageError(
            f"{ticket.key} is released from its branch {ticket.branch}, not {args.ref}: "
            f"deploy {ticket.branch}"
        )
    inventory = load_inventory(settings.resolved_sites_file())
    with _runner(engine, settings, board) as runner:
        context = ActionContext(
            ticket.key, board, runner, inventory, confirm=args.confirm, dry_run=args.dry_run
        )
        return follow(runner, run_action("deploy-prod", context))


def run_jobs(args: argparse.Namespace, settings: Settings) -> int:
    """List the latest jobs, newest first."""
    from triage.storage.db import open_cache
    from triage.storage.models import JobState
    from triage.tui.safe_text import line

    engine = open_cache(settings.resolved_database_url())
    with _runner(engine, settings) as runner:
        found = runner.jobs(args.limit)
    if not found:
        print("no jobs yet")
        return 0
    for job in found:
        where = "/".join(part for part in (job.site, job.env) if part) or "-"
        when = _when(job.created)
        outcome = job.error if job.state is not JobState.SUCCEEDED and job.error else job.summary
        dry = " (dry run)" if job.dry_run else ""
        print(
            f"{job.id:>5}  {job.state.value:<11} {job.kind:<12} {line(where):<20} "
            f"{line(job.ticket_key) or '-':<10} {when}  {_duration(job.duration_ms):>7}  "
            f"{line(outcome)}{dry}"
        )
    return 0


def run_job(args: argparse.Namespace, settings: Settings) -> int:
    """Show one job with its steps and log, or cancel it."""
    from triage.storage.db import open_cache
    from triage.tui.safe_text import line

    engine = open_cache(settings.resolved_database_url())
    with _runner(engine, settings) as runner:
        if args.cancel:
            job = runner.cancel(args.id)
            if job.state.finished:
                print(f"job {job.id} {job.state.value}")
            else:
                print(f"job {job.id}: cancel requested; it stops at its next step")
            return 0
        job = runner.job(args.id)
        steps, lines = runner.steps(args.id), runner.log(args.id)
    ticket = f" for {job.ticket_key}" if job.ticket_key else ""
    where = "/".join(part for part in (job.site, job.env) if part) or "-"
    dry = "dry run, " if job.dry_run else ""
    head = f"{job.kind} {where}{ticket} ({dry}ref {job.ref or '-'}), by {job.actor}"
    print(f"job {job.id}: {line(head)}")
    print(
        f"  {job.state.value}; created {_when(job.created)}, started {_when(job.started)}, "
        f"finished {_when(job.finished)}, took {_duration(job.duration_ms)}"
    )
    if job.summary or job.error:
        print(f"  {line(job.error or job.summary)}")
    print("steps:" if steps else "steps: none")
    for step in steps:
        took = _duration(step.duration_ms)
        print(f"  {step.position:>2}. {line(step.name):<28} {step.state.value:<11} {took:>7}")
    print("log:" if lines else "log: empty")
    for entry in lines:
        print(f"  {line(entry.line)}")
    return 0


def follow(runner: JobRunner, job_id: int) -> int:
    """Print the job's log lines as they come, then one summary line; the exit status."""
    from triage.storage.models import JobState
    from triage.tui.safe_text import line

    after = 0
    cancelling = False
    while True:
        try:
            ended = runner.done(job_id, FOLLOW_TICK_S)
        except KeyboardInterrupt:
            if cancelling:
                raise
            cancelling = True
            print(f"cancelling job {job_id}: it stops at its next step", file=sys.stderr)
            runner.cancel(job_id)
            continue
        for entry in runner.log(job_id, after):
            print(line(entry.line), flush=True)
            after = entry.id or after
        if ended:
            break
    job = runner.job(job_id)
    print(summary_line(job), flush=True)
    return 0 if job.state is JobState.SUCCEEDED else EXIT_FAILED


def summary_line(job: Job) -> str:
    """One line saying how a job ended."""
    from triage.storage.models import JobState
    from triage.tui.safe_text import line

    outcome = job.summary if job.state is JobState.SUCCEEDED else (job.error or job.summary)
    return f"job {job.id} {job.state.value} in {_duration(job.duration_ms)}: {line(outcome)}"


def _runner(engine: Engine, settings: Settings, board: Board | None = None) -> JobRunner:
    from triage.core.board.service import Board
    from triage.core.jobs.runner import JobRunner

    actor = (board or Board(engine, settings)).me.name
    return JobRunner(engine, settings.max_jobs, actor)


def _site_env(settings: Settings, site_id: str, env: str) -> tuple[Site, str]:
    from triage.core.sites.inventory import Inventory, load_inventory

    inventory: Inventory = load_inventory(settings.resolved_sites_file())
    site = inventory.site(site_id)
    site.env(env)
    return site, env


def _check_ref(site: Site, ref: str) -> None:
    """Refuse a ref the site's repository does not have, before any job starts."""
    from triage.core.jobs.reporting import ListReporter
    from triage.core.sites.git import Git

    git = Git(site, ListReporter())
    git.ensure_checkout()
    git.resolve(ref)


def _when(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _duration(ms: int | None) -> str:
    if ms is None:
        return "-"
    if ms < 10_000:
        return f"{ms / 1000:.1f}s"
    minutes, seconds = divmod(ms // 1000, 60)
    return f"{minutes}m{seconds:02d}s" if minutes else f"{seconds}s"


COMMANDS = {
    "sites": run_sites,
    "branch": run_branch,
    "clone": run_clone,
    "deploy": run_deploy,
    "jobs": run_jobs,
    "job": run_job,
}
