"""Mistakes that used to print a traceback: `triage` says one sentence and exits 2.

Each runs `triage` as a user does (a subprocess, clean environment) and asserts exit
status 2, one line on stderr, no "Traceback", and no credential in anything printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from cli_support import http_server

from triage.core.tracker.client import Credentials, Flavour, JiraTracker, NotJson
from triage.storage.db import open_cache, sqlite_url

REPO = Path(__file__).resolve().parents[2]


def _env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env.update(TRIAGE_DATA_DIR=str(root / "data"), TRIAGE_CONFIG=str(root / "config.toml"))
    env.update(extra)
    return env


def _one_line_error(env: dict[str, str], *args: str) -> str:
    """Assert exit 2 and one line on stderr, no control anywhere; all that was printed."""
    result = subprocess.run(
        [sys.executable, "-m", "triage.tui.cli.main", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    printed = result.stdout + result.stderr
    assert "\x1b" not in printed and "\x07" not in printed
    return printed


def test_a_config_file_that_is_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_bytes(b'me = "Jos\xe9"\n')
    printed = _one_line_error(_env(tmp_path), "ls")
    assert "UTF-8" in printed and "config.toml" in printed


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TRIAGE_BOARD", "{not json"),
        ("TRIAGE_JIRA__PROJECTS", "[SUP"),
        ("TRIAGE_KEYS", "x"),
        ("TRIAGE_JIRA__SYNC_INTERVAL_MINUTES", "1e400"),
        ("TRIAGE_BOARD__DONE_WINDOW_DAYS", str(10**30)),
        ("TRIAGE_DATABASE_URL", "sqlite://"),
        ("TRIAGE_DATABASE_URL", "sqlite:///"),
    ],
)
def test_a_malformed_variable(tmp_path: Path, variable: str, value: str) -> None:
    printed = _one_line_error(_env(tmp_path, **{variable: value}), "ls")
    assert variable in printed


def test_a_damaged_cache_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "triage.db").write_bytes(b"not a database" * 400)
    printed = _one_line_error(_env(tmp_path), "ls")
    assert str(data / "triage.db") in printed and "triage sync --full" in printed


def test_a_read_only_cache_file(tmp_path: Path) -> None:
    path = tmp_path / "data" / "triage.db"
    open_cache(sqlite_url(path)).dispose()
    root = os.geteuid() == 0
    if root:  # root writes any file whatever its mode: make it immutable instead
        subprocess.run(["chattr", "+i", str(path)], check=True)
    else:
        path.chmod(0o400)
    try:
        printed = _one_line_error(_env(tmp_path), "ls")
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    assert str(path) in printed and "read-only" in printed


class _HtmlJira(BaseHTTPRequestHandler):
    """A server that answers every request 200 with a login page, as a proxy or SSO does."""

    def do_GET(self) -> None:
        body = b"<!DOCTYPE html><html><body>Please log in</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def html_jira() -> Iterator[str]:
    with http_server(_HtmlJira) as url:
        yield url


@pytest.mark.parametrize("deployment", ["auto", "cloud"])
def test_a_jira_answering_html_to_doctor(tmp_path: Path, html_jira: str, deployment: str) -> None:
    # auto asks serverInfo first; cloud goes straight to myself.
    host = html_jira.removeprefix("http://")
    env = _env(
        tmp_path,
        TRIAGE_JIRA__URL=f"http://bot:s3cret@{host}",
        TRIAGE_JIRA__DEPLOYMENT=deployment,
        TRIAGE_JIRA_TOKEN="tok",
    )
    printed = _one_line_error(env, "doctor")
    assert "text/html instead of JSON" in printed and host in printed
    assert "s3cret" not in printed


@pytest.mark.parametrize("flavour", [None, "cloud", "dc"])
def test_the_tracker_says_html_is_not_json(html_jira: str, flavour: Flavour | None) -> None:
    # `triage login` builds this tracker and asks myself: the same sentence, no traceback.
    with pytest.raises(NotJson) as caught:
        JiraTracker(Credentials(html_jira, "tok", "bot@example.com"), flavour).myself()
    assert "answered myself with text/html instead of JSON" in str(caught.value)


def test_an_error_message_is_masked_and_cleaned(tmp_path: Path) -> None:
    # A Jira URL that is no http(s) URL is echoed, in the error and by doctor's first line:
    # its credentials are not, and its escape sequence reaches the terminal as text at most.
    env = _env(
        tmp_path,
        TRIAGE_JIRA__URL="ftp://bot:s3cret@jira.example\x1b]0;pwned\x07.com",
        TRIAGE_JIRA_TOKEN="tok",
    )
    printed = _one_line_error(env, "doctor")
    assert "s3cret" not in printed
    assert "jira.example" in printed
