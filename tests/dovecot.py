"""A throwaway Dovecot IMAP server for the tests, on loopback, from Debian's dovecot-imapd.

The server runs as the `dovecot` system user (or `nobody`) when the tests run as root, since
Dovecot's login processes refuse to run as root; otherwise as the current user. Its own
config, password file, mail store, sockets and log live in one temporary directory that
`stop()` removes. Mailboxes are Maildirs under `home/<user>/Maildir`.
"""

from __future__ import annotations

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

INSTALL_HINT = "Dovecot was not found: install dovecot-imapd (apt-get install dovecot-imapd)"
READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0

CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {user}
default_internal_user = {user}
default_internal_group = {group}
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


class DovecotUnavailable(RuntimeError):
    """The throwaway server could not be started; the message says why."""


def find_dovecot() -> str | None:
    """The dovecot binary, if installed."""
    return shutil.which("dovecot") or (
        "/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _account() -> pwd.struct_passwd:
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid())
    for name in ("dovecot", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise DovecotUnavailable("the tests run as root and no `dovecot` or `nobody` user exists")


@dataclass
class DovecotServer:
    """One Dovecot started by the tests, with the given users (name -> password)."""

    binary: str
    users: dict[str, str]
    root: Path = field(init=False)
    port: int = field(init=False, default=0)
    process: subprocess.Popen[bytes] | None = field(init=False, default=None)

    def start(self) -> int:
        """Write the config, start the server and wait until it greets; its port.

        Started again after `halt()`, it keeps its port, users and mail.
        """
        account = _account()
        if self.port:
            self._launch(account)
            return self.port
        self.root = Path(tempfile.mkdtemp(prefix="triage-imap-", dir="/tmp"))
        self.port = _free_port()
        group = _group_name(account.pw_gid)
        (self.root / "dovecot.conf").write_text(
            CONFIG.format(
                root=self.root,
                user=account.pw_name,
                group=group,
                uid=account.pw_uid,
                gid=account.pw_gid,
                port=self.port,
            )
        )
        (self.root / "passwd").write_text(
            "".join(f"{name}:{{PLAIN}}{password}::::::\n" for name, password in self.users.items())
        )
        for sub in ("run", "state", "home"):
            (self.root / sub).mkdir()
        for path in [self.root, *self.root.rglob("*")]:
            os.chown(path, account.pw_uid, account.pw_gid)
        self._launch(account)
        return self.port

    def _launch(self, account: pwd.struct_passwd) -> None:
        as_user: dict[str, Any] = {}
        if os.geteuid() == 0:
            as_user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.root / "dovecot.conf")],
            cwd=self.root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            **as_user,
        )
        self._wait_ready()

    def maildir(self, user: str) -> Path:
        """The Maildir of a user (exists once the user has logged in or received mail)."""
        return self.root / "home" / user / "Maildir"

    def log(self) -> str:
        """The server's log, for failure messages."""
        try:
            return (self.root / "dovecot.log").read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise DovecotUnavailable(
                    f"dovecot exited with status {self.process.returncode}: {self.log()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as conn:
                    conn.settimeout(2)
                    if conn.recv(64).startswith(b"* OK"):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise DovecotUnavailable(f"dovecot did not greet within {READY_TIMEOUT_S}s: {self.log()}")

    def halt(self) -> None:
        """Stop the server by its PID, keeping its directory (for `start()` again)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT_S)

    def stop(self) -> None:
        """Stop the server by its PID and remove its directory."""
        self.halt()
        shutil.rmtree(self.root, ignore_errors=True)


def _group_name(gid: int) -> str:
    import grp

    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)
