"""Clone production into another environment of a site (DESIGN.md, "Operations on a site").

Steps, each timed through the reporter and listed in the `CloneReport`: preflight · backup (the
target's database dumped to a timestamped file in its db container) · import (prod dumped with
--single-transaction; the data of the site's skip_tables left out, their structure kept;
streamed from prod's db container straight into the target's client) · sanitize (accounts and
sessions, then the site's SQL) · verify (no address at the production domain left) · files
(through the engines' archive API) · code · post-clone commands · smoke.

Code: the web container's code_path is a git checkout of the site's repository. The clone
fetches there and checks out one exact commit, prod's current one unless a ref is given, so the
target runs what was committed and its files directory (ignored by git) stays where it is.

From the start of the import until the verify passes, the target carries the unsafe marker
(environments.UNSAFE_MARKER): a clone that stops in between never leaves unsanitized production
data looking like a usable environment. The environments' operations (`SiteEnv`) and the timed
steps, which deploy shares, are in `core.site_env`.

Exceptions::

    TriageError (core.errors)
    └── CloneError          `report` lists the steps that ran
        ├── CloneIntoProd   the target is production (also a ValueError)
        ├── UnsafeClone     production addresses remain after sanitizing; the target is marked
        └── CloneFailed     a step failed; the message names it and the target's backup
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import docker.errors
import requests

from triage.core.jobs.reporting import Cancelled, Reporter
from triage.core.sites.containers import CommandFailed, pipe
from triage.core.sites.environments import Engines
from triage.core.sites.inventory import PROD, Site
from triage.core.sites.site_env import BACKUP_DIR as BACKUP_DIR
from triage.core.sites.site_env import BACKUPS_KEPT as BACKUPS_KEPT
from triage.core.sites.site_env import SiteEnv as SiteEnv
from triage.core.sites.site_env import StepResult as StepResult
from triage.core.sites.site_env import reason as reason
from triage.core.sites.site_env import refuse_prod_containers as refuse_prod_containers
from triage.core.sites.site_env import timed_step as timed_step
from triage.core.sites.smoke import SmokeResult, check_site
from triage.storage.errors import TriageError

SANITIZED_MAIL = "CONCAT('user+', uid, '@localhost.localdomain')"
UNUSABLE_PASSWORD = "!sanitized-by-triage"
"""Not a hash any password matches: every account needs a new password on a clone."""
DEFAULT_SANITIZE = [
    f"UPDATE users_field_data SET mail = {SANITIZED_MAIL}, init = {SANITIZED_MAIL},"
    f" pass = '{UNUSABLE_PASSWORD}' WHERE uid > 0",
    "TRUNCATE TABLE sessions",
]
VERIFIED_TABLES = ["users_field_data"]
TEXT_TYPES = "'char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext'"
_NAMED_TABLE = re.compile(r"\b(?:UPDATE|INTO|FROM|TABLE)\s+`?([A-Za-z0-9_$]+)`?", re.IGNORECASE)
_SITE_MAIL = re.compile(r's:4:"mail";s:\d+:"[^"@]*@([A-Za-z0-9.-]+)"')


class CloneError(TriageError):
    """A clone did not complete; `report` lists the steps that ran."""

    report: CloneReport | None = None


class CloneIntoProd(CloneError, ValueError):
    """The target of a clone was production."""


class UnsafeClone(CloneError):
    """Production addresses remain after sanitizing; the target is marked unsafe."""


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
    """The target's database before the clone: a file in its db container."""
    skipped_tables: list[str] = field(default_factory=list)
    """Tables whose structure was cloned without their data."""
    bytes_imported: int = 0
    files_copied: bool = False
    sha: str = ""
    """The commit the target's code is at."""
    unsafe: bool = False
    smoke: list[SmokeResult] = field(default_factory=list)


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
        domains = production_domains(prod)
        report.skipped_tables = prod.tables_like(site.skip_tables)
        reporter.log(f"data left out: {', '.join(report.skipped_tables) or 'none'}")
    with _step(report, reporter, "backup"):
        report.backup = dest.backup()
    with _step(report, reporter, "import"):
        dest.mark_unsafe("production data was imported and has not passed the sanitize check")
        report.unsafe = not reporter.dry_run
        dest.drop_tables()
        report.bytes_imported = pipe(
            prod.db, dump_command(prod, report.skipped_tables), dest.db,
            [*dest.client(), dest.env.db_name], reporter,
            source_env=prod.db_env, sink_env=dest.db_env,
        )  # fmt: skip
        reporter.log(f"imported {report.bytes_imported / 1e6:.1f} MB of SQL")
    with _step(report, reporter, "sanitize"):
        for statement in [*DEFAULT_SANITIZE, *site.sanitize_sql]:
            reporter.log(statement)
        dest.sql(";\n".join([*DEFAULT_SANITIZE, *site.sanitize_sql]))
    with _step(report, reporter, "verify"):
        tables = verified_tables(site)
        found = find_addresses(dest, tables, domains)
        if found:
            what = ", ".join(f"{column} ({count} rows)" for column, count in found.items())
            dest.mark_unsafe(f"addresses at {', '.join(domains)} remain in {what}")
            raise UnsafeClone(
                f"addresses at {', '.join(domains)} remain in {target} of {site.id} after "
                f"sanitizing ({what}): it is marked unsafe; fix sanitize_sql and clone again"
            )
        reporter.log(f"no address at {', '.join(domains)} left in {', '.join(tables)}")
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
        notes = [f"its database before the clone is {report.backup}"] if report.backup else []
        if report.unsafe:
            notes.append("it is marked unsafe")
        note = f" ({'; '.join(notes)})" if notes else ""
        failed = CloneFailed(
            f"the clone of {report.site} into {report.target} stopped at step {name}{note}: {error}"
        )
        failed.report = report
        raise failed from error


def dump_command(prod: SiteEnv, skipped: list[str]) -> list[str]:
    """mysqldump of prod: structure of every table, data of all but the skipped ones."""
    database = prod.env.db_name
    base = [*prod.client("mysqldump"), "--single-transaction", "--quick", "--no-tablespaces"]
    ignore = [f"--ignore-table={database}.{table}" for table in skipped]
    parts = [shlex.join([*base, "--no-data", database, *skipped])] if skipped else []
    parts.append(shlex.join([*base, *ignore, database]))
    return ["sh", "-c", " && ".join(parts)]


def production_domains(prod: SiteEnv) -> list[str]:
    """Mail domains of production: prod's URL host (without www.) and the site's mail domain."""
    domains: set[str] = set()
    host = (urlsplit(prod.env.url).hostname or "").lower()
    if host and host != "localhost" and not _is_ip(host):
        domains.add(host.removeprefix("www."))
    try:
        config = prod.sql(
            "SELECT data FROM config WHERE collection = '' AND name = 'system.site'",
            read_only=True,
        )
    except CommandFailed:
        config = ""
    found = _SITE_MAIL.search(config)
    if found:
        domains.add(found.group(1).lower())
    if not domains:
        raise CloneFailed(
            f"the production domain of {prod.site.id} is unknown, so the sanitizing cannot be "
            "verified: set url for env prod in sites.toml"
        )
    return sorted(domains)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def verified_tables(site: Site) -> list[str]:
    """users_field_data, and every table the site's sanitize SQL names."""
    named = [match for sql in site.sanitize_sql for match in _NAMED_TABLE.findall(sql)]
    return list(dict.fromkeys([*VERIFIED_TABLES, *named]))


def find_addresses(dest: SiteEnv, tables: list[str], domains: list[str]) -> dict[str, int]:
    """{table.column: rows} of the text columns of `tables` holding an address at `domains`."""
    listed = ", ".join(f"'{table}'" for table in tables)
    columns = dest.sql(
        "SELECT table_name, column_name FROM information_schema.columns"
        f" WHERE table_schema = DATABASE() AND table_name IN ({listed})"
        f" AND data_type IN ({TEXT_TYPES})",
        read_only=True,
    )
    alternatives = "|".join(re.sub(r"[^a-z0-9-]", "[.]", domain) for domain in domains)
    pattern = f"@([a-z0-9-]+[.])*({alternatives})"
    counts = []
    for line in columns.splitlines():
        table, column = line.split("\t")
        counts.append(
            f"SELECT '{table}.{column}', COUNT(*) FROM `{table}`"
            f" WHERE LOWER(`{column}`) REGEXP '{pattern}'"
        )
    if not counts:
        return {}
    found: dict[str, int] = {}
    for line in dest.sql(" UNION ALL ".join(counts)).splitlines():
        name, count = line.split("\t")
        if int(count):
            found[name] = int(count)
    return found
