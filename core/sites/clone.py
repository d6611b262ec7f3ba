"""Clone production into another environment of a site (DESIGN.md, "Operations on a site").

Steps, each timed through the reporter and listed in the `CloneReport`: preflight · backup (the
target's tables moved, at once, into a schema beside its database; a dump to a file in its db
container when they cannot be moved) · import (prod dumped with --single-transaction; the data
of the site's skip_tables left out, their structure kept; pulled by the target's db container
over a network of the clone's own when both run on one engine, see `core.db_stream`) ·
sanitize and verify (see `core.sanitize`: Drupal's sanitizing and the site's SQL, then every
text column of every table scanned for an address neither sanitized nor allowed) · files
(through the engines' archive API) · code · post-clone commands · smoke.

Code: the web container's code_path is a git checkout of the site's repository. The clone
fetches there and checks out one exact commit, prod's current one unless a ref is given, so the
target runs what was committed and its files directory (ignored by git) stays where it is.

From the start of the import until the verify passes, the target carries the unsafe marker
(environments.UNSAFE_MARKER): a clone that stops in between never leaves unsanitized production
data looking like a usable environment. When the import itself fails, the target's old tables
are put back. The environments' operations (`SiteEnv`) and the timed steps, which deploy
shares, are in `core.site_env`.

Exceptions::

    TriageError (core.errors)
    └── CloneError          `report` lists the steps that ran
        ├── CloneIntoProd   the target is production (also a ValueError)
        ├── UnsafeClone     addresses remain after sanitizing; the target is marked unsafe
        └── CloneFailed     a step failed; the message names it and the target's backup
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import docker.errors
import requests

from triage.core.jobs.reporting import Cancelled, Reporter
from triage.core.sites.db_stream import copy_database
from triage.core.sites.environments import Engines
from triage.core.sites.inventory import PROD, Site
from triage.core.sites.sanitize import default_statements, find_addresses, text_columns
from triage.core.sites.site_env import SiteEnv, StepResult, refuse_prod_containers, timed_step
from triage.core.sites.smoke import SmokeResult, check_site
from triage.storage.errors import TriageError


class CloneError(TriageError):
    """A clone did not complete; `report` lists the steps that ran."""

    report: CloneReport | None = None


class CloneIntoProd(CloneError, ValueError):
    """The target of a clone was production."""


class UnsafeClone(CloneError):
    """E-mail addresses remain after sanitizing; the target is marked unsafe."""


class CloneFailed(CloneError):
    """A step of the clone failed."""


@dataclass
class CloneReport:
    """What a clone did: its steps with their times, and what the target holds now."""

    site: str
    target: str
    dry_run: bool = False
    steps: list[StepResult] = field(default_factory=list)
    backup: str = ""
    """The target's database before the clone: a schema beside it, or a file (a path) in its
    db container."""
    skipped_tables: list[str] = field(default_factory=list)
    """Tables whose structure was cloned without their data."""
    bytes_imported: int = 0
    files_copied: bool = False
    sha: str = ""
    """The commit the target's code is at."""
    unsafe: bool = False
    smoke: list[SmokeResult] = field(default_factory=list)
    scanned_columns: int = 0
    """Text columns the verify scanned for addresses."""


def clone_prod(
    site: Site,
    target: str,
    reporter: Reporter,
    engines: Engines,
    *,
    ref: str | None = None,
    skip_files: bool = False,
) -> CloneReport:
    """Make env `target` a sanitized copy of prod: database, files, code at `ref` (prod's)."""
    if target == PROD:
        raise CloneIntoProd(
            f"refusing to clone into prod of {site.id}: choose dev, test or another environment"
        )
    report = CloneReport(site.id, target, dry_run=reporter.dry_run)
    with _step(report, reporter, "preflight"):
        prod = SiteEnv(engines, site, PROD, reporter)
        dest = SiteEnv(engines, site, target, reporter)
        refuse_prod_containers(site, target)
        report.skipped_tables = prod.tables_like(site.skip_tables)
        reporter.log(f"data left out: {', '.join(report.skipped_tables) or 'none'}")
    with _step(report, reporter, "backup"):
        if dest.is_unsafe():  # unsanitized production data is not worth keeping
            reporter.log(f"{target} holds data that has not passed the sanitize check: it is "
                         "dropped, not backed up (an older backup stays where it is)")  # fmt: skip
        else:
            report.backup = dest.set_aside() or dest.backup()
    with _step(report, reporter, "import"):
        dest.mark_unsafe("production data was imported and has not passed the sanitize check")
        report.unsafe = not reporter.dry_run
        _import(prod, dest, report)
    with _step(report, reporter, "sanitize"):
        columns = text_columns(dest)
        statements = [*default_statements(columns), *site.sanitize_sql]
        for statement in statements:
            reporter.log(statement)
        dest.sql(";\n".join(statements))
    with _step(report, reporter, "verify"):
        report.scanned_columns = sum(len(names) for names in columns.values())
        found = find_addresses(dest, columns)
        if found:
            what = ", ".join(f"{column} ({count} rows)" for column, count in found.items())
            dest.mark_unsafe(f"e-mail addresses remain in {what}")
            raise UnsafeClone(
                f"e-mail addresses remain in {target} of {site.id} after sanitizing ({what}): "
                "it is marked unsafe; add sanitize_sql for them (or allowed_emails for "
                "published ones) in sites.toml and clone again"
            )
        reporter.log(
            f"verified: no e-mail address but sanitized or allowed ones in "
            f"{report.scanned_columns} text columns of {len(columns)} tables"
        )
        dest.clear_unsafe()
        report.unsafe = False
    if skip_files:
        reporter.log("files: skipped")
    else:
        with _step(report, reporter, "files"):
            prod.copy_files_to(dest)
            report.files_copied = True
    with _step(report, reporter, "code"):
        report.sha = dest.checkout(ref or prod.head())
    with _step(report, reporter, "post-clone"):
        dest.run(site.post_clone)
    with _step(report, reporter, "smoke"):
        report.smoke = check_site(dest.url(), dest.env.smoke, reporter)
    return report


@contextmanager
def _step(report: CloneReport, reporter: Reporter, name: str) -> Iterator[None]:
    """A timed step; a failure becomes CloneFailed naming the step, the backup and the marker."""
    try:
        with timed_step(reporter, report.steps, name):
            yield
    except CloneError as error:
        error.report = report
        raise
    except (
        TriageError,
        docker.errors.DockerException,
        requests.RequestException,
        OSError,
    ) as error:
        if isinstance(error, Cancelled):
            raise
        notes = [_backup_note(report.backup)] if report.backup else []
        if report.unsafe:
            notes.append("it is marked unsafe")
        note = f" ({'; '.join(notes)})" if notes else ""
        failed = CloneFailed(
            f"the clone of {report.site} into {report.target} stopped at step {name}{note}: {error}"
        )
        failed.report = report
        raise failed from error


def _import(prod: SiteEnv, dest: SiteEnv, report: CloneReport) -> None:
    """Copy prod's database into dest's; if that fails, put dest's old tables back."""
    moved = bool(report.backup) and not report.backup.startswith("/")
    if not moved:
        dest.drop_tables()
    try:
        report.bytes_imported = copy_database(prod, dest, report.skipped_tables)
    except (TriageError, docker.errors.DockerException, OSError):
        if moved and not report.dry_run:
            try:
                dest.put_back(report.backup)
            except (TriageError, docker.errors.DockerException, OSError) as error:
                dest.reporter.log(f"putting the old tables back failed too: {error}")
            else:
                report.backup = ""
                dest.reporter.log(f"the import failed: the old tables of {dest.name} are back")
        raise
    dest.reporter.log(f"imported {report.bytes_imported / 1e6:.1f} MB of SQL")


def _backup_note(backup: str) -> str:
    if not backup:
        return ""
    if backup.startswith("/"):
        return f"its database before the clone is {backup}"
    return f"its tables from before the clone are in schema {backup}"
