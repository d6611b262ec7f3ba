"""A sync never loses a waiting change nor empties the cache on a wrong answer from Jira.

Against the sandbox Jira, both flavours, on SQLite and PostgreSQL: a ticket that leaves the
synced set with a change waiting stays on the board and in `triage ls` with the reason; a
search answered with `{}` or a non-JSON page is an error, never "every issue was deleted";
a sync that would delete more than `sync.max_delete_share` of the cache stops and says how
to allow it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cli_support import clean_env, triage
from jira_support import SANDBOX_USER, tracker_for
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import triage.core.tracker.client as client
from triage.core.board.service import Board
from triage.core.config import Settings, load_settings
from triage.core.tracker.client import Credentials, JiraTracker, NotJson
from triage.core.tracker.pages import BadSearchAnswer
from triage.core.tracker.sync import DeletionRefused, Sync
from triage.sandbox.agency import Agency, build_agency
from triage.sandbox.jira_routes import Reply
from triage.sandbox.jira_server import JiraSandbox
from triage.storage import queries
from triage.storage.columns import BoardColumn
from triage.storage.db import open_cache
from triage.storage.models import OutboxState, Ticket


@pytest.fixture(scope="module")
def agency() -> Agency:
    return build_agency(tickets=60, seed=8, now=datetime.now(UTC) - timedelta(hours=1))


@pytest.fixture
def sandbox(agency: Agency, flavour: str) -> Iterator[JiraSandbox]:
    issues = json.loads(json.dumps(agency.issues))  # each test edits its own copy
    sb = JiraSandbox(
        issues=issues,
        fields=agency.fields,
        statuses=agency.statuses,
        people=agency.people,
        project_key=agency.project_key,
        flavour=flavour,  # type: ignore[arg-type]
        user=SANDBOX_USER[flavour],
    )
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


def settings_for(tmp_path: Path, sync: dict[str, Any] | None = None, **jira: Any) -> Settings:
    return load_settings(
        tmp_path / "absent.toml",
        data_dir=str(tmp_path),
        jira={"projects": ["SUP"], **jira},
        sync=sync or {},
    )


def in_column(engine: Engine, column: BoardColumn, count: int) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(select(Ticket).where(Ticket.column == column)).all()
    keys = sorted((t.key for t in rows), key=lambda k: int(k.split("-")[1]))
    assert len(keys) >= count, f"fewer than {count} tickets in {column}"
    return keys[:count]


# -- a ticket leaves the synced set --------------------------------------------------------------


def test_a_ticket_that_leaves_the_synced_set_keeps_its_waiting_change_with_the_reason(
    sandbox: JiraSandbox, flavour: str, engine: Engine, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path)
    Sync(engine, settings, tracker_for(sandbox, flavour)).run()
    kept, quiet = in_column(engine, BoardColumn.PO_REVIEW, 2)
    board = Board(engine, settings)
    board.move(kept, BoardColumn.READY_TO_DEPLOY)
    board.comment(kept, "Client accepted on the test site")

    narrower = settings_for(tmp_path, jql=f"project = SUP AND key not in ({kept}, {quiet})")
    result = Sync(engine, narrower, tracker_for(sandbox, flavour)).run(full=True)

    assert result.deleted == 1  # the ticket with nothing waiting goes
    assert result.held == 1
    assert "1 kept" in result.summary()
    assert queries.ticket_count(engine) == 59
    reason = (
        f"{kept} is no longer in the synced set (JQL/permission): change waiting, push or discard"
    )
    card = Board(engine, narrower).card(kept)
    assert card.column is BoardColumn.READY_TO_DEPLOY
    assert card.sync_state == "pending"
    detail = Board(engine, narrower).detail(kept)
    assert [e.last_error for e in detail.pending] == [reason, reason]
    assert all(e.state is OutboxState.PENDING for e in detail.pending)
    loaded = Board(engine, narrower).load()
    assert kept in [c.key for c in loaded.columns[BoardColumn.READY_TO_DEPLOY]]

    # Back in the set: the reason goes, the change still waits.
    Sync(engine, settings, tracker_for(sandbox, flavour)).run(full=True)
    detail = Board(engine, settings).detail(kept)
    assert [e.last_error for e in detail.pending] == [None, None]
    assert queries.ticket_count(engine) == 60


def test_triage_ls_shows_a_change_waiting_on_a_ticket_outside_the_synced_set(
    agency: Agency, tmp_path: Path
) -> None:
    with JiraSandbox.from_agency(agency, flavour="cloud", user="me@agency.example") as sb:
        config = tmp_path / "config.toml"
        config.write_text(
            f'[jira]\nurl = "{sb.url}"\nuser = "me@agency.example"\nprojects = ["SUP"]\n'
        )
        env = clean_env(tmp_path, TRIAGE_JIRA_TOKEN=sb.token)
        assert triage(env, "sync").returncode == 0
        listed = json.loads(triage(env, "ls", "--status", "To Do", "--json").stdout)
        key = listed[0]["key"]
        assert triage(env, "comment", key, "still wanted?").returncode == 0
        # A sync alone (the app's background sync when the push could not send it yet).
        narrower = load_settings(
            config, data_dir=str(tmp_path / "data"), jira={"jql": f"project = SUP AND key != {key}"}
        )
        engine = open_cache(narrower.resolved_database_url())
        Sync(engine, narrower, JiraTracker(Credentials(sb.url, sb.token, sb.user))).run(full=True)
        engine.dispose()

        shown = triage(env, "ls", "--status", "To Do")

    lines = shown.stdout.splitlines()
    row = next(index for index, line in enumerate(lines) if line.startswith(key))
    assert "comment pending" in lines[row + 1]
    assert f"{key} is no longer in the synced set (JQL/permission)" in lines[row + 1]


def test_a_deleted_ticket_without_waiting_changes_disappears(
    sandbox: JiraSandbox, flavour: str, engine: Engine, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path)
    sync = Sync(engine, settings, tracker_for(sandbox, flavour))
    sync.run()
    key = in_column(engine, BoardColumn.TODO, 1)[0]
    sandbox.delete(key)

    result = sync.run(scan_deleted=True)

    assert (result.deleted, result.held) == (1, 0)
    assert Board(engine, settings).cards([key]) == []


# -- wrong answers -------------------------------------------------------------------------------


def answer_search_with(sb: JiraSandbox, reply: Reply) -> None:
    """From now on the sandbox answers every search (and bulkfetch) with `reply`."""
    real = sb._answer

    def answer(
        method: str,
        target: str,
        auth: str | None,
        raw: bytes,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        if "/search" in target or "bulkfetch" in target:
            return reply
        return real(method, target, auth, raw, headers)

    sb._answer = answer  # type: ignore[method-assign]


@pytest.mark.parametrize(
    ("reply", "error", "says"),
    [
        (Reply(200, {}), BadSearchAnswer, "not a page of issues"),
        (Reply(200, {"issues": "none"}), BadSearchAnswer, "not a page of issues"),
        (Reply(200, "<html><body>Log in</body></html>"), NotJson, "instead of JSON"),
    ],
    ids=["empty-object", "issues-not-a-list", "html"],
)
def test_a_search_answered_wrongly_is_an_error_and_deletes_nothing(
    sandbox: JiraSandbox,
    flavour: str,
    engine: Engine,
    tmp_path: Path,
    reply: Reply,
    error: type[Exception],
    says: str,
) -> None:
    settings = settings_for(tmp_path)
    Sync(engine, settings, tracker_for(sandbox, flavour)).run()
    mark = queries.get_meta(engine, "sync_watermark")
    answer_search_with(sandbox, reply)

    for full in (True, False):
        with pytest.raises(error, match=says) as raised:
            Sync(engine, settings, tracker_for(sandbox, flavour)).run(full=full, scan_deleted=True)
        assert "\n" not in str(raised.value)
    assert queries.ticket_count(engine) == 60
    assert queries.get_meta(engine, "sync_watermark") == mark


def test_a_sync_that_would_delete_too_much_stops_until_allowed(
    sandbox: JiraSandbox, flavour: str, engine: Engine, tmp_path: Path
) -> None:
    settings = settings_for(tmp_path, sync={"max_delete_share": 0.2})
    Sync(engine, settings, tracker_for(sandbox, flavour)).run()
    mark = queries.get_meta(engine, "sync_watermark")
    for number in range(1, 16):  # 15 of 60: 25 %
        sandbox.delete(f"SUP-{number}")

    with pytest.raises(DeletionRefused) as refused:
        Sync(engine, settings, tracker_for(sandbox, flavour)).run(full=True)

    message = str(refused.value)
    assert "15 of the 60 cached tickets (25%)" in message
    assert "sync.max_delete_share = 0.2" in message
    assert "triage sync --full --allow-deletes" in message
    assert queries.ticket_count(engine) == 60
    assert queries.get_meta(engine, "sync_watermark") == mark

    result = Sync(engine, settings, tracker_for(sandbox, flavour)).run(
        full=True, allow_deletes=True
    )
    assert result.deleted == 15
    assert queries.ticket_count(engine) == 45


def test_the_command_line_refuses_a_mass_deletion_and_allows_it_when_asked(
    agency: Agency, tmp_path: Path
) -> None:
    issues = json.loads(json.dumps(agency.issues))
    sb = JiraSandbox(
        issues=issues,
        fields=agency.fields,
        statuses=agency.statuses,
        people=agency.people,
        flavour="dc",
        user="me",
    )
    with sb:
        (tmp_path / "config.toml").write_text(
            f'[jira]\nurl = "{sb.url}"\nprojects = ["SUP"]\n[sync]\nmax_delete_share = 0.5\n'
        )
        env = clean_env(tmp_path, TRIAGE_JIRA_TOKEN=sb.token)
        assert triage(env, "sync").returncode == 0
        for number in range(1, 61):
            sb.delete(f"SUP-{number}")
        refused = triage(env, "sync", "--full")
        allowed = triage(env, "sync", "--full", "--allow-deletes")
        listed = json.loads(triage(env, "ls", "--json").stdout)

    assert refused.returncode == 2
    assert len(refused.stderr.strip().splitlines()) == 1
    assert "would delete 60 of the 60 cached tickets (100%)" in refused.stderr
    assert "--allow-deletes" in refused.stderr
    assert allowed.returncode == 0, allowed.stderr
    assert "60 deleted" in allowed.stdout
    assert listed == []


def test_a_full_sync_whose_pages_shifted_deletes_nothing_it_missed(
    agency: Agency, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    issues = json.loads(json.dumps(agency.issues))
    sb = JiraSandbox(
        issues=issues,
        fields=agency.fields,
        statuses=agency.statuses,
        people=agency.people,
        flavour="dc",
        user="me",
    )
    with sb:
        settings = settings_for(tmp_path)
        Sync(engine, settings, tracker_for(sb, "dc")).run()
        monkeypatch.setattr(client, "DC_PAGE", 10)
        tracker = tracker_for(sb, "dc")
        search = tracker.search
        newest_first = [i["key"] for i in next(search("project = SUP ORDER BY updated DESC", []))]
        doomed = newest_first[5]  # on the first page: deleting it shifts every later page

        def shifting(jql: str, fields: Sequence[str], expand: str = "") -> Iterator[Any]:
            pages = search(jql, fields, expand)
            yield next(pages)
            sb.delete(doomed)  # Jira deletes it while the sync pages
            yield from pages

        tracker.search = shifting  # type: ignore[method-assign]
        result = Sync(engine, settings, tracker).run(full=True)

        assert result.fetched == 59  # one issue slid onto a page already fetched
        assert result.deleted == 0
        assert queries.ticket_count(engine) == 60
        scan = Sync(engine, settings, tracker_for(sb, "dc")).run(scan_deleted=True)

    assert scan.deleted == 1
    assert queries.ticket_count(engine) == 59
    assert Board(engine, settings).cards([doomed]) == []
