"""Push out, end to end: board changes replayed from the outbox to the sandbox Jira.

The real `jira` library through JiraTracker, both flavours, a SQLite cache filled by a real
sync. What reached Jira is read from the sandbox's own store (`JiraSandbox.issue`).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jira_support import CLIENT_USER
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from triage.core.board.service import Board
from triage.core.config import Settings, load_settings
from triage.core.tracker.client import Credentials, JiraTracker
from triage.core.tracker.push import Pusher, Resolution, resolve_conflict
from triage.core.tracker.sync import Sync
from triage.sandbox.agency import Agency, adf_to_text, build_agency
from triage.sandbox.jira_server import JiraSandbox
from triage.storage import outbox
from triage.storage.columns import BoardColumn
from triage.storage.db import open_cache, sqlite_url
from triage.storage.models import Comment, OutboxEntry, OutboxKind, OutboxState, Ticket

LEASE = timedelta(seconds=60)
RESOLUTION = "Won't Do"
"""Not the sandbox's default, so the test sees the config's value travel."""


@pytest.fixture(scope="module")
def agency() -> Agency:
    # An hour before the real now: the sandbox stamps its own edits with the real now.
    return build_agency(tickets=300, seed=2, now=datetime.now(UTC) - timedelta(hours=1))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        tmp_path / "absent.toml",
        data_dir=str(tmp_path),
        jira={"projects": ["SUP"], "resolution": RESOLUTION},
    )


@pytest.fixture
def cache(tmp_path: Path, settings: Settings, tracker: JiraTracker) -> Iterator[Engine]:
    """A SQLite cache synced from the sandbox."""
    engine = open_cache(sqlite_url(tmp_path / "cache.db"))
    Sync(engine, settings, tracker).run()
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def board(cache: Engine, settings: Settings) -> Board:
    return Board(cache, settings)


def pusher(board: Board, tracker: Any, **kw: Any) -> Pusher:
    return Pusher(board.engine, board.settings, tracker, **kw)


def keys_in(board: Board, column: BoardColumn, count: int) -> list[str]:
    cards = board.load().columns[column]
    assert len(cards) >= count, f"the demo has fewer than {count} tickets in {column}"
    return sorted(card.key for card in cards[:count])


def status(sb: JiraSandbox, key: str) -> str:
    return str(sb.issue(key)["fields"]["status"]["name"])


def comment_bodies(sb: JiraSandbox, key: str) -> list[str]:
    comments = sb.issue(key)["fields"]["comment"]["comments"]
    return [b if isinstance(b := c["body"], str) else adf_to_text(b) for c in comments]


def transitions(sb: JiraSandbox, key: str) -> list[tuple[str, str]]:
    """(from, to) of every status change in the issue's changelog, oldest first."""
    return [
        (item["fromString"], item["toString"])
        for history in sb.issue(key)["changelog"]["histories"]
        for item in history["items"]
        if item["field"] == "status"
    ]


def entries(engine: Engine, key: str | None = None) -> list[OutboxEntry]:
    with Session(engine) as session:
        query = select(OutboxEntry).order_by(OutboxEntry.id)  # type: ignore[arg-type]
        if key is not None:
            query = query.where(OutboxEntry.ticket_key == key)
        return list(session.exec(query))


def local(engine: Engine, key: str) -> Ticket:
    with Session(engine) as session:
        found = session.get(Ticket, key)
    assert found is not None
    return found


def dead_tracker(flavour: str) -> JiraTracker:
    """A tracker for a Jira that is not there: a loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    credentials = Credentials(f"http://127.0.0.1:{port}", "sandbox-token", CLIENT_USER[flavour])
    return JiraTracker(credentials, flavour, timeout=(2.0, 2.0))  # type: ignore[arg-type]


def test_moves_comments_and_assignments_reach_jira(
    board: Board, sandbox: JiraSandbox, tracker: JiraTracker, flavour: str
) -> None:
    review, ready = (
        keys_in(board, BoardColumn.PO_REVIEW, 2),
        keys_in(board, BoardColumn.READY_TO_DEPLOY, 1),
    )
    todo = [c.key for c in board.load().columns[BoardColumn.TODO] if c.assignee is None][0]
    board.move(review[0], BoardColumn.READY_TO_DEPLOY)
    board.comment(review[1], "the client asked for a second look")
    board.assign_to_me(review[1])
    board.move(ready[0], BoardColumn.NEEDS_WORK, comment="the client found a typo")
    board.move(todo, BoardColumn.IN_PROGRESS)  # unassigned: the move assigns it to me too
    made = entries(board.engine)
    assert [e.kind for e in made].count(OutboxKind.ASSIGN) == 2

    result = pusher(board, tracker).run()

    assert (result.done, result.conflicts, result.failed, result.waiting) == (len(made), 0, 0, 0)
    assert all(e.state is OutboxState.DONE for e in entries(board.engine))
    assert status(sandbox, review[0]) == "Ready To Deploy"
    assert transitions(sandbox, review[0])[-1] == ("PO Review", "Ready To Deploy")
    assert status(sandbox, ready[0]) == "Needs Work"
    assert transitions(sandbox, ready[0])[-1] == ("Ready To Deploy", "Needs Work")
    assert comment_bodies(sandbox, ready[0]).count("the client found a typo") == 1
    assert comment_bodies(sandbox, review[1]).count("the client asked for a second look") == 1
    assert status(sandbox, todo) == "In Progress"
    me = board.me
    for key in (review[1], todo):
        assignee = sandbox.issue(key)["fields"]["assignee"]
        assert assignee is not None and assignee["displayName"] == me.name
        if flavour == "cloud":
            assert assignee["accountId"] == me.account_id
    last = sandbox.issue(review[1])["fields"]["comment"]["comments"][-1]
    assert last["author"]["displayName"] == me.name
    with Session(board.engine) as session:  # the local comments now know their Jira ids
        mine = session.exec(select(Comment).where(Comment.author == me.name)).all()
        assert len(mine) == 2 and all(c.remote_id for c in mine)


def test_a_second_push_run_does_nothing(
    board: Board, sandbox: JiraSandbox, tracker: JiraTracker
) -> None:
    key = keys_in(board, BoardColumn.PO_REVIEW, 1)[0]
    board.move(key, BoardColumn.READY_TO_DEPLOY, comment="ready from our side")
    board.comment(key, "and a note")
    push = pusher(board, tracker)
    assert push.run().done == 2
    calls = sandbox.total_calls()

    again = push.run()

    assert (again.done, again.conflicts, again.failed, again.waiting) == (0, 0, 0, 0)
    assert sandbox.total_calls() == calls
    assert comment_bodies(sandbox, key).count("ready from our side") == 1
    assert transitions(sandbox, key).count(("PO Review", "Ready To Deploy")) == 1


def test_the_transition_to_done_carries_the_configured_resolution(
    board: Board, sandbox: JiraSandbox, tracker: JiraTracker
) -> None:
    key = keys_in(board, BoardColumn.READY_TO_DEPLOY, 1)[0]
    board.move(key, BoardColumn.DONE, override_reason="deployed by hand before Triage")

    result = pusher(board, tracker).run()

    assert result.done == 1, result.summary()
    fields = sandbox.issue(key)["fields"]
    assert fields["status"]["name"] == "Done"
    assert fields["resolution"]["name"] == RESOLUTION
    assert fields["resolutiondate"] is not None


def race(board: Board, sandbox: JiraSandbox, tracker: JiraTracker) -> tuple[str, OutboxEntry]:
    """A local move out of PO Review while someone in Jira moves the issue to QA."""
    key = keys_in(board, BoardColumn.PO_REVIEW, 1)[0]
    board.move(key, BoardColumn.READY_TO_DEPLOY)
    board.comment(key, "deployed to the test site")
    sandbox.edit(key, status="QA")
    result = pusher(board, tracker).run()
    assert (result.done, result.conflicts, result.waiting) == (0, 1, 1)
    move, comment = entries(board.engine, key)
    assert comment.state is OutboxState.PENDING  # waits behind the conflicted move
    return key, move


def test_a_remote_change_racing_a_local_move_is_a_conflict_with_both_states(
    board: Board, sandbox: JiraSandbox, tracker: JiraTracker
) -> None:
    key, move = race(board, sandbox, tracker)

    assert move.state is OutboxState.CONFLICT
    assert move.payload["from_status"] == "PO Review"
    assert move.payload["to"] == "Ready To Deploy"
    assert move.payload["remote_status"] == "QA"
    assert "'QA'" in (move.last_error or "") and "'PO Review'" in (move.last_error or "")
    assert local(board.engine, key).column is BoardColumn.READY_TO_DEPLOY
    assert status(sandbox, key) == "QA"
    assert "deployed to the test site" not in comment_bodies(sandbox, key)


@pytest.mark.parametrize("how", list(Resolution))
def test_resolving_a_conflict(
    board: Board,
    sandbox: JiraSandbox,
    tracker: JiraTracker,
    settings: Settings,
    how: Resolution,
) -> None:
    key, move = race(board, sandbox, tracker)
    assert move.id is not None

    settled = resolve_conflict(board.engine, move.id, how)
    if how is Resolution.ACCEPT_REMOTE:  # Jira's column shows at once, before any sync
        assert local(board.engine, key).column is BoardColumn.QA
    result = pusher(board, tracker).run()
    Sync(board.engine, settings, tracker).run()

    assert comment_bodies(sandbox, key).count("deployed to the test site") == 1
    if how is Resolution.RETRY:
        assert settled.state is OutboxState.PENDING
        assert result.done == 2
        assert entries(board.engine, key)[0].state is OutboxState.DONE
        assert status(sandbox, key) == "Ready To Deploy"
        assert transitions(sandbox, key)[-1] == ("QA", "Ready To Deploy")
        assert local(board.engine, key).column is BoardColumn.READY_TO_DEPLOY
    else:
        assert settled.state is OutboxState.DISCARDED
        assert result.done == 1
        assert entries(board.engine, key)[0].state is OutboxState.DISCARDED
        assert status(sandbox, key) == "QA"
        assert ("PO Review", "Ready To Deploy") not in transitions(sandbox, key)
        assert local(board.engine, key).column is BoardColumn.QA


def test_an_unreachable_jira_leaves_changes_pending_with_backoff(
    board: Board, sandbox: JiraSandbox, tracker: JiraTracker, flavour: str
) -> None:
    first, second = keys_in(board, BoardColumn.PO_REVIEW, 2)
    board.move(first, BoardColumn.READY_TO_DEPLOY)
    board.move(first, BoardColumn.NEEDS_WORK, comment="the client changed their mind")
    board.comment(second, "waiting for the client's logo")
    now = datetime.now(UTC)
    dead = dead_tracker(flavour)

    result = pusher(board, dead, clock=lambda: now).run()

    assert (result.done, result.conflicts, result.failed) == (0, 0, 0)
    assert result.waiting >= 1 and "not reachable" in result.errors[-1]
    made = entries(board.engine)
    assert all(e.state is OutboxState.PENDING for e in made)
    assert made[0].attempts == 1
    assert made[0].next_attempt_at is not None and made[0].next_attempt_at > now
    assert "not reachable" in (made[0].last_error or "")

    # Still unreachable: the first change backs off, so its ticket's later change waits too;
    # the other ticket's change is tried and backs off in turn.
    pusher(board, dead, clock=lambda: now).run()
    made = entries(board.engine)
    assert [e.attempts for e in made] == [1, 0, 1]
    assert all(e.state is OutboxState.PENDING for e in made)
    assert made[2].next_attempt_at is not None and made[2].next_attempt_at > now

    # Jira is back, but nothing is due yet: nothing is sent, nothing jumps the queue.
    calls = sandbox.total_calls()
    idle = pusher(board, tracker, clock=lambda: now).run()
    assert idle.done == 0 and sandbox.total_calls() == calls
    assert all(e.state is OutboxState.PENDING for e in entries(board.engine))

    later = now + timedelta(hours=1)
    done = pusher(board, tracker, clock=lambda: later).run()

    assert (done.done, done.conflicts, done.failed, done.waiting) == (3, 0, 0, 0)
    assert transitions(sandbox, first)[-2:] == [
        ("PO Review", "Ready To Deploy"),
        ("Ready To Deploy", "Needs Work"),
    ]
    assert comment_bodies(sandbox, first).count("the client changed their mind") == 1
    assert comment_bodies(sandbox, second).count("waiting for the client's logo") == 1


def test_a_failed_change_can_be_dropped_or_tried_again(
    board: Board, sandbox: JiraSandbox, tracker: JiraTracker
) -> None:
    key = keys_in(board, BoardColumn.PO_REVIEW, 1)[0]
    board.move(key, BoardColumn.READY_TO_DEPLOY)
    sandbox.delete(key)  # gone from Jira: the push cannot apply it
    result = pusher(board, tracker).run()
    assert result.failed == 1
    [entry] = entries(board.engine, key)
    assert entry.state is OutboxState.FAILED and "no longer exists" in (entry.last_error or "")
    dropped = board.resolve(entry.id or 0, Resolution.DISCARD)
    assert dropped.state is OutboxState.DISCARDED
    assert pusher(board, tracker).run().failed == 0


def test_a_moves_comment_goes_out_only_with_the_move(
    board: Board, sandbox: JiraSandbox, tracker: JiraTracker
) -> None:
    discarded, retried = keys_in(board, BoardColumn.PO_REVIEW, 2)
    for key in (discarded, retried):
        board.move(key, BoardColumn.NEEDS_WORK, comment=f"the client wants changes on {key}")
        sandbox.edit(key, status="QA")  # someone moved it in Jira meanwhile

    result = pusher(board, tracker).run()

    assert result.conflicts == 2, result.summary()
    for key in (discarded, retried):
        assert f"the client wants changes on {key}" not in comment_bodies(sandbox, key)
    [move] = entries(board.engine, discarded)
    board.resolve(move.id or 0, Resolution.DISCARD)
    [move] = entries(board.engine, retried)
    board.resolve(move.id or 0, Resolution.RETRY)
    assert pusher(board, tracker).run().done == 1

    assert f"the client wants changes on {discarded}" not in comment_bodies(sandbox, discarded)
    assert status(sandbox, discarded) == "QA"
    assert comment_bodies(sandbox, retried).count(f"the client wants changes on {retried}") == 1
    assert transitions(sandbox, retried)[-1] == ("QA", "Needs Work")
    with Session(board.engine) as session:  # the local comment knows its Jira id
        [local_comment] = session.exec(
            select(Comment).where(Comment.ticket_key == retried, Comment.author == board.me.name)
        ).all()
        assert local_comment.remote_id is not None


@pytest.mark.parametrize("refusal", [403, 404, 400])
def test_one_refused_ticket_does_not_stop_the_other_changes(
    board: Board, sandbox: JiraSandbox, tracker: JiraTracker, refusal: int
) -> None:
    first, refused, last = keys_in(board, BoardColumn.PO_REVIEW, 3)
    board.comment(first, "a note before the refusal")
    board.move(refused, BoardColumn.READY_TO_DEPLOY)
    board.comment(refused, "a note behind the refused move")
    board.comment(last, "a note after the refusal")
    sandbox.refuse_writes(refused, refusal)

    result = pusher(board, tracker).run()

    assert (result.done, result.failed) == (2, 1), result.summary()
    assert comment_bodies(sandbox, first).count("a note before the refusal") == 1
    assert comment_bodies(sandbox, last).count("a note after the refusal") == 1
    assert status(sandbox, refused) == "PO Review"
    move, note = entries(board.engine, refused)
    assert move.state is OutboxState.FAILED and str(refusal) in (move.last_error or "")
    assert note.state is OutboxState.PENDING  # waits behind the refused move

    sandbox.refuse_writes(refused, None)  # the admin granted the permission
    board.resolve(move.id or 0, Resolution.RETRY)
    again = pusher(board, tracker).run()
    assert (again.done, again.failed) == (2, 0), again.summary()
    assert status(sandbox, refused) == "Ready To Deploy"
    assert comment_bodies(sandbox, refused).count("a note behind the refused move") == 1


def test_a_replay_recognises_a_comment_jira_normalised(
    board: Board, sandbox: JiraSandbox, tracker: JiraTracker
) -> None:
    key = keys_in(board, BoardColumn.PO_REVIEW, 1)[0]
    body = "Checked on staging.\r\n\r\n\r\nThe form works now.\n\n\n\n \n\nThanks!  "
    board.comment(key, body)
    assert pusher(board, tracker).run().done == 1
    assert len([b for b in comment_bodies(sandbox, key) if "The form works now." in b]) == 1
    # A crash after Jira took the comment, before the cache recorded it: the row is pending.
    [entry] = entries(board.engine, key)
    with Session(board.engine) as session:
        row = session.get(OutboxEntry, entry.id)
        assert row is not None
        row.state, row.finished = OutboxState.PENDING, None
        session.add(row)
        session.commit()

    replay = pusher(board, tracker).run()

    assert replay.done == 1, replay.summary()
    assert len([b for b in comment_bodies(sandbox, key) if "The form works now." in b]) == 1


def test_a_slow_send_keeps_its_lease_so_no_other_pusher_takes_the_change(
    board: Board, sandbox: JiraSandbox, tracker: JiraTracker, settings: Settings
) -> None:
    key = keys_in(board, BoardColumn.PO_REVIEW, 1)[0]
    board.comment(key, "sent slowly")
    short = settings.model_copy(
        update={"jira": settings.jira.model_copy(update={"push_lease_seconds": 1.0})}
    )
    sandbox.latency_ms = 1500.0  # every call outlasts the lease: only renewals keep it
    slow = threading.Thread(target=Pusher(board.engine, short, tracker).run)
    slow.start()
    try:
        deadline = time.monotonic() + 10
        while entries(board.engine, key)[0].lease_owner is None:
            assert time.monotonic() < deadline, "the pusher never claimed the change"
            time.sleep(0.05)
        taken = []
        while slow.is_alive() and time.monotonic() < deadline + 20:
            now = datetime.now(UTC)
            taken.append(outbox.claim_next(board.engine, "intruder", now=now, lease=LEASE))
            time.sleep(0.2)
    finally:
        slow.join(timeout=60)
    assert len(taken) >= 5 and taken == [None] * len(taken)
    assert comment_bodies(sandbox, key).count("sent slowly") == 1
    assert entries(board.engine, key)[0].state is OutboxState.DONE
