"""`triage fleet`, `triage advisories` and `triage security`: what the sites run, what threatens it.

- `fleet refresh` reads every site's composer.lock (main, and prod's ref when it differs)
  through a bare mirror per site; `fleet packages [NAME]` says which site runs which version.
- `advisories poll` polls the configured feeds; `advisories add` keeps one typed by hand.
- `security` lists each advisory, its severity and the sites it concerns with their state.

Heavy imports wait inside the commands, so `triage --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from triage.tui.cli import rollout
from triage.tui.cli.common import Subparsers

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from triage.core.config import Settings

EXIT_PROBLEMS = 1


def add_parsers(sub: Subparsers) -> None:
    """The fleet, advisories and security commands."""
    fleet = sub.add_parser("fleet", help="what each site runs: read and list composer.lock files")
    fleet_sub = fleet.add_subparsers(dest="fleet_command", metavar="ACTION", required=True)
    fleet_sub.add_parser("refresh", help="fetch every site's repository and read its lock")
    packages = fleet_sub.add_parser("packages", help="which site runs which version of a package")
    packages.add_argument("name", nargs="?", metavar="NAME", help="a package, e.g. drupal/core")
    packages.add_argument("--json", action="store_true", help="print a JSON list")

    advisories = sub.add_parser("advisories", help="security advisories: poll the feeds, add one")
    adv_sub = advisories.add_subparsers(dest="advisories_command", metavar="ACTION", required=True)
    adv_sub.add_parser("poll", help="poll the advisory feeds and Drupal's PSA feed once")
    add = adv_sub.add_parser("add", help="add an advisory by hand (announced, not yet in a feed)")
    add.add_argument("id", metavar="ID", help="the advisory's id, e.g. SA-CORE-2025-008")
    add.add_argument("--package", required=True, metavar="NAME", help="e.g. drupal/core")
    add.add_argument(
        "--affected", required=True, metavar="CONSTRAINT", help='e.g. ">=10.0 <10.4.9 || 11.0.*"'
    )
    add.add_argument("--severity", default="", help="critical, high, moderate, medium or low")
    add.add_argument("--title", default="", help="a short title")
    add.add_argument("--link", default="", help="where the advisory is published")

    security = sub.add_parser("security", help="each advisory, the sites it affects, rollouts")
    security.add_argument("--json", action="store_true", help="print a JSON list")
    rollout.add_parsers(security)


def _engine(settings: Settings) -> Engine:
    from triage.storage.db import open_cache

    return open_cache(settings.resolved_database_url())


def run_fleet(args: argparse.Namespace, settings: Settings) -> int:
    """`fleet refresh` or `fleet packages`."""
    if args.fleet_command == "refresh":
        return _refresh(settings)
    return _packages(args, settings)


def _refresh(settings: Settings) -> int:
    from triage.core.security.fleet import refresh
    from triage.core.sites.inventory import load_inventory
    from triage.tui.safe_text import line

    inventory = load_inventory(settings.resolved_sites_file())
    reads = refresh(
        _engine(settings),
        inventory,
        settings.resolved_data_dir(),
        concurrency=settings.security.fetch_concurrency,
        timeout=settings.security.fetch_timeout_seconds,
    )
    failed = [read for read in reads if read.error]
    for read in failed:
        print(f"{read.site} {read.ref}: {line(read.error)}", file=sys.stderr)
    sites = {read.site for read in reads}
    print(f"read {len(reads) - len(failed)} of {len(reads)} locks of {len(sites)} sites")
    return EXIT_PROBLEMS if failed else 0


def _packages(args: argparse.Namespace, settings: Settings) -> int:
    from triage.storage import security as rows
    from triage.tui.safe_text import line

    name = args.name.strip().lower() if args.name else None
    found = rows.packages(_engine(settings), [name] if name else None)
    if args.json:
        keys = ("name", "site", "ref", "version", "drupal_version", "coverage")
        print(json.dumps([{k: getattr(p, k) for k in keys} for p in found], indent=2))
        return 0
    if not found:
        what = f"no site runs {name}" if name else "no packages known"
        print(f"{what}: run `triage fleet refresh` first if the sites were never read")
        return 0
    width = max(len(f"{p.site} ({p.ref})") for p in found)
    for p in found:
        shown = p.drupal_version and p.drupal_version != p.version
        extra = f"  {p.drupal_version}" if shown else ""
        cover = f"  {p.coverage}" if p.coverage and p.coverage != "covered" else ""
        where = f"{p.site} ({p.ref})"
        print(line(f"{p.name:<28} {where:<{width}}  {p.version}{extra}{cover}"))
    return 0


def run_advisories(args: argparse.Namespace, settings: Settings) -> int:
    """`advisories poll` or `advisories add`."""
    from triage.core.security import advisories
    from triage.tui.safe_text import line

    engine = _engine(settings)
    if args.advisories_command == "add":
        added = advisories.add_manual(
            engine, args.id, args.package, args.affected,
            severity=args.severity, title=args.title, link=args.link,
        )  # fmt: skip
        print(line(f"kept {added.id} for {added.package} {added.affected}"))
        return 0
    report = advisories.poll(engine, settings.security)
    for problem in report.problems:
        print(line(problem), file=sys.stderr)
    print(f"{report.new} new advisories, {report.seen} seen before")
    return EXIT_PROBLEMS if report.failed_feeds else 0


def run_security(args: argparse.Namespace, settings: Settings) -> int:
    """Each advisory, its severity, and the sites it concerns with their state."""
    if args.security_command:
        return rollout.run(args, settings)
    from triage.core.security.matching import PATCHED, security_report
    from triage.tui.safe_text import line

    report = security_report(_engine(settings), with_rollouts=True)
    if args.json:
        print(json.dumps([entry.as_json() for entry in report], indent=2))
        return 0
    if not report:
        print("no advisories known: run `triage advisories poll`, or add one by hand")
        return 0
    for entry in report:
        a = entry.advisory
        counts = ", ".join(f"{count} {state}" for state, count in entry.counts())
        print(line(f"{a.id}  {a.severity or '-'}  {a.package} {a.affected}  ({counts})"))
        if a.title:
            print(line(f"  {a.title}"))
        for site in entry.sites:
            if site.state != PATCHED:
                where = f"{site.site} ({site.ref})" if site.ref else site.site
                ticket = f"  {site.ticket}" if site.ticket else ""
                print(line(f"  {site.state:<9} {where}  {site.version}{ticket}"))
    return 0


COMMANDS = {"fleet": run_fleet, "advisories": run_advisories, "security": run_security}
