"""An environment's containers as clone and deploy use them (`SiteEnv`), and timed steps."""

from __future__ import annotations

import os
import shlex
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from triage.core.errors import ConfigError
from triage.core.jobs.reporting import Reporter
from triage.core.sites.containers import CommandFailed, copy_files, exec_in
from triage.core.sites.environments import (
    BACKUP_SCHEMA_SUFFIX,
    UNSAFE_MARKER,
    Engines,
    container,
    state,
)
from triage.core.sites.inventory import PROD, Site

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

    @property
    def backup_schema(self) -> str:
        """The schema a clone moves the database's old tables into."""
        return self.env.db_name + BACKUP_SCHEMA_SUFFIX

    def set_aside(self) -> str:
        """Move every table into the backup schema (emptied first), at once; its name.

        "" when that cannot be done (the user may not create the schema; views or triggers,
        which cannot move between schemas), after saying why: then back up with `backup()`.
        """
        rows = self.sql(
            "SELECT table_type, table_name FROM information_schema.tables"
            " WHERE table_schema = DATABASE() UNION ALL SELECT 'TRIGGER', trigger_name"
            " FROM information_schema.triggers WHERE trigger_schema = DATABASE()",
            read_only=True,
        )
        kinds = [line.split("\t") for line in rows.splitlines()]
        if any(kind != "BASE TABLE" for kind, _name in kinds):
            self.reporter.log("backup: views or triggers cannot move to another schema")
            return ""
        schema, database = _ident(self.backup_schema), _ident(self.env.db_name)
        moves = ", ".join(
            f"{database}.{_ident(name)} TO {schema}.{_ident(name)}" for _kind, name in kinds
        )
        statements = [f"DROP DATABASE IF EXISTS {schema}", f"CREATE DATABASE {schema}"]
        statements += [f"RENAME TABLE {moves}"] if moves else []
        try:
            self.sql(";\n".join(statements))
        except CommandFailed as error:
            self.reporter.log(
                f"backup: {error.reason}; a dump is made instead (grant {self.env.db_user} "
                f"every privilege on {self.backup_schema} to make the backup instant)"
            )
            return ""
        if not self.reporter.dry_run:
            self.reporter.log(
                f"backup of {self.env.db_name}: its tables are in {self.backup_schema}"
            )
        return self.backup_schema

    def put_back(self, schema: str) -> None:
        """Replace the database's tables with those `set_aside` moved into `schema`."""
        self.drop_tables()
        rows = self.sql(
            "SELECT table_name FROM information_schema.tables"
            f" WHERE table_schema = '{schema.replace(chr(39), chr(39) * 2)}'",
            read_only=True,
        )
        old, database = _ident(schema), _ident(self.env.db_name)
        moves = ", ".join(
            f"{old}.{_ident(name)} TO {database}.{_ident(name)}" for name in rows.split()
        )
        if moves:
            self.sql(f"RENAME TABLE {moves}")

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

    def is_unsafe(self) -> bool:
        """Whether the unsafe marker is there: the database has not passed the sanitize check."""
        script = 'if test -e "$1"; then echo unsafe; fi'
        found = exec_in(self.web, ["sh", "-c", script, "sh", UNSAFE_MARKER], self.reporter,
                        read_only=True, echo=False)  # fmt: skip
        return found.strip() == "unsafe"

    def clear_unsafe(self) -> None:
        """Remove the unsafe marker."""
        exec_in(self.web, ["rm", "-f", UNSAFE_MARKER], self.reporter)

    def copy_files_to(self, other: SiteEnv) -> None:
        """Make the other environment's files a copy of this one's."""
        copy_files(self.web, self.env.files_path, other.web, other.env.files_path, self.reporter)

    def url(self) -> str:
        """The environment's URL: from sites.toml, or the web container's published port."""
        return self.env.url or state(self.engines, self.site, self.name).url


def _ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


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


def reason(error: BaseException) -> str:
    """What went wrong, without the advice of a CommandFailed (the caller gives its own)."""
    return error.reason if isinstance(error, CommandFailed) else str(error)
