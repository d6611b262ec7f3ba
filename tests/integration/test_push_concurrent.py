"""Several pushers at once: each change reaches Jira exactly once, on SQLite and PostgreSQL.

Real `triage push` processes, started together, share one cache (a SQLite file, or a
PostgreSQL schema) and one sandbox Jira with some latency, so their pushes overlap. Each
outbox row must be claimed by one of them: Jira ends with every queued comment once.
"""

from __future__ import annotations

import collections
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_support import REPO, clean_env
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from triage.core.board.service import Board
from triage.core.config import Settings, load_settings
from triage.core.tracker.client import Credentials, JiraTracker
from triage.core.tracker.sync import Sync
from triage.sandbox.agency import adf_to_text, build_agency
from triage.sandbox.jira_server import JiraSandbox
from triage.storage.columns import BoardColumn
from triage.storage.db import open_cache
from triage.storage.models import OutboxEntry, OutboxState

USER = "me@agency.example"
TOKEN = "sandbox-token"
PUSHERS = 3
COMMENTS = 20
LATENCY_MS = 25.0
PUSH_TIMEOUT_S = 120.0


@pytest.fixture
def jira() -> Iterator[JiraSandbox]:
    agency = build_agency(tickets=80, seed=11, now=datetime.now(UTC) - timedelta(hours=1))
    with JiraSandbox.from_agency(agency, flavour="cloud", user=USER, token=TOKEN) as sandbox:
        yield sandbox


@pytest.fixture
def settings(tmp_path: Path, db_url: str, jira: JiraSandbox) -> Settings:
    return load_settings(
        tmp_path / "absent.toml",
        data_dir=str(tmp_path),
        database_url=db_url,
        jira={"url": jira.url, "user": USER, "projects": ["SUP"], "deployment": "cloud"},
    )


@pytest.fixture
def cache(settings: Settings, db_url: str, jira: JiraSandbox) -> Iterator[Engine]:
    engine = open_cache(db_url)
    Sync(engine, settings, JiraTracker(Credentials(jira.url, TOKEN, USER), "cloud")).run()
    try:
        yield engine
    finally:
        engine.dispose()


def comment_texts(sb: JiraSandbox, key: str) -> list[str]:
    return [adf_to_text(c["body"]) for c in sb.issue(key)["fields"]["comment"]["comments"]]


def push_together(root: Path, jira: JiraSandbox, db_url: str) -> list[str]:
    """Start PUSHERS `triage push` processes at once; their outputs, once all have ended."""
    (root / "config.toml").write_text(
        f'[jira]\nurl = "{jira.url}"\nuser = "{USER}"\nprojects = ["SUP"]\ndeployment = "cloud"\n'
    )
    env = clean_env(root, TRIAGE_JIRA_TOKEN=TOKEN, TRIAGE_DATABASE_URL=db_url)
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "triage.tui.cli.main", "push"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(PUSHERS)
    ]
    outputs: list[str] = []
    try:
        for child in children:
            out, _ = child.communicate(timeout=PUSH_TIMEOUT_S)
            outputs.append(out)
            assert child.returncode == 0, out
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait(timeout=10)
    return outputs


@pytest.mark.timeout(300)
def test_concurrent_pushers_send_each_comment_and_move_once(
    tmp_path: Path, jira: JiraSandbox, cache: Engine, settings: Settings, db_url: str
) -> None:
    board = Board(cache, settings)
    columns = board.load().columns
    review = [c.key for c in columns[BoardColumn.PO_REVIEW]][:4]
    todo = [c.key for c in columns[BoardColumn.TODO]][: COMMENTS // 2]
    assert len(todo) == COMMENTS // 2 and len(review) == 4
    queued: dict[str, list[str]] = collections.defaultdict(list)
    for number in range(COMMENTS):
        key = todo[number % len(todo)]
        body = f"concurrent note {number} on {key}"
        board.comment(key, body)
        queued[key].append(body)
    for key in review:
        board.move(key, BoardColumn.READY_TO_DEPLOY, comment=f"accepted {key}")
        queued[key].append(f"accepted {key}")
    before = {key: len(comment_texts(jira, key)) for key in queued}
    jira.latency_ms = LATENCY_MS

    outputs = push_together(tmp_path, jira, db_url)

    done = sum(int(out.split("push: ")[1].split(" done")[0]) for out in outputs)
    assert done == COMMENTS + len(review), outputs
    sent = 0
    for key, bodies in queued.items():
        remote = comment_texts(jira, key)
        assert len(remote) - before[key] == len(bodies), (key, remote)
        for body in bodies:
            assert remote.count(body) == 1, (key, body, remote)
        sent += len(remote) - before[key]
    assert sent == COMMENTS + len(review)
    for key in review:
        assert jira.issue(key)["fields"]["status"]["name"] == "Ready To Deploy"
    with Session(cache) as session:
        states = collections.Counter(e.state for e in session.exec(select(OutboxEntry)))
    assert states == {OutboxState.DONE: COMMENTS + len(review)}
