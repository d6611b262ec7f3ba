"""A throwaway PostgreSQL server for the tests, on loopback, started from the local binaries.

The server runs as the `postgres` system user (or `nobody`) when the tests run as root,
since PostgreSQL refuses to run as root. Its data directory, log and sockets live in one
temporary directory that `stop()` removes.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import URL, make_url

INSTALL_HINT = (
    "PostgreSQL's server binaries (initdb, postgres) were not found: "
    "install postgresql (apt-get install postgresql) or set TRIAGE_TEST_POSTGRES_URL"
)
READY_TIMEOUT_S = 30.0
DATABASE = "triage_test"


class PostgresUnavailable(RuntimeError):
    """The throwaway server could not be started; the message says why."""


def find_bindir() -> Path | None:
    """The directory of initdb and postgres: `pg_config --bindir`, else the newest Debian one."""
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            found = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            found = ""
        if found:
            candidates.append(Path(found))
    debian = [Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")]
    debian.sort(key=lambda p: [int(n) if n.isdigit() else 0 for n in p.parent.name.split(".")])
    candidates.extend(reversed(debian))
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "postgres").is_file():
            return bindir
    return None


def admin_conninfo(url: str, dbname: str | None = None) -> str:
    """A libpq URI for psycopg from a SQLAlchemy URL, optionally on another database."""
    parsed = make_url(url)
    if dbname is not None:
        parsed = parsed.set(database=dbname)
    plain = URL.create(
        "postgresql",
        username=parsed.username,
        password=parsed.password,
        host=parsed.host,
        port=parsed.port,
        database=parsed.database,
    )
    return plain.render_as_string(hide_password=False)


def sqlalchemy_url(url: str) -> str:
    """`url` with the psycopg driver, as the cache takes it."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _server_account() -> pwd.struct_passwd | None:
    """Whom to run the server as: None for the current user, unless that is root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresUnavailable(
        "the tests run as root and neither a `postgres` nor a `nobody` user exists "
        "to run PostgreSQL as: create one (useradd postgres)"
    )


def _scratch_parent() -> str:
    # The server's user must reach the directory: /tmp is world-traversable, TMPDIR may not be.
    return "/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()


@dataclass
class PostgresServer:
    """One PostgreSQL server started by the tests; `url` names its test database."""

    bindir: Path
    root: Path = field(init=False)
    port: int = field(init=False, default=0)
    user: str = field(init=False, default="")
    process: subprocess.Popen[bytes] | None = field(init=False, default=None)

    def start(self) -> str:
        """Initialise, start and wait for the server; the SQLAlchemy URL of its test database."""
        account = _server_account()
        self.user = account.pw_name if account else pwd.getpwuid(os.geteuid()).pw_name
        self.root = Path(tempfile.mkdtemp(prefix="triage-pg-", dir=_scratch_parent()))
        as_user: dict[str, Any] = {}
        if account is not None:
            os.chown(self.root, account.pw_uid, account.pw_gid)
            as_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        data = self.root / "data"
        initdb = subprocess.run(
            [
                str(self.bindir / "initdb"),
                "--pgdata",
                str(data),
                "--username",
                self.user,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C",
                "--no-sync",
            ],
            cwd=self.root,
            capture_output=True,
            text=True,
            check=False,
            **as_user,
        )
        if initdb.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {initdb.stderr.strip() or initdb.stdout}")
        self.port = _free_port()
        log = self.root / "server.log"
        with open(log, "wb") as log_file:
            self.process = subprocess.Popen(
                [
                    str(self.bindir / "postgres"),
                    "-D",
                    str(data),
                    "-p",
                    str(self.port),
                    "-c",
                    "listen_addresses=127.0.0.1",
                    "-c",
                    f"unix_socket_directories={self.root}",
                    "-c",
                    "fsync=off",
                    "-c",
                    "synchronous_commit=off",
                    "-c",
                    "full_page_writes=off",
                    "-c",
                    "max_connections=200",
                ],
                cwd=self.root,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                **as_user,
            )
        self._wait_ready(log)
        base = f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/postgres"
        with psycopg.connect(admin_conninfo(base), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{DATABASE}"')
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{DATABASE}"

    def _wait_ready(self, log: Path) -> None:
        conninfo = f"host=127.0.0.1 port={self.port} user={self.user} dbname=postgres"
        deadline = time.monotonic() + READY_TIMEOUT_S
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise PostgresUnavailable(
                    f"postgres exited with status {self.process.returncode}: {_tail(log)}"
                )
            try:
                with psycopg.connect(conninfo, connect_timeout=2):
                    return
            except psycopg.OperationalError as error:
                last_error = str(error).strip().splitlines()[0] if str(error) else repr(error)
            time.sleep(0.1)
        raise PostgresUnavailable(
            f"postgres did not answer on 127.0.0.1:{self.port} within {READY_TIMEOUT_S:.0f} s "
            f"({last_error}): {_tail(log)}"
        )

    def stop(self) -> None:
        """Stop the server we started (fast shutdown, by its process id) and remove its files."""
        process, self.process = self.process, None
        if process is not None:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
        if getattr(self, "root", None) is not None:
            shutil.rmtree(self.root, ignore_errors=True)


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no server log)"
