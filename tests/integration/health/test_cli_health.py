"""`triage health`, `--json` and `--watch` as a user (or a service manager) runs them."""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[3]
TIMEOUT_S = 120


def sites_toml(urls: dict[str, str]) -> str:
    parts = []
    for site, url in urls.items():
        parts.append(
            f"""
[sites.{site}]
name = "{site.title()}"
client = "{site.title()} Corp"
repo = "/nowhere.git"
checkout = "/nowhere"

[sites.{site}.envs.prod]
web_container = "web"
db_container = "db"
url = "{url}"
smoke = [{{ path = "/", status = 200, contains = "Welcome" }}]

[sites.{site}.envs.dev]
web_container = "web-dev"
db_container = "db-dev"
url = "{url}/dev"
"""
        )
    return "".join(parts)


def environment(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    (root / "config.toml").write_text(
        "[health]\nretry_seconds = 0.05\ntimeout_seconds = 3\ninterval_seconds = 0.5\n",
        encoding="utf-8",
    )
    env.update(
        TRIAGE_DATA_DIR=str(root / "data"),
        TRIAGE_CONFIG=str(root / "config.toml"),
        TRIAGE_SITES_FILE=str(root / "sites.toml"),
        HOME=str(root),
    )
    return env


def triage(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "triage.tui.cli.main", *args],
        cwd=REPO,
        env=environment(root),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def ok(_: int) -> tuple[int, str, float]:
    return 200, "Welcome", 0.0


def failing(_: int) -> tuple[int, str, float]:
    return 503, "Service Unavailable", 0.0


def test_health_json_lists_every_prod_site(tmp_path: Path, site_server: Callable[..., Any]) -> None:
    good, bad = site_server(ok), site_server(failing)
    (tmp_path / "sites.toml").write_text(
        sites_toml({"good": good.url, "bad": bad.url}), encoding="utf-8"
    )

    done = triage(tmp_path, "health", "--json")

    assert done.returncode == 1, done.stderr  # a site is down
    rows = json.loads(done.stdout)
    assert [(r["site"], r["env"], r["state"]) for r in rows] == [
        ("bad", "prod", "down"),
        ("good", "prod", "up"),
    ], "prod only: dev has not opted in"
    assert set(rows[0]) == {"site", "env", "url", "state", "status", "ms", "tls_days", "reason"}
    assert rows[0]["status"] == 503 and rows[0]["reason"] == "HTTP 503 on /"
    assert isinstance(rows[1]["ms"], int) and rows[1]["tls_days"] is None

    text = triage(tmp_path, "health")
    first, second = text.stdout.splitlines()
    assert first.split()[:3] == ["down", "bad/prod", "503"]
    assert second.split()[:3] == ["up", "good/prod", "200"]


def test_health_without_sites_to_check_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "sites.toml").write_text("", encoding="utf-8")
    done = triage(tmp_path, "health")
    assert done.returncode == 2
    assert "no environment to check" in done.stderr and "give prod a url" in done.stderr


def test_watch_keeps_checking_until_sigterm(
    tmp_path: Path, site_server: Callable[..., Any]
) -> None:
    good, bad = site_server(ok), site_server(failing)
    (tmp_path / "sites.toml").write_text(
        sites_toml({"good": good.url, "bad": bad.url}), encoding="utf-8"
    )
    service = subprocess.Popen(
        [sys.executable, "-m", "triage.tui.cli.main", "health", "--watch"],
        cwd=REPO,
        env=environment(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    lines: list[str] = []
    try:
        assert service.stdout is not None
        watcher = selectors.DefaultSelector()
        watcher.register(service.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 60
        # Until the failing site went down and the healthy one was checked a few times.
        while not (any("bad/prod unknown → down" in line for line in lines) and good.hits >= 3):
            assert time.monotonic() < deadline, lines
            if watcher.select(timeout=0.5):
                lines.append(service.stdout.readline())
        service.send_signal(signal.SIGTERM)
        rest, errors = service.communicate(timeout=30)
    finally:
        if service.poll() is None:
            service.kill()
    assert service.returncode == 0, errors
    assert lines[0].startswith("watching 2 environments")
    assert "bad/prod unknown → down: HTTP 503 on /" in "".join(lines)
    assert rest.strip().startswith("stopped after ")
