"""Kill -9 at any moment, then restart: each change reaches Jira exactly once.

The parent serves a sandbox Jira on a fixed loopback port (with latency, so a push takes a
while), syncs a SQLite cache from it and makes ~40 changes on the board. Then, round after
round, a child process opens the same cache and pushes the outbox; the parent SIGKILLs it
once the sandbox has answered a few more of its calls, each round at a different point.
Finally the parent pushes the rest in-process, and the sandbox must show every comment
exactly once, every moved issue in its target status with that transition logged once,
and every assignment made.
"""

from __future__ import annotations

import collections
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jira_support import CLIENT_USER, SANDBOX_USER, tracker_for
from kill_support import kill_when
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from triage.core.board.service import Board
from triage.core.config import Settings, load_settings
from triage.core.tracker.push import Pusher
from triage.core.tracker.sync import Sync
from triage.sandbox.agency import Agency, adf_to_text, build_agency
from triage.sandbox.jira_server import JiraSandbox
from triage.storage.columns import BoardColumn
from triage.storage.db import open_cache, sqlite_url
from triage.storage.models import OutboxEntry, OutboxState

REPO = Path(__file__).resolve().parents[2]
LATENCY_MS = 30.0
#: Sandbox calls the child may make in each round before it is killed.
KILL_AFTER = (1, 3, 6, 2, 10, 4, 15, 7, 25, 12, 40, 9, 30, 5, 20)
SETTLE_S = 0.3
LEASE_S = 1.0
"""Short, so a killed child's claim on a change lapses before the next round needs it."""
"""A killed child's last request may still be in the server; wait until calls stop."""

CHILD = r"""
import sys
from pathlib import Path

repo, data_dir, url, flavour, user = sys.argv[1:6]
sys.path.insert(0, repo)

from triage.core.board.service import Board
from triage.core.config import load_settings
from triage.core.tracker.push import Pusher
from triage.core.tracker.client import Credentials, JiraTracker
from triage.storage.db import open_cache, sqlite_url

settings = load_settings(
    Path(data_dir) / "absent.toml",
    data_dir=data_dir,
    jira={"projects": ["SUP"], "push_lease_seconds": float(sys.argv[6])},
)
engine = open_cache(sqlite_url(Path(data_dir) / "cache.db"))
board = Board(engine, settings)
tracker = JiraTracker(Credentials(url, "sandbox-token", user), flavour)
result = Pusher(engine, settings, tracker).run()
print(result.summary(), flush=True)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def agency() -> Agency:
    # An hour before the real now: the sandbox stamps its own changes with the real now.
    return build_agency(tickets=300, seed=9, now=datetime.now(UTC) - timedelta(hours=1))


@pytest.fixture
def sandbox(agency: Agency, flavour: str) -> Iterator[JiraSandbox]:
    sb = JiraSandbox.from_agency(agency, flavour=flavour, user=SANDBOX_USER[flavour])
    sb.start(port=free_port())
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        tmp_path / "absent.toml",
        data_dir=str(tmp_path),
        jira={"projects": ["SUP"], "push_lease_seconds": LEASE_S},
    )


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Engine]:
    engine = open_cache(sqlite_url(tmp_path / "cache.db"))
    try:
        yield engine
    finally:
        engine.dispose()


def transitions(sb: JiraSandbox, key: str) -> collections.Counter[tuple[str, str]]:
    return collections.Counter(
        (item["fromString"], item["toString"])
        for history in sb.issue(key)["changelog"]["histories"]
        for item in history["items"]
        if item["field"] == "status"
    )


def comment_bodies(sb: JiraSandbox, key: str) -> list[str]:
    comments = sb.issue(key)["fields"]["comment"]["comments"]
    return [b if isinstance(b := c["body"], str) else adf_to_text(b) for c in comments]


class Plan:
    """The changes made on the board, and what Jira must show once they are pushed."""

    def __init__(self) -> None:
        self.moves: dict[str, list[tuple[str, str]]] = collections.defaultdict(list)
        self.comments: dict[str, list[str]] = collections.defaultdict(list)
        self.assigned: set[str] = set()

    def targets(self) -> dict[str, str]:
        return {key: steps[-1][1] for key, steps in self.moves.items()}


def make_changes(board: Board) -> Plan:
    """About forty moves, comments and assignments, some of them chained on one ticket."""
    plan = Plan()
    cards = board.load().columns
    review = [c.key for c in cards[BoardColumn.PO_REVIEW]]
    ready = [c.key for c in cards[BoardColumn.READY_TO_DEPLOY]]
    todo = [c.key for c in cards[BoardColumn.TODO] if c.assignee is None]
    qa = [c.key for c in cards[BoardColumn.QA]]
    assert len(review) >= 10 and len(ready) >= 6 and len(todo) >= 4 and len(qa) >= 6
    number = 0

    def note(key: str) -> str:
        nonlocal number
        number += 1
        return f"kill test note {number} on {key}"

    def move(key: str, target: BoardColumn, **kw: str) -> None:
        source = board.ticket(key).jira_status
        board.move(key, target, **kw)
        plan.moves[key].append((source, target.value))
        if "comment" in kw:
            plan.comments[key].append(kw["comment"])

    for key in review[:6]:
        move(key, BoardColumn.READY_TO_DEPLOY)
    for key in review[6:10]:
        move(key, BoardColumn.READY_TO_DEPLOY, comment=note(key))
    for key in review[:3]:  # a second move of the same ticket, after the first
        move(key, BoardColumn.NEEDS_WORK, comment=note(key))
    for key in ready[:4]:
        move(key, BoardColumn.NEEDS_WORK, comment=note(key))
    for key in ready[4:6]:
        move(key, BoardColumn.DONE, override_reason="deployed by hand")
    for key in todo[:4]:
        move(key, BoardColumn.IN_PROGRESS)  # unassigned: assigns it to me too
        plan.assigned.add(key)
    for key in [*qa[:6], *review[3:7]]:
        body = note(key)
        board.comment(key, body)
        plan.comments[key].append(body)
    for key in qa[:4]:
        board.assign_to_me(key)
        plan.assigned.add(key)
    return plan


def pending(engine: Engine) -> int:
    with Session(engine) as session:
        rows = session.exec(select(OutboxEntry).where(OutboxEntry.state == OutboxState.PENDING))
        return len(rows.all())


def settle(sb: JiraSandbox) -> None:
    """Wait (bounded) until the server answers nothing more for SETTLE_S."""
    deadline = time.monotonic() + 10
    seen = sb.total_calls()
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = sb.total_calls()
        if now != seen:
            seen, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= SETTLE_S:
            return


def wait_for_leases_to_lapse(engine: Engine) -> None:
    """Wait (bounded) until no killed child holds a change any more."""
    deadline = time.monotonic() + 10 * LEASE_S
    while time.monotonic() < deadline:
        with Session(engine) as session:
            held = session.exec(
                select(OutboxEntry).where(OutboxEntry.lease_until >= datetime.now(UTC))  # type: ignore[operator]
            ).first()
        if held is None:
            return
        time.sleep(0.1)
    pytest.fail(f"a change is still held {10 * LEASE_S} s after the last push")


def push_and_kill(sb: JiraSandbox, data_dir: Path, flavour: str, calls: int) -> int | None:
    """Run the push in a child; SIGKILL it after `calls` sandbox calls. Its exit code."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD,
            str(REPO),
            str(data_dir),
            sb.url,
            flavour,
            CLIENT_USER[flavour],
            str(LEASE_S),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    )
    start = sb.total_calls()
    code = kill_when(child, lambda: sb.total_calls() - start >= calls, f"{calls} calls")
    settle(sb)
    return code


@pytest.mark.timeout(240)
def test_kill_9_at_any_moment_then_restart_pushes_each_change_exactly_once(
    sandbox: JiraSandbox,
    flavour: str,
    cache: Engine,
    settings: Settings,
    tmp_path: Path,
) -> None:
    tracker = tracker_for(sandbox, flavour)
    Sync(cache, settings, tracker).run()
    board = Board(cache, settings)
    before = {f"SUP-{n}": transitions(sandbox, f"SUP-{n}") for n in range(1, 301)}
    plan = make_changes(board)
    total = pending(cache)
    assert total >= 40
    sandbox.latency_ms = LATENCY_MS

    killed = 0
    for calls in KILL_AFTER:
        if pending(cache) == 0:
            break
        code = push_and_kill(sandbox, tmp_path, flavour, calls)
        if code == -signal.SIGKILL:
            killed += 1
    assert killed >= 3, "the child should have been killed mid-push several times"

    sandbox.latency_ms = 0.0
    wait_for_leases_to_lapse(cache)
    result = Pusher(cache, settings, tracker).run()

    assert (result.conflicts, result.failed, result.waiting) == (0, 0, 0), result.summary()
    with Session(cache) as session:
        states = collections.Counter(e.state for e in session.exec(select(OutboxEntry)))
    assert states == {OutboxState.DONE: total}
    for key, bodies in plan.comments.items():
        remote = comment_bodies(sandbox, key)
        for body in bodies:
            assert remote.count(body) == 1, (key, body, remote)
    for key, target in plan.targets().items():
        assert sandbox.issue(key)["fields"]["status"]["name"] == target, key
        logged = transitions(sandbox, key) - before[key]
        assert logged == collections.Counter(plan.moves[key]), (key, logged)
    for key in plan.assigned:
        assignee = sandbox.issue(key)["fields"]["assignee"]
        assert assignee is not None and assignee["displayName"] == board.me.name, key
