"""`triage sites`, `branch`, `clone`, `deploy`, `jobs` and `job` as a user runs them.

Each run is a subprocess with a clean environment, a sites.toml in tmp_path and a SQLite
cache of its own. Git runs for real on a local bare remote; Docker is named by an engine that
does not answer (tcp://127.0.0.1:1), so what is checked is what a user sees when it is down.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session

from triage.core.jobs.reporting import Reporter
from triage.core.jobs.runner import JobRunner
from triage.storage.columns import BoardColumn
from triage.storage.db import open_cache, session_scope, sqlite_url
from triage.storage.models import Ticket

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120
DOWN = "tcp://127.0.0.1:1"


def site_toml(remote: Path, checkout: Path, docker_host: str = DOWN, extra: str = "") -> str:
    return f"""
[sites.acme]
name = "Acme main site"
client = "Acme Corp"
package = "Gold"
repo = "{remote}"
checkout = "{checkout}"
{extra}

[sites.acme.envs.prod]
docker_host = "{docker_host}"
web_container = "acme-prod-web"
db_container = "acme-prod-db"
url = "https://www.acme.example"

[sites.acme.envs.dev]
docker_host = "{docker_host}"
web_container = "acme-dev-web"
db_container = "acme-dev-db"
"""


class Workspace:
    """A config-less Triage home in tmp_path: data dir, sites.toml, and a git remote."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sites = root / "sites.toml"
        self.remote = root / "remote.git"
        self.checkout = root / "checkout"
        self.db_url = sqlite_url(root / "data" / "triage.db")

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIAGE_", "GIT_"))}
        env.update(
            TRIAGE_DATA_DIR=str(self.root / "data"),
            TRIAGE_CONFIG=str(self.root / "config.toml"),
            TRIAGE_SITES_FILE=str(self.sites),
            TRIAGE_ME="Mia Me",
            GIT_AUTHOR_NAME="Mia Me",
            GIT_AUTHOR_EMAIL="mia@example.com",
            GIT_COMMITTER_NAME="Mia Me",
            GIT_COMMITTER_EMAIL="mia@example.com",
            HOME=str(self.root),
        )
        return env

    def triage(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "triage.tui.cli.main", *args],
            cwd=REPO,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def git(self, *args: str, cwd: Path | None = None) -> None:
        subprocess.run(
            ["git", *args],
            cwd=cwd or self.root,
            env=self.env(),
            check=True,
            capture_output=True,
            timeout=TIMEOUT_S,
        )

    def make_remote(self) -> None:
        """A bare remote with one commit on main."""
        seed = self.root / "seed"
        self.git("init", "--bare", "--initial-branch=main", str(self.remote))
        self.git("init", "--initial-branch=main", str(seed))
        (seed / "index.php").write_text("<?php echo 'Acme';\n", encoding="utf-8")
        self.git("add", "index.php", cwd=seed)
        self.git("commit", "-m", "First", cwd=seed)
        self.git("push", str(self.remote), "main", cwd=seed)

    def write_sites(self, text: str | None = None) -> None:
        self.sites.write_text(text or site_toml(self.remote, self.checkout), encoding="utf-8")


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path)
    workspace.write_sites()
    return workspace


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


BROKEN = {
    "missing prod": (
        '[sites.acme]\nname = "A"\nclient = "C"\nrepo = "r"\ncheckout = "c"\n'
        '[sites.acme.envs.dev]\nweb_container = "w"\ndb_container = "d"\n',
        ["site acme", "[envs.prod]"],
    ),
    "unknown key": (
        '[sites.acme]\nname = "A"\nclient = "C"\nrepo = "r"\ncheckout = "c"\ncolour = "red"\n'
        '[sites.acme.envs.prod]\nweb_container = "w"\ndb_container = "d"\n',
        ["site acme", "unknown key 'colour'"],
    ),
    "bad docker_host": (
        '[sites.acme]\nname = "A"\nclient = "C"\nrepo = "r"\ncheckout = "c"\n'
        '[sites.acme.envs.prod]\ndocker_host = "http://web1:2375"\n'
        'web_container = "w"\ndb_container = "d"\n',
        ["site acme, env prod", "'docker_host'", "tcp://HOST:PORT"],
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
@pytest.mark.parametrize(
    "command",
    [("sites",), ("clone", "acme", "--to", "dev"), ("deploy", "acme", "main", "--to", "dev")],
)
def test_a_broken_sites_file_is_one_sentence(
    ws: Workspace, case: str, command: tuple[str, ...]
) -> None:
    text, expected = BROKEN[case]
    ws.write_sites(text)
    line = one_line_error(ws.triage(*command))
    assert str(ws.sites) in line
    for part in expected:
        assert part in line


def test_a_missing_sites_file_says_where_to_set_it(ws: Workspace) -> None:
    ws.sites.unlink()
    line = one_line_error(ws.triage("sites"))
    assert str(ws.sites) in line and "sites_file" in line


def test_sites_shows_an_unreachable_engine_per_environment(ws: Workspace) -> None:
    result = ws.triage("sites")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "acme  Acme main site (Acme Corp, Gold)"
    assert [line.split()[0] for line in lines[1:]] == ["prod", "dev"]
    for line in lines[1:]:
        assert f"Docker at {DOWN} is not reachable" in line
        assert f"env {line.split()[0]} of acme" in line


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("clone", "nope", "--to", "dev"), "no site 'nope'"),
        (("clone", "acme", "--to", "staging"), "has no environment 'staging'"),
        (("clone", "acme", "--to", "prod"), "cannot clone into prod"),
        (("deploy", "acme", "main", "--to", "prod"), "--confirm acme"),
        (("deploy", "acme", "main", "--to", "prod", "--confirm", "other"), "--confirm acme"),
        (("deploy", "nope", "main", "--to", "dev"), "no site 'nope'"),
        (("job", "42"), "no job 42"),
        (("jobs", "--limit", "0"), "positive whole number"),
        (("branch", "SUP-404"), "SUP-404 is not in the cache"),
    ],
)
def test_bad_input_is_one_sentence_and_exit_2(
    ws: Workspace, args: tuple[str, ...], expected: str
) -> None:
    assert expected in one_line_error(ws.triage(*args))


def test_a_ref_the_repository_lacks_is_refused_before_any_job(ws: Workspace) -> None:
    ws.make_remote()
    line = one_line_error(ws.triage("deploy", "acme", "no-such-ref", "--to", "dev"))
    assert "no branch, tag or commit 'no-such-ref'" in line
    line = one_line_error(ws.triage("clone", "acme", "--to", "dev", "--ref", "no-such-ref"))
    assert "'no-such-ref'" in line
    assert ws.triage("jobs").stdout.strip() == "no jobs yet"


def test_a_failing_job_streams_its_log_and_exits_1(ws: Workspace) -> None:
    result = ws.triage("clone", "acme", "--to", "dev", "--skip-files")
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert "==> preflight" in lines
    assert lines[-1].startswith("job 1 failed in ")
    assert f"Docker at {DOWN} is not reachable" in lines[-1]

    listed = ws.triage("jobs")
    assert listed.returncode == 0, listed.stderr
    [row] = listed.stdout.strip().splitlines()
    assert row.split()[:4] == ["1", "failed", "clone", "acme/dev"]

    shown = ws.triage("job", "1")
    assert shown.returncode == 0, shown.stderr
    assert "job 1: clone acme/dev" in shown.stdout and "by Mia Me" in shown.stdout
    assert "preflight" in shown.stdout and "failed" in shown.stdout
    assert "log:" in shown.stdout and "  ==> preflight" in shown.stdout

    assert "already ended (failed)" in one_line_error(ws.triage("job", "1", "--cancel"))


def test_branch_opens_and_records_the_tickets_branch(ws: Workspace) -> None:
    ws.make_remote()
    engine = open_cache(ws.db_url)
    with session_scope(engine) as session:
        session.add(
            Ticket(
                key="SUP-1",
                summary="Fix the contact form",
                column=BoardColumn.IN_PROGRESS,
                site="acme",
            )
        )
    result = ws.triage("branch", "sup-1")
    assert result.returncode == 0, (result.stdout, result.stderr)
    lines = result.stdout.strip().splitlines()
    assert any(line.startswith("$ git push") for line in lines)
    assert lines[-1].startswith("job 1 succeeded in ")
    assert "branch SUP-1-fix-the-contact-form pushed, 0 ahead" in lines[-1]
    with Session(engine) as session:
        ticket = session.get(Ticket, "SUP-1")
        assert ticket is not None
        assert (ticket.branch, ticket.branch_ahead) == ("SUP-1-fix-the-contact-form", 0)
    engine.dispose()


def test_jobs_lists_the_latest_first(ws: Workspace) -> None:
    engine = open_cache(ws.db_url)

    def quick(reporter: Reporter) -> str:
        with reporter.step("say hello"):
            reporter.log("hello")
        return "said hello"

    with JobRunner(engine, actor="Mia Me") as runner:
        for kind in ("clone", "deploy", "open-branch"):
            runner.wait(runner.submit(kind, "acme", "dev", "SUP-1", "main", False, quick), 30)
    engine.dispose()

    result = ws.triage("jobs", "--limit", "2")
    assert result.returncode == 0, result.stderr
    rows = [line.split() for line in result.stdout.strip().splitlines()]
    assert [row[:5] for row in rows] == [
        ["3", "succeeded", "open-branch", "acme/dev", "SUP-1"],
        ["2", "succeeded", "deploy", "acme/dev", "SUP-1"],
    ]
    assert all(row[-2:] == ["said", "hello"] for row in rows)


def test_a_deploy_the_engine_refuses_changes_nothing_and_exits_1(ws: Workspace) -> None:
    ws.make_remote()
    result = ws.triage("deploy", "acme", "main", "--to", "dev", "--dry-run")
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stdout.strip().splitlines()
    assert "==> preflight" in lines
    assert lines[-1].startswith("job 1 failed in ") and "changed nothing" in lines[-1]
    [row] = ws.triage("jobs").stdout.strip().splitlines()
    assert row.split()[:4] == ["1", "failed", "deploy", "acme/dev"] and row.endswith("(dry run)")
