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
data looking like a usable environment.

Exceptions::

    TriageError (core.errors)
    └── CloneError          `report` lists the steps that ran
        ├── CloneIntoProd   the target is production (also a ValueError)
        ├── UnsafeClone     production addresses remain after sanitizing; the target is marked
        └── CloneFailed     a step failed; the message names it and the target's backup
"""

from __future__ import annotations

import ipaddress
import os
import re
import shlex
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

import docker.errors
import requests

from core.environments import (
    UNSAFE_MARKER,
    CommandFailed,
    Engines,
    container,
    copy_files,
    exec_in,
    pipe,
    state,
)
from core.errors import ConfigError, TriageError
from core.reporting import Cancelled, Reporter
from core.sites import PROD, Site
from core.smoke import SmokeResult, check_site

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


BACKUP_DIR = "/var/backups/triage"
BACKUPS_KEPT = 3


@dataclass
class StepResult:
    """One step of an operation: its name, its time, and whether it passed."""

    name: str
    seconds: float
    ok: bool


@contextmanager
def timed_step(
    reporter: Reporter, steps: list[StepResult], name: str, *, cancellable: bool = True
) -> Iterator[None]:
    """reporter.step(name), recorded in `steps` with its time; a cancel is honoured first."""
    if cancellable:
        reporter.check_cancelled()
    started = time.perf_counter()
    ok = False
    try:
        with reporter.step(name):
            yield
        ok = True
    finally:
        steps.append(StepResult(name, time.perf_counter() - started, ok))


class SiteEnv:
    """The containers of one environment, and the operations that clone and deploy run there."""

    def __init__(self, engines: Engines, site: Site, name: str, reporter: Reporter) -> None:
        self.engines, self.site, self.name, self.reporter = engines, site, name, reporter
        self.env = site.env(name)
        self.web = container(engines, site, name, "web")
        self.db = container(engines, site, name, "db")

    @property
    def db_env(self) -> dict[str, str]:
        """The password of the database user, from the variable sites.toml names."""
        variable = self.env.db_password_env
        password = os.environ.get(variable, "") if variable else ""
        return {"MYSQL_PWD": password} if password else {}

    def client(self, program: str = "mariadb") -> list[str]:
        """A MariaDB client program with the environment's user."""
        return [program, f"--user={self.env.db_user}", "--default-character-set=utf8mb4"]

    def sql(self, query: str, *, read_only: bool = False) -> str:
        """Run SQL in the environment's database; its rows, tab-separated."""
        cmd = [*self.client(), "--batch", "--skip-column-names", "-e", query, self.env.db_name]
        return exec_in(self.db, cmd, self.reporter, env=self.db_env, read_only=read_only,
                       echo=False)  # fmt: skip

    def tables_like(self, patterns: Sequence[str]) -> list[str]:
        """The base tables whose names match one of the LIKE `patterns`."""
        if not patterns:
            return []
        where = " OR ".join(
            f"table_name LIKE '{p.replace(chr(39), chr(39) * 2)}'" for p in patterns
        )
        rows = self.sql(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
            f" AND table_type = 'BASE TABLE' AND ({where}) ORDER BY table_name",
            read_only=True,
        )
        return rows.split()

    def backup(self) -> str:
        """Dump the database to a timestamped file in the db container; the file's path."""
        now = datetime.now(UTC)
        stamp = now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"
        path = f"{BACKUP_DIR}/{self.env.db_name}-{stamp}.sql"
        dump = [*self.client("mysqldump"), "--single-transaction", "--quick", "--no-tablespaces",
                "--routines", self.env.db_name]  # fmt: skip
        old = f"{shlex.quote(BACKUP_DIR)}/{shlex.quote(self.env.db_name)}-*.sql"
        script = (
            f'mkdir -p {BACKUP_DIR} && {shlex.join(dump)} > "$1.partial" && mv "$1.partial" "$1"'
            f" && ls -1t {old} | tail -n +{BACKUPS_KEPT + 1} | xargs -r rm -f"
        )
        exec_in(self.db, ["sh", "-c", script, "sh", path], self.reporter, env=self.db_env)
        self.reporter.log(f"backup of {self.env.db_name}: {self.db.name}:{path}")
        return path

    def restore(self, path: str) -> None:
        """Replace the database with the backup at `path` (in the db container)."""
        self.drop_tables()
        script = f'{shlex.join([*self.client(), self.env.db_name])} < "$1"'
        exec_in(self.db, ["sh", "-c", script, "sh", path], self.reporter, env=self.db_env)

    def drop_tables(self) -> None:
        """Drop every table and view, so that nothing of the old database stays behind."""
        rows = self.sql(
            "SELECT table_type, table_name FROM information_schema.tables"
            " WHERE table_schema = DATABASE()",
            read_only=True,
        )
        views: list[str] = []
        tables: list[str] = []
        for line in rows.splitlines():
            kind, name = line.split("\t")
            (views if kind == "VIEW" else tables).append("`" + name.replace("`", "``") + "`")
        drops = ["SET FOREIGN_KEY_CHECKS = 0"]
        drops += [f"DROP VIEW IF EXISTS {', '.join(views)}"] if views else []
        drops += [f"DROP TABLE IF EXISTS {', '.join(tables)}"] if tables else []
        if views or tables:
            self.sql(";\n".join(drops))

    def _git(self, *args: str) -> list[str]:
        return ["git", "-c", "safe.directory=*", "-C", self.env.code_path, *args]

    def head(self) -> str:
        """The commit checked out in the web container."""
        return exec_in(self.web, self._git("rev-parse", "HEAD"), self.reporter, read_only=True,
                       echo=False).strip()  # fmt: skip

    def fetch(self) -> None:
        """Fetch the site's repository into the web container's checkout."""
        exec_in(self.web, self._git("fetch", "--quiet", "--tags", "origin"), self.reporter)

    def resolve(self, ref: str) -> str:
        """The commit `ref` names in the web container's checkout (origin's branches first)."""
        script = ('git -c safe.directory=* -C "$1" rev-parse --verify --quiet '
                  '"refs/remotes/origin/$2^{commit}" || git -c safe.directory=* -C "$1" '
                  'rev-parse --verify --quiet "$2^{commit}"')  # fmt: skip
        try:
            sha = exec_in(self.web, ["sh", "-c", script, "sh", self.env.code_path, ref],
                          self.reporter, read_only=True, echo=False).strip()  # fmt: skip
        except CommandFailed:
            if self.reporter.dry_run:
                return ref
            raise CommandFailed(
                f"{ref} is not in the repository of {self.site.id} that {self.web.name} fetches "
                "from: push it, or check the name",
                1,
                [],
            ) from None
        return sha

    def checkout(self, ref: str, *, fetch: bool = True) -> str:
        """Check out the commit `ref` names (detached, forced), fetched first; that commit."""
        if fetch:
            self.fetch()
        sha = self.resolve(ref)
        exec_in(self.web, self._git("checkout", "--quiet", "--force", "--detach", sha),
                self.reporter)  # fmt: skip
        self.reporter.log(f"{self.web.name}: code at {sha}")
        return sha

    def run(self, commands: Sequence[str]) -> None:
        """Run the site's commands (deploy, post-clone, maintenance) in the code directory."""
        for command in commands:
            if not self.reporter.dry_run:
                self.reporter.log(f"$ {command}")
            exec_in(self.web, ["sh", "-c", command], self.reporter, workdir=self.env.code_path)

    def mark_unsafe(self, why: str) -> None:
        """Leave the unsafe marker, saying why, in the web container."""
        script = 'printf "%s\\n" "$1" > "$2"'
        exec_in(self.web, ["sh", "-c", script, "sh", why, UNSAFE_MARKER], self.reporter)

    def clear_unsafe(self) -> None:
        """Remove the unsafe marker."""
        exec_in(self.web, ["rm", "-f", UNSAFE_MARKER], self.reporter)

    def copy_files_to(self, other: SiteEnv) -> None:
        """Make the other environment's files a copy of this one's."""
        copy_files(self.web, self.env.files_path, other.web, other.env.files_path, self.reporter)

    def url(self) -> str:
        """The environment's URL: from sites.toml, or the web container's published port."""
        return self.env.url or state(self.engines, self.site, self.name).url


def refuse_prod_containers(site: Site, env_name: str) -> None:
    """Refuse an environment that sites.toml points at production's containers by mistake."""
    env, prod = site.env(env_name), site.env(PROD)
    if env_name == PROD or env.docker_host != prod.docker_host:
        return
    shared = {env.web_container, env.db_container} & {prod.web_container, prod.db_container}
    if shared:
        raise ConfigError(
            f"env {env_name} of {site.id} uses the production container {sorted(shared)[0]}: "
            f"fix web_container and db_container for env {env_name} in sites.toml"
        )


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


def reason(error: BaseException) -> str:
    """What went wrong, without the advice of a CommandFailed (the caller gives its own)."""
    return error.reason if isinstance(error, CommandFailed) else str(error)


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
