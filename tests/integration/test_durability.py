"""Killing the process at any moment loses nothing that was shown as done.

A child process makes a long run of changes through `core.board.Board` and prints a line
after each call returns; the test SIGKILLs it at a random point, reopens the cache and checks
every change printed as done is there, with its outbox row, in a cache that is not corrupt.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import psycopg
import pytest
from postgres import admin_conninfo
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, select

from triage.core.board.service import Board
from triage.core.board.workflow import check_move
from triage.core.config import Settings, load_settings
from triage.core.demo import load_demo
from triage.sandbox.agency import build_agency
from triage.storage.columns import BoardColumn
from triage.storage.db import open_cache
from triage.storage.models import (
    Comment,
    OutboxEntry,
    OutboxKind,
    OutboxState,
    StatusChange,
    Ticket,
)

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
#: The child's clock: change number n happens at T0 + n seconds, so each row says which it is.
T0 = NOW + timedelta(days=1)
PAIR = (BoardColumn.PO_REVIEW, BoardColumn.READY_TO_DEPLOY)
#: (seed, lines to read before the kill); None draws the count from the seed.
ROUNDS = ((101, 1), (202, None), (303, None), (404, None), (505, None))
OPS_PER_ROUND = 150
LINE_TIMEOUT_S = 60.0
ROUND_TIMEOUT_S = 180.0

CHILD = r"""
import json, sys
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, sys.argv[1])
from triage.core.board.service import Board
from triage.core.config import load_settings
from triage.storage.db import open_cache
from triage.storage.columns import BoardColumn

data_dir, plan_file = Path(sys.argv[2]), Path(sys.argv[3])
plan = json.loads(plan_file.read_text(encoding="utf-8"))
t0 = datetime.fromisoformat(plan["t0"])
settings = load_settings(data_dir / "absent.toml", data_dir=data_dir)
engine = open_cache(settings.resolved_database_url())
moment = [t0]
board = Board(engine, settings, clock=lambda: moment[0])
for number, kind, key, arg in plan["ops"]:
    moment[0] = t0 + timedelta(seconds=number)
    if kind == "move":
        board.move(key, BoardColumn(arg))
    elif kind == "comment":
        board.comment(key, arg)
    elif kind == "assign":
        board.assign_to_me(key)
    else:
        raise SystemExit(f"unknown kind {kind}")
    print(f"done {kind} {key} {number}", flush=True)
print("finished", flush=True)
sys.stdin.read()  # wait for the kill
"""


@dataclass(frozen=True)
class Op:
    """One planned change; `number` is global, so its time T0 + number identifies its rows."""

    number: int
    kind: str
    key: str
    arg: str

    @property
    def at(self) -> datetime:
        return T0 + timedelta(seconds=self.number)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env.update(extra)
    return env


def settings_for(data_dir: Path, database_url: str | None) -> Settings:
    overrides: dict[str, Any] = {"data_dir": data_dir}
    if database_url is not None:
        overrides["database_url"] = database_url
    return load_settings(data_dir.parent / "absent.toml", **overrides)


def build_demo(settings: Settings) -> list[str]:
    """Load a 200-ticket demo into the cache; the keys whose moves in PAIR pass the guards."""
    agency = build_agency(tickets=200, seed=1, now=NOW)
    engine = open_cache(settings.resolved_database_url())
    try:
        load_demo(engine, settings, agency.issues, agency.fields, seed=1)
        board = Board(engine, settings)
        pool: list[str] = []
        with Session(engine) as session:
            tickets = session.exec(select(Ticket).where(Ticket.column.in_(PAIR))).all()  # type: ignore[union-attr]
        for ticket in tickets:
            assert ticket.column is not None
            other = PAIR[1 - PAIR.index(ticket.column)]
            there = board.check(ticket.key, other)
            # And back again, from the other column.
            moved = ticket.model_copy(update={"column": other})
            back = check_move(moved, ticket.column, board.me.name)
            if there.allowed and back.allowed and not (there.needs_comment or back.needs_comment):
                if not (there.assign_to_me or back.assign_to_me):
                    pool.append(ticket.key)
    finally:
        engine.dispose()
    assert len(pool) >= 8, f"the demo has too few guard-free tickets in {PAIR}: {pool}"
    return sorted(pool)


def plan_round(
    rng: random.Random, pool: list[str], columns: dict[str, BoardColumn], start: int
) -> list[Op]:
    """A long run of moves, comments and assignments over `pool`, from the cache's columns."""
    where = dict(columns)
    ops: list[Op] = []
    for number in range(start, start + OPS_PER_ROUND):
        key = rng.choice(pool)
        kind = rng.choices(["move", "comment", "assign"], weights=[5, 3, 2])[0]
        if kind == "move":
            target = PAIR[1 - PAIR.index(where[key])]
            where[key] = target
            ops.append(Op(number, kind, key, target.value))
        elif kind == "comment":
            ops.append(Op(number, kind, key, f"durability check {number} ({uuid.uuid4().hex[:8]})"))
        else:
            ops.append(Op(number, kind, key, ""))
    return ops


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    try:
        for line in stream:
            lines.put(line.rstrip("\n"))
    finally:
        lines.put(None)


def run_and_kill(
    tmp_path: Path, data_dir: Path, ops: list[Op], kill_after: int, env: dict[str, str]
) -> list[str]:
    """Run the child over `ops`, SIGKILL it after `kill_after` lines; every line it printed."""
    plan_file = tmp_path / f"plan-{ops[0].number}.json"
    plan = {"t0": T0.isoformat(), "ops": [[o.number, o.kind, o.key, o.arg] for o in ops]}
    plan_file.write_text(json.dumps(plan), encoding="utf-8")
    stderr_path = tmp_path / f"child-{ops[0].number}.stderr"
    deadline = time.monotonic() + ROUND_TIMEOUT_S
    with open(stderr_path, "w", encoding="utf-8") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(REPO), str(data_dir), str(plan_file)],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    assert child.stdout is not None and child.stdin is not None
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_pump, args=(child.stdout, lines), daemon=True)
    reader.start()
    printed: list[str] = []
    try:
        while len(printed) < kill_after:
            wait = min(LINE_TIMEOUT_S, deadline - time.monotonic())
            assert wait > 0, f"the child printed {len(printed)} lines in {ROUND_TIMEOUT_S} s"
            try:
                line = lines.get(timeout=wait)
            except queue.Empty:
                pytest.fail(f"no line from the child in {wait:.0f} s: {_read(stderr_path)}")
            if line is None:
                child.wait(timeout=LINE_TIMEOUT_S)
                pytest.fail(
                    f"the child exited ({child.returncode}) after {len(printed)} lines: "
                    f"{_read(stderr_path)}"
                )
            printed.append(line)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=LINE_TIMEOUT_S)
        # Whatever it printed before the kill counts too: drain the pipe to its end.
        reader.join(timeout=LINE_TIMEOUT_S)
        assert not reader.is_alive(), "the child's stdout did not close after the kill"
        while (rest := lines.get_nowait()) is not None:
            printed.append(rest)
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=LINE_TIMEOUT_S)
        child.stdin.close()
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL, (child.returncode, _read(stderr_path))
    return printed


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")[-3000:]


def done_ops(printed: list[str], ops: list[Op]) -> list[Op]:
    """The ops the child showed as done, checked against the plan, in order."""
    by_number = {op.number: op for op in ops}
    done: list[Op] = []
    for line in printed:
        if line == "finished":
            continue
        word, kind, key, number = line.split()
        op = by_number[int(number)]
        assert (word, kind, key) == ("done", op.kind, op.key), line
        done.append(op)
    assert [op.number for op in done] == [op.number for op in ops[: len(done)]]
    return done


def verify(engine: Engine, me: str, committed: list[Op], maybe: Op | None) -> list[Op]:
    """Check every committed op is in the cache; returns them plus `maybe` if it landed too."""
    with Session(engine) as session:
        outbox = session.exec(select(OutboxEntry)).all()
        by_time: dict[datetime, list[OutboxEntry]] = {}
        for entry in outbox:
            by_time.setdefault(entry.created, []).append(entry)
        landed = list(committed)
        if maybe is not None and maybe.at in by_time:
            landed.append(maybe)
        missing = [op for op in landed if op.at not in by_time]
        assert not missing, f"changes shown as done are missing from the outbox: {missing}"
        extra = set(by_time) - {op.at for op in landed}
        assert not extra, f"outbox rows of changes never made, at {sorted(extra)}"
        comments = {c.created: c for c in session.exec(select(Comment)).all() if c.created >= T0}
        moves = {m.at: m for m in session.exec(select(StatusChange)).all() if m.at >= T0}
        assert set(comments) == {op.at for op in landed if op.kind == "comment"}
        assert set(moves) == {op.at for op in landed if op.kind == "move"}

        expected_column: dict[str, BoardColumn] = {}
        assigned: set[str] = set()
        last_change: dict[str, datetime] = {}
        for op in landed:
            entries = by_time[op.at]
            assert len(entries) == 1, (op, entries)
            entry = entries[0]
            assert entry.ticket_key == op.key, (op, entry)
            assert entry.state is OutboxState.PENDING, (op, entry)
            last_change[op.key] = op.at
            if op.kind == "move":
                assert entry.kind is OutboxKind.MOVE, (op, entry)
                assert entry.payload["to"] == op.arg, (op, entry.payload)
                move = moves[op.at]
                assert (move.ticket_key, move.to_status, move.source) == (op.key, op.arg, "local")
                expected_column[op.key] = BoardColumn(op.arg)
            elif op.kind == "comment":
                assert entry.kind is OutboxKind.COMMENT, (op, entry)
                assert entry.payload == {"body": op.arg}, (op, entry.payload)
                comment = comments[op.at]
                assert (comment.ticket_key, comment.body, comment.author) == (op.key, op.arg, me)
            else:
                assert entry.kind is OutboxKind.ASSIGN, (op, entry)
                assert entry.payload["assignee"] == me, (op, entry.payload)
                assigned.add(op.key)

        for key, column in expected_column.items():
            ticket = session.get(Ticket, key)
            assert ticket is not None
            assert ticket.column is column, (key, ticket.column, column)
            assert ticket.jira_status == column.value
        for key in assigned:
            ticket = session.get(Ticket, key)
            assert ticket is not None and ticket.assignee == me, (key, ticket)
        for key, at in last_change.items():
            ticket = session.get(Ticket, key)
            assert ticket is not None and ticket.updated == at, (key, ticket.updated, at)
    return landed


def current_columns(engine: Engine, pool: list[str]) -> dict[str, BoardColumn]:
    with Session(engine) as session:
        columns: dict[str, BoardColumn] = {}
        for key in pool:
            ticket = session.get(Ticket, key)
            assert ticket is not None and ticket.column in PAIR, (key, ticket)
            columns[key] = ticket.column
    return columns


def kill_points(rng: random.Random) -> list[int]:
    """Distinct line counts to kill after, one round each; the first is 1."""
    points: list[int] = []
    for seed, fixed in ROUNDS:
        point = fixed if fixed is not None else random.Random(seed).randint(2, OPS_PER_ROUND - 20)
        while point in points:
            point = rng.randint(2, OPS_PER_ROUND - 20)
        points.append(point)
    return points


def check_kills(
    tmp_path: Path,
    data_dir: Path,
    database_url: str | None,
    child_env: dict[str, str],
    integrity: Any,
) -> None:
    settings = settings_for(data_dir, database_url)
    pool = build_demo(settings)
    committed: list[Op] = []
    number = 0
    for (seed, _), kill_after in zip(ROUNDS, kill_points(random.Random(0)), strict=True):
        rng = random.Random(seed)
        engine = open_cache(settings.resolved_database_url())
        try:
            ops = plan_round(rng, pool, current_columns(engine, pool), number)
        finally:
            engine.dispose()
        printed = run_and_kill(tmp_path, data_dir, ops, kill_after, child_env)
        done = done_ops(printed, ops)
        assert len(done) >= kill_after
        maybe = ops[len(done)] if len(done) < len(ops) else None
        integrity()
        engine = open_cache(settings.resolved_database_url())
        try:
            me = Board(engine, settings).me.name
            committed = verify(engine, me, committed + done, maybe)
        finally:
            engine.dispose()
        number += OPS_PER_ROUND
    assert len(committed) >= sum(kill_points(random.Random(0)))


def test_killed_child_loses_nothing_on_sqlite(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    database = data_dir / "triage.db"

    def integrity() -> None:
        connection = sqlite3.connect(database)
        try:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        finally:
            connection.close()

    check_kills(tmp_path, data_dir, None, clean_env(), integrity)
    integrity()


@pytest.fixture
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for this test, as tests/conftest.py's `db_url` makes one."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin_conninfo(postgres_url), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_conninfo(postgres_url), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.mark.postgres
def test_killed_child_loses_nothing_on_postgres(tmp_path: Path, postgres_schema_url: str) -> None:
    url = postgres_schema_url

    def integrity() -> None:
        # PostgreSQL has no integrity_check; every row must read back and no aborted
        # transaction of the killed child may hold a lock.
        with psycopg.connect(admin_conninfo(url), autocommit=True) as connection:
            schema = make_url(url).query["options"].split("=", 1)[1]
            connection.execute(f'SET search_path = "{schema}"')
            for table in ("ticket", "comment", "status_change", "outbox", "meta", "audit"):
                connection.execute(f'SELECT * FROM "{table}"').fetchall()
            connection.execute("SET lock_timeout = '10s'")
            connection.execute("BEGIN")
            connection.execute('LOCK TABLE "ticket", "outbox", "comment" IN EXCLUSIVE MODE')
            connection.execute("ROLLBACK")

    env = clean_env(TRIAGE_DATABASE_URL=url)
    check_kills(tmp_path, tmp_path / "data", url, env, integrity)
