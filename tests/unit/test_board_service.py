"""The board service over a real SQLite cache filled through the Jira mapping, and the demo."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from triage.core.board.changes import MoveRefused
from triage.core.board.service import Board
from triage.core.config import Settings, load_settings
from triage.core.demo import ensure_demo_cache, load_demo
from triage.core.errors import NotFound
from triage.core.tracker.ingest import map_issues, store
from triage.core.tracker.mapping import FieldIds, StatusMapper
from triage.storage import queries
from triage.storage.columns import BoardColumn
from triage.storage.db import open_cache, sqlite_url
from triage.storage.errors import TriageError
from triage.storage.models import AuditEntry, OutboxEntry, OutboxKind, Ticket

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ME = ("Mia Me", "acc-mia")
ANN = ("Ann Dev", "acc-ann")
BOB = ("Bob Ops", "acc-bob")
SITE_FIELD = "customfield_10101"
CLIENT_FIELD = "customfield_10102"


def jira_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def person(who: tuple[str, str] | None) -> dict[str, Any] | None:
    if who is None:
        return None
    return {"accountId": who[1], "displayName": who[0], "active": True}


def issue(
    key: str,
    status: str,
    *,
    assignee: tuple[str, str] | None = ANN,
    priority: str = "Medium",
    updated: datetime = NOW - timedelta(hours=1),
    site: str = "acme-www",
    comments: tuple[str, ...] = (),
    history: tuple[tuple[str, str], ...] = (),
) -> dict[str, Any]:
    """One Cloud v3 issue as a search returns it, with comments and a status changelog."""
    number = key.split("-")[1]
    return {
        "id": f"1{number}",
        "key": key,
        "fields": {
            "summary": f"Work on {key}",
            "description": {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Why."}]}],
            },
            "issuetype": {"name": "Task"},
            "priority": {"name": priority},
            "status": {"name": status},
            "assignee": person(assignee),
            "reporter": person(BOB),
            "created": jira_time(NOW - timedelta(days=20)),
            "updated": jira_time(updated),
            "resolutiondate": jira_time(updated) if status == "Done" else None,
            "labels": [],
            "project": {"key": key.split("-")[0]},
            SITE_FIELD: {"value": site},
            CLIENT_FIELD: {"value": "Acme Corp"},
            "comment": {
                "comments": [
                    {
                        "id": f"{number}{n}",
                        "author": person(BOB),
                        "body": {
                            "type": "doc",
                            "version": 1,
                            "content": [
                                {"type": "paragraph", "content": [{"type": "text", "text": body}]}
                            ],
                        },
                        "created": jira_time(NOW - timedelta(days=3, minutes=n)),
                    }
                    for n, body in enumerate(comments)
                ]
            },
        },
        "changelog": {
            "histories": [
                {
                    "id": f"{number}{n}",
                    "author": person(BOB),
                    "created": jira_time(NOW - timedelta(days=5 - n)),
                    "items": [{"field": "status", "fromString": before, "toString": after}],
                }
                for n, (before, after) in enumerate(history)
            ]
        },
    }


FIELDS = [
    {"id": SITE_FIELD, "name": "Site"},
    {"id": CLIENT_FIELD, "name": "Client"},
    {"id": "customfield_10103", "name": "Urgency"},
]


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Engine]:
    engine = open_cache(sqlite_url(tmp_path / "cache.db"))
    try:
        yield engine
    finally:
        engine.dispose()


def settings_for(tmp_path: Path, **overrides: Any) -> Settings:
    return load_settings(tmp_path / "absent.toml", **overrides)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return settings_for(tmp_path, me=ME[0])


@pytest.fixture
def board(cache: Engine, settings: Settings) -> Board:
    with cache.begin() as connection:
        queries.set_meta(connection, "me_id", ME[1])
    return Board(cache, settings, clock=lambda: NOW)


def ingest(engine: Engine, *issues: dict[str, Any]) -> None:
    ids = FieldIds(site=SITE_FIELD, client=CLIENT_FIELD)
    store(engine, map_issues(issues, ids, StatusMapper({}), synced_at=NOW))


def record_facts(engine: Engine, key: str, **facts: Any) -> None:
    with Session(engine) as session:
        ticket = session.get(Ticket, key)
        assert ticket is not None
        for name, value in facts.items():
            setattr(ticket, name, value)
        session.add(ticket)
        session.commit()


def outbox_rows(engine: Engine, key: str) -> list[OutboxEntry]:
    with Session(engine) as session:
        return queries.pending_changes(session, key)


def audit_rows(engine: Engine) -> list[AuditEntry]:
    with Session(engine) as session:
        return list(session.exec(select(AuditEntry)))


# --- load --------------------------------------------------------------------------------------


def test_load_groups_the_cards_by_column_in_board_order(board: Board, cache: Engine) -> None:
    ingest(
        cache,
        issue("SUP-1", "To Do", priority="Low"),
        issue("SUP-2", "To Do", priority="Highest", updated=NOW - timedelta(days=2)),
        issue("SUP-3", "To Do", priority="Highest", updated=NOW - timedelta(days=1)),
        issue("SUP-4", "In Progress"),
        issue("SUP-5", "QA"),
        issue("SUP-6", "Awaiting Triage"),
    )

    data = board.load()

    assert list(data.columns) == list(BoardColumn)
    assert [c.key for c in data.columns[BoardColumn.TODO]] == ["SUP-3", "SUP-2", "SUP-1"]
    assert [c.key for c in data.columns[BoardColumn.IN_PROGRESS]] == ["SUP-4"]
    assert [c.key for c in data.columns[BoardColumn.QA]] == ["SUP-5"]
    assert data.columns[BoardColumn.DONE] == []
    assert [c.key for c in data.unmapped] == ["SUP-6"]
    assert data.total == 6
    card = data.columns[BoardColumn.IN_PROGRESS][0]
    assert (card.site, card.client, card.assignee) == ("acme-www", "Acme Corp", "Ann Dev")


@pytest.mark.parametrize(("window", "shown"), [(14, True), (7, False)])
def test_done_shows_tickets_updated_within_the_window(
    cache: Engine, tmp_path: Path, window: int, shown: bool
) -> None:
    ingest(
        cache,
        issue("SUP-1", "Done", updated=NOW - timedelta(days=10)),
        issue("SUP-2", "Done", updated=NOW - timedelta(days=1)),
    )
    settings = settings_for(tmp_path, board={"done_window_days": window})
    board = Board(cache, settings, clock=lambda: NOW)

    done = [c.key for c in board.load().columns[BoardColumn.DONE]]

    assert board.done_since() == NOW - timedelta(days=window)
    assert done == (["SUP-2", "SUP-1"] if shown else ["SUP-2"])


def test_the_done_window_follows_the_clock(cache: Engine, settings: Settings) -> None:
    ingest(cache, issue("SUP-1", "Done", updated=NOW - timedelta(days=1)))
    later = NOW + timedelta(days=30)

    assert len(Board(cache, settings, clock=lambda: NOW).load().columns[BoardColumn.DONE]) == 1
    assert Board(cache, settings, clock=lambda: later).load().columns[BoardColumn.DONE] == []


# --- who I am ----------------------------------------------------------------------------------


def test_me_is_the_configured_name_with_the_recorded_account(board: Board) -> None:
    assert (board.me.name, board.me.account_id) == ME


def test_me_falls_back_to_the_name_the_tracker_gave(cache: Engine, tmp_path: Path) -> None:
    with Session(cache) as session:
        queries.set_meta(session.connection(), "me_name", "Jira Says")
        session.commit()

    assert Board(cache, settings_for(tmp_path)).me.name == "Jira Says"


def test_me_without_any_name_is_me(cache: Engine, tmp_path: Path) -> None:
    assert Board(cache, settings_for(tmp_path)).me.name == "me"


# --- moves -------------------------------------------------------------------------------------


def test_a_move_writes_ticket_outbox_and_history_and_returns_the_new_card(
    board: Board, cache: Engine
) -> None:
    ingest(cache, issue("SUP-1", "In Progress", assignee=ME))
    record_facts(cache, "SUP-1", branch="SUP-1-work", branch_ahead=2)

    card = board.move("SUP-1", BoardColumn.CODE_REVIEW)

    assert (card.key, card.column, card.updated) == ("SUP-1", BoardColumn.CODE_REVIEW, NOW)
    assert board.ticket("SUP-1").column is BoardColumn.CODE_REVIEW
    (entry,) = outbox_rows(cache, "SUP-1")
    assert entry.kind is OutboxKind.MOVE
    assert entry.payload["to"] == "Code Review"
    assert entry.payload["from"] == "In Progress"
    history = board.detail("SUP-1").history
    assert (history[-1].to_status, history[-1].author, history[-1].source) == (
        "Code Review",
        "Mia Me",
        "local",
    )
    assert [c.key for c in board.load().columns[BoardColumn.CODE_REVIEW]] == ["SUP-1"]


def test_a_blocked_move_is_refused_with_the_reason_and_writes_nothing(
    board: Board, cache: Engine
) -> None:
    ingest(cache, issue("SUP-1", "In Progress", assignee=ME))

    with pytest.raises(MoveRefused, match="branch is not pushed ahead of main") as refused:
        board.move("SUP-1", BoardColumn.CODE_REVIEW)

    assert refused.value.check.overridable is True
    assert board.ticket("SUP-1").column is BoardColumn.IN_PROGRESS
    assert outbox_rows(cache, "SUP-1") == []


def test_an_override_moves_past_a_guard_and_is_audited(board: Board, cache: Engine) -> None:
    ingest(cache, issue("SUP-1", "Ready To Deploy", assignee=ME))

    card = board.move("SUP-1", BoardColumn.DONE, override_reason="deployed by hand on the host")

    assert card.column is BoardColumn.DONE
    (audit,) = audit_rows(cache)
    assert (audit.action, audit.actor, audit.ticket_key, audit.site) == (
        "override-move",
        "Mia Me",
        "SUP-1",
        "acme-www",
    )
    assert "deployed by hand on the host" in audit.detail
    assert board.detail("SUP-1").history[-1].override is True


def test_an_override_reason_on_an_allowed_move_is_no_override(board: Board, cache: Engine) -> None:
    ingest(cache, issue("SUP-1", "PO Review", assignee=ME))

    board.move("SUP-1", BoardColumn.READY_TO_DEPLOY, override_reason="not needed")

    assert audit_rows(cache) == []
    assert board.detail("SUP-1").history[-1].override is False


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_ready_to_deploy_from_to_do_needs_an_override_with_a_reason(
    board: Board, cache: Engine, reason: str
) -> None:
    ingest(cache, issue("SUP-1", "To Do", assignee=ME))

    with pytest.raises(MoveRefused, match="only from PO Review, once the client accepted it"):
        board.move("SUP-1", BoardColumn.READY_TO_DEPLOY, override_reason=reason)

    assert board.ticket("SUP-1").column is BoardColumn.TODO
    assert outbox_rows(cache, "SUP-1") == [] and audit_rows(cache) == []
    board.move("SUP-1", BoardColumn.READY_TO_DEPLOY, override_reason="  hotfix agreed by phone ")
    (audit,) = audit_rows(cache)
    assert audit.action == "override-move" and "hotfix agreed by phone" in audit.detail


def test_a_move_into_the_column_it_is_in_cannot_be_overridden(board: Board, cache: Engine) -> None:
    ingest(cache, issue("SUP-1", "QA"))

    with pytest.raises(MoveRefused, match="already in QA"):
        board.move("SUP-1", BoardColumn.QA, override_reason="please")

    assert outbox_rows(cache, "SUP-1") == []


@pytest.mark.parametrize("comment", [None, "", "   \n"])
def test_needs_work_without_a_comment_is_refused(
    board: Board, cache: Engine, comment: str | None
) -> None:
    ingest(cache, issue("SUP-1", "In Progress"))

    with pytest.raises(MoveRefused, match="Needs Work needs a comment"):
        board.move("SUP-1", BoardColumn.NEEDS_WORK, comment=comment)

    assert board.ticket("SUP-1").column is BoardColumn.IN_PROGRESS
    assert board.detail("SUP-1").comments == []


def test_needs_work_with_a_comment_moves_and_stores_the_comment(
    board: Board, cache: Engine
) -> None:
    ingest(cache, issue("SUP-1", "In Progress"))

    card = board.move("SUP-1", BoardColumn.NEEDS_WORK, comment="  Waiting for the new logo.  ")

    assert card.column is BoardColumn.NEEDS_WORK
    (comment,) = board.detail("SUP-1").comments
    assert (comment.body, comment.author, comment.created) == (
        "Waiting for the new logo.",
        "Mia Me",
        NOW,
    )
    (entry,) = outbox_rows(cache, "SUP-1")
    assert entry.payload["comment"] == "Waiting for the new logo."


def test_feedback_needs_a_comment_too(board: Board, cache: Engine) -> None:
    ingest(cache, issue("SUP-1", "In Progress"))

    with pytest.raises(MoveRefused, match="needs a comment"):
        board.move("SUP-1", BoardColumn.FEEDBACK)
    board.move("SUP-1", BoardColumn.FEEDBACK, comment="Asked the client for credentials.")

    assert board.ticket("SUP-1").column is BoardColumn.FEEDBACK


def test_a_reviewer_moving_code_review_to_qa_records_the_approval(
    board: Board, cache: Engine
) -> None:
    ingest(cache, issue("SUP-1", "Code Review", assignee=ANN))

    board.move("SUP-1", BoardColumn.QA)

    ticket = board.ticket("SUP-1")
    assert (ticket.column, ticket.approved_by, ticket.assignee) == (
        BoardColumn.QA,
        "Mia Me",
        "Ann Dev",
    )


def test_the_assignee_cannot_approve_their_own_review(board: Board, cache: Engine) -> None:
    ingest(cache, issue("SUP-1", "Code Review", assignee=ME))

    with pytest.raises(MoveRefused, match="someone else"):
        board.move("SUP-1", BoardColumn.QA)

    assert board.ticket("SUP-1").approved_by is None


def test_in_progress_on_an_unassigned_ticket_assigns_it_to_me(board: Board, cache: Engine) -> None:
    ingest(cache, issue("SUP-1", "To Do", assignee=None))

    card = board.move("SUP-1", BoardColumn.IN_PROGRESS)

    assert (card.column, card.assignee) == (BoardColumn.IN_PROGRESS, "Mia Me")
    assert board.ticket("SUP-1").assignee_id == "acc-mia"
    move, assign = outbox_rows(cache, "SUP-1")
    assert move.kind is OutboxKind.MOVE
    assert assign.kind is OutboxKind.ASSIGN
    assert assign.payload == {
        "assignee": "Mia Me",
        "account_id": "acc-mia",
        "previous": None,
        "to_author": True,
    }


def test_in_progress_on_an_assigned_ticket_keeps_the_assignee(board: Board, cache: Engine) -> None:
    ingest(cache, issue("SUP-1", "To Do", assignee=ANN))

    card = board.move("SUP-1", BoardColumn.IN_PROGRESS)

    assert card.assignee == "Ann Dev"
    assert [e.kind for e in outbox_rows(cache, "SUP-1")] == [OutboxKind.MOVE]


def test_a_move_of_an_unknown_ticket_is_not_found(board: Board) -> None:
    with pytest.raises(NotFound, match="SUP-404"):
        board.move("SUP-404", BoardColumn.TODO)


def test_check_tells_what_a_move_needs(board: Board, cache: Engine) -> None:
    ingest(cache, issue("SUP-1", "To Do", assignee=None))

    assert board.check("SUP-1", BoardColumn.IN_PROGRESS).assign_to_me is True
    assert board.check("SUP-1", BoardColumn.NEEDS_WORK).needs_comment is True
    assert board.check("SUP-1", BoardColumn.PO_REVIEW).allowed is False


# --- comments and assignment -------------------------------------------------------------------


def test_comment_stores_and_queues_it(board: Board, cache: Engine) -> None:
    ingest(cache, issue("SUP-1", "In Progress"))

    card = board.comment("SUP-1", "  Reproduced on staging.  ")

    assert card.updated == NOW
    (comment,) = board.detail("SUP-1").comments
    assert (comment.body, comment.author) == ("Reproduced on staging.", "Mia Me")
    (entry,) = outbox_rows(cache, "SUP-1")
    assert (entry.kind, entry.payload) == (OutboxKind.COMMENT, {"body": "Reproduced on staging."})


def test_an_empty_comment_is_refused(board: Board, cache: Engine) -> None:
    ingest(cache, issue("SUP-1", "In Progress"))

    with pytest.raises(TriageError, match="the comment is empty"):
        board.comment("SUP-1", " \n ")

    assert outbox_rows(cache, "SUP-1") == []


def test_assign_to_me(board: Board, cache: Engine) -> None:
    ingest(cache, issue("SUP-1", "To Do", assignee=ANN))

    card = board.assign_to_me("SUP-1")

    assert card.assignee == "Mia Me"
    (entry,) = outbox_rows(cache, "SUP-1")
    assert entry.payload == {
        "assignee": "Mia Me",
        "account_id": "acc-mia",
        "previous": "Ann Dev",
        "to_author": True,
    }
    assert board.ticket("SUP-1").column is BoardColumn.TODO


# --- detail ------------------------------------------------------------------------------------


def test_detail_has_comments_history_and_pending_changes(board: Board, cache: Engine) -> None:
    ingest(
        cache,
        issue(
            "SUP-1",
            "In Progress",
            comments=("First from Jira",),
            history=(("To Do", "In Progress"),),
        ),
    )
    board.comment("SUP-1", "Local note")
    board.move("SUP-1", BoardColumn.FEEDBACK, comment="Waiting for access")

    detail = board.detail("SUP-1")

    assert detail.ticket.key == "SUP-1"
    assert detail.ticket.description == "Why."
    assert [c.body for c in detail.comments] == [
        "First from Jira",
        "Local note",
        "Waiting for access",
    ]
    assert [(h.from_status, h.to_status, h.source) for h in detail.history] == [
        ("To Do", "In Progress", "jira"),
        ("In Progress", "Feedback/Impediment", "local"),
    ]
    assert [p.kind for p in detail.pending] == [OutboxKind.COMMENT, OutboxKind.MOVE]


def test_detail_of_an_unknown_ticket_is_not_found(board: Board) -> None:
    with pytest.raises(NotFound, match="SUP-404"):
        board.detail("SUP-404")


def test_ticket_accepts_a_lower_case_key(board: Board, cache: Engine) -> None:
    ingest(cache, issue("SUP-1", "To Do"))

    assert board.ticket("sup-1").key == "SUP-1"


# --- demo --------------------------------------------------------------------------------------

DEMO_ISSUES = [
    issue("DEMO-1", "To Do", assignee=None),
    issue("DEMO-2", "In Progress", assignee=ANN),
    issue("DEMO-3", "In Progress", assignee=BOB),
    issue("DEMO-4", "In Progress", assignee=BOB),
    issue("DEMO-5", "Code Review", assignee=ANN),
    issue("DEMO-6", "QA", assignee=ANN),
    issue("DEMO-7", "PO Review", assignee=BOB),
    issue("DEMO-8", "Ready To Deploy", assignee=ANN),
    issue("DEMO-9", "Done", assignee=BOB),
    issue("DEMO-10", "Needs Work", assignee=ANN),
]


def facts(engine: Engine) -> dict[str, Ticket]:
    return {t.key: t for t in queries.list_tickets(engine)}


def test_load_demo_fills_the_cache_and_says_who_i_am(cache: Engine, settings: Settings) -> None:
    count = load_demo(cache, settings, DEMO_ISSUES, FIELDS)

    assert count == len(DEMO_ISSUES)
    assert queries.ticket_count(cache) == len(DEMO_ISSUES)
    assert queries.get_meta(cache, "workspace") == "demo"
    assert queries.get_meta(cache, "me_name") == "Bob Ops"  # most tickets in progress
    assert queries.get_meta(cache, "me_id") == "acc-bob"
    tickets = facts(cache)
    assert tickets["DEMO-1"].site == "acme-www"  # the Site field resolved by name
    assert tickets["DEMO-5"].column is BoardColumn.CODE_REVIEW


def test_load_demo_records_the_facts_each_column_implies(cache: Engine, settings: Settings) -> None:
    load_demo(cache, settings, DEMO_ISSUES, FIELDS)
    tickets = facts(cache)

    for key in ("DEMO-1", "DEMO-10"):
        ticket = tickets[key]
        assert (ticket.branch, ticket.approved_by) == (None, None), key
        assert (ticket.test_site_passed, ticket.prod_deploy_passed) == (False, False), key
    for key in ("DEMO-5", "DEMO-6", "DEMO-7", "DEMO-8", "DEMO-9"):
        ticket = tickets[key]
        assert ticket.branch is not None and ticket.branch.startswith(key + "-"), key
        assert ticket.branch_ahead is not None and ticket.branch_ahead >= 1, key
    assert tickets["DEMO-5"].approved_by is None
    for key in ("DEMO-6", "DEMO-7", "DEMO-8", "DEMO-9"):
        ticket = tickets[key]
        assert ticket.approved_by is not None, key
        assert ticket.approved_by != ticket.assignee, key
    assert [k for k, t in sorted(tickets.items()) if t.test_site_passed] == [
        "DEMO-7",
        "DEMO-8",
        "DEMO-9",
    ]
    assert [k for k, t in tickets.items() if t.prod_deploy_passed] == ["DEMO-9"]


def test_the_demo_facts_let_the_rules_pass_where_the_work_was_done(
    cache: Engine, tmp_path: Path
) -> None:
    load_demo(cache, settings_for(tmp_path), DEMO_ISSUES, FIELDS)
    board = Board(cache, settings_for(tmp_path), clock=lambda: NOW)

    assert board.me.name == "Bob Ops"
    assert board.check("DEMO-5", BoardColumn.QA).records_approval  # Bob reviews Ann's work
    assert board.check("DEMO-7", BoardColumn.READY_TO_DEPLOY).allowed
    assert board.check("DEMO-8", BoardColumn.DONE).allowed is False
    assert board.check("DEMO-10", BoardColumn.CODE_REVIEW).allowed is False


def test_load_demo_again_replaces_the_demo(cache: Engine, settings: Settings, board: Board) -> None:
    load_demo(cache, settings, DEMO_ISSUES, FIELDS)
    board.comment("DEMO-2", "typed in the demo")

    count = load_demo(cache, settings, DEMO_ISSUES[:3], FIELDS)

    assert count == 3
    assert queries.ticket_count(cache) == 3
    assert outbox_rows(cache, "DEMO-2") == []


def test_ensure_demo_cache_accepts_an_empty_or_demo_cache(
    cache: Engine, settings: Settings
) -> None:
    ensure_demo_cache(cache)
    load_demo(cache, settings, DEMO_ISSUES, FIELDS)
    ensure_demo_cache(cache)


def test_ensure_demo_cache_refuses_a_jira_workspace(cache: Engine) -> None:
    ingest(cache, issue("SUP-1", "To Do"))
    with Session(cache) as session:
        queries.set_meta(session.connection(), "workspace", "jira")
        session.commit()

    with pytest.raises(TriageError, match="TRIAGE_DATA_DIR"):
        ensure_demo_cache(cache)
    assert queries.ticket_count(cache) == 1


def test_ensure_demo_cache_refuses_tickets_of_unknown_origin(cache: Engine) -> None:
    ingest(cache, issue("SUP-1", "To Do"))

    with pytest.raises(TriageError, match="mirrors a Jira workspace"):
        ensure_demo_cache(cache)
