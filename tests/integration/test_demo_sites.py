"""`triage demo --sites 2` as a newcomer runs it: in a terminal (tmux), on the real Docker engine.

The demo builds two sites (prod, dev and test each) and opens the board; from a second
terminal `triage security rollout SA-CORE-2026-001` updates them, and each ends in its
expected state: the bakery tested on its test site, the museum failed (its theme's test calls
an API the update dropped) and rolled back. Quitting the board removes every container,
network and volume the demo made; after a demo killed with SIGKILL, `--reset` removes them.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import site_fixtures
from cli_support import REPO, clean_env

from triage.sandbox.composer_repo import ADVISORY_ID
from triage.sandbox.demo_sites import LABEL, demo_id

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1500)]

docker_client = site_fixtures.docker_client
images = site_fixtures.images

BUILD_WAIT_S = 600.0
ROLLOUT_TIMEOUT_S = 900
QUIT_WAIT_S = 180.0


class Terminal:
    """A tmux server of its own running `triage ARGS` in a 160×48 window."""

    def __init__(self, root: Path, env: dict[str, str]) -> None:
        self.socket, self.env = str(root / "tmux.sock"), env

    def tmux(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-S", self.socket, *args], capture_output=True,
                              text=True, timeout=30, check=True)  # fmt: skip
        return done.stdout

    def start(self, *args: str) -> None:
        variables = " ".join(
            f"{k}={shlex.quote(v)}" for k, v in self.env.items() if k.startswith("TRIAGE")
        )
        command = shlex.join([sys.executable, "-m", "triage.tui.cli.main", *args])
        script = (
            f"cd {shlex.quote(str(REPO))} && env {variables} {command}; echo ended $?; sleep 600"
        )
        self.tmux("new-session", "-d", "-s", "demo", "-x", "160", "-y", "48", script)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "demo")

    def close(self) -> None:
        subprocess.run(["tmux", "-S", self.socket, "kill-server"], capture_output=True,
                       timeout=30, check=False)  # fmt: skip


def wait_until(ready: Callable[[], bool], what: str, seen: Callable[[], str], wait: float) -> None:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.5)
    raise AssertionError(f"no {what} after {wait:.0f} s; last seen:\n{seen()}")


def labelled(client: docker.DockerClient, demo: str) -> list[str]:
    """Names of everything on the engine that carries this demo's label."""
    wanted = {"label": f"{LABEL}={demo}"}
    return sorted(
        [str(c.name) for c in client.containers.list(all=True, filters=wanted)]
        + [str(n.name) for n in client.networks.list(filters=wanted)]
        + [str(v.name) for v in client.volumes.list(filters=wanted)]
    )


def triage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "triage.tui.cli.main", *args], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=ROLLOUT_TIMEOUT_S,
                          stdin=subprocess.DEVNULL, check=False)  # fmt: skip


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path, clean_env(tmp_path))
    try:
        yield term
    finally:
        term.close()


def test_a_newcomer_watches_a_rollout_on_two_demo_sites(
    tmp_path: Path,
    docker_client: docker.DockerClient,
    images: dict[str, str],
    terminal: Terminal,
) -> None:
    env = clean_env(tmp_path)
    demo = demo_id(tmp_path / "data")
    run_file = tmp_path / "data" / "demo-run.json"
    terminal.start("demo", "--sites", "2", "--tickets", "40", "--seed", "3")
    try:
        wait_until(lambda: run_file.exists() and " demo " in terminal.screen(),
                   "board of the demo", terminal.screen, BUILD_WAIT_S)  # fmt: skip
        run: dict[str, Any] = json.loads(run_file.read_text())
        assert run["rollout"]["packages"] == {"Platinum": {"to": "prod", "window_hours": 0}}
        made = labelled(docker_client, demo)
        assert sum(name.endswith("-web") for name in made) == 6  # prod, dev, test of two sites
        assert sum(name.endswith("-db") for name in made) == 2  # the prods', dev and test's

        report = json.loads(triage(env, "security", "--json").stdout)
        ours = next(entry for entry in report if entry["id"] == ADVISORY_ID)
        demo_sites = [s for s in ours["sites"] if s["site"].startswith("demo-")]
        assert sorted((s["site"], s["version"], s["state"]) for s in demo_sites) == [
            ("demo-bakery", "10.3.1", "affected"), ("demo-museum", "10.3.1", "affected"),
        ]  # fmt: skip

        rollout = triage(env, "security", "rollout", ADVISORY_ID)
        assert rollout.returncode == 1, rollout.stdout + rollout.stderr  # one site failed
        assert "ran 2 sites: 1 failed, 1 tested" in rollout.stdout
        sites = json.loads(triage(env, "security", "sites", "--json").stdout)
        states = {row["site"]: (row["state"], row["new_version"]) for row in sites}
        assert states == {"demo-bakery": ("tested", "10.3.6"), "demo-museum": ("failed", "10.3.6")}
        museum = next(row for row in sites if row["site"] == "demo-museum")
        assert "legacyRender" in museum["reason"] and "rolled back" in museum["reason"]
        assert all(row["ticket_key"].startswith("SUP-") for row in sites)

        bakery_test = next(
            c for c in docker_client.containers.list(filters={"label": f"{LABEL}={demo}"})
            if str(c.name).endswith("demo-bakery-test-web")
        )  # fmt: skip
        runs = bakery_test.exec_run(["sh", "-c", "php tests/check.php"], workdir="/var/www/site")
        assert runs.exit_code == 0 and b"Drupal 10.3.6 OK" in runs.output
    finally:
        terminal.tmux("send-keys", "-t", "demo", "q")
        wait_until(lambda: "ended " in terminal.screen(), "end of the demo", terminal.screen,
                   QUIT_WAIT_S)  # fmt: skip
    assert "ended 0" in terminal.screen()
    assert labelled(docker_client, demo) == []
    assert not run_file.exists()


def test_reset_removes_what_a_killed_demo_left(
    tmp_path: Path,
    docker_client: docker.DockerClient,
    images: dict[str, str],
    terminal: Terminal,
) -> None:
    env = clean_env(tmp_path)
    demo = demo_id(tmp_path / "data")
    run_file = tmp_path / "data" / "demo-run.json"
    terminal.start("demo", "--sites", "1", "--tickets", "20", "--seed", "3")
    wait_until(lambda: run_file.exists() and " demo " in terminal.screen(),
               "board of the demo", terminal.screen, BUILD_WAIT_S)  # fmt: skip
    os.kill(json.loads(run_file.read_text())["pid"], signal.SIGKILL)
    wait_until(lambda: "ended " in terminal.screen(), "end of the killed demo", terminal.screen,
               QUIT_WAIT_S)  # fmt: skip
    left = labelled(docker_client, demo)
    assert len(left) == 7, left  # three web containers, two database servers, network, volume

    reset = triage(env, "demo", "--reset", "--no-open", "--tickets", "20", "--seed", "3")

    assert reset.returncode == 0, reset.stderr
    assert "removed 7 containers, volumes and networks a demo left (--reset)" in reset.stdout
    assert labelled(docker_client, demo) == []
