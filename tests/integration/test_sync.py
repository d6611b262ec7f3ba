"""Sync in, end to end: the real `jira` library through JiraTracker against the sandbox Jira.

Every test runs against both flavours (Cloud: email + API token; Data Center: a personal
access token alone) and a SQLite cache; the 5,000-issue sync runs on PostgreSQL too.
The demo agency is stamped an hour before the real now, because the sandbox stamps edits
with its own clock (the real now) unless a test sets it.
"""

from __future__ import annotations

import math
import random
import socket
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jira_support import CLIENT_USER, SANDBOX_USER, tracker_for
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

import triage.core.tracker.client as client
from triage.core.board.service import Board
from triage.core.config import Settings, load_settings
from triage.core.tracker.client import (
    Credentials,
    JiraTracker,
    RetryPolicy,
    TrackerAuthError,
    TrackerUnreachable,
)
from triage.core.tracker.push import Pusher, Resolution
from triage.core.tracker.sync import OVERLAP, Sync
from triage.sandbox.agency import (
    CLIENT_FIELD,
    SITE_FIELD,
    URGENCY_FIELD,
    Agency,
    adf_to_text,
    build_agency,
)
from triage.sandbox.jira_server import JiraSandbox
from triage.storage import queries
from triage.storage.columns import BoardColumn
from triage.storage.db import open_cache, sqlite_url
from triage.storage.models import Comment, OutboxEntry, OutboxState, StatusChange, Ticket

#: The API user of each flavour: Cloud logs in with an email, Data Center with a token alone.
SEARCH_ROUTE = {"cloud": "search/jql", "dc": "search"}
JIRA_TIME = "%Y-%m-%dT%H:%M:%S.%f%z"
UNMAPPED: dict[str, Any] = {
    "id": "10900",
    "name": "Waiting for Vendor",
    "statusCategory": {"key": "indeterminate"},
}


def agency_now() -> datetime:
    """An hour before the real now: the sandbox's own edits land after every agency stamp."""
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def spread_tail(agency: Agency, now: datetime) -> Agency:
    """Spread the issues the agency stamps at (nearly) `now` five minutes apart, backwards.

    The demo agency squeezes every ticket whose history would outrun `now` into its last
    minute (~8% of them), which no real Jira shows: an incremental sync's overlap window
    would then re-fetch hundreds of issues. Spread out, the window holds one issue.
    """
    tail = [i for i in agency.issues if parse(i["fields"]["updated"]) > now - timedelta(minutes=10)]
    tail.sort(key=lambda i: (i["fields"]["updated"], i["key"]), reverse=True)
    for index, issue in enumerate(tail):
        moment = now - timedelta(minutes=1 + 5 * index)
        issue["fields"]["updated"] = moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    return agency


def parse(text: str) -> datetime:
    return datetime.strptime(text, JIRA_TIME)


@pytest.fixture(scope="module")
def big_agency() -> Agency:
    now = agency_now()
    return spread_tail(build_agency(tickets=5000, seed=11, now=now), now)


@pytest.fixture(scope="module")
def agency() -> Agency:
    now = agency_now()
    return spread_tail(build_agency(tickets=400, seed=5, now=now), now)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        tmp_path / "absent.toml", data_dir=str(tmp_path), jira={"projects": ["SUP"]}
    )


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[Engine]:
    """A SQLite cache of its own."""
    engine = open_cache(sqlite_url(tmp_path / "cache.db"))
    try:
        yield engine
    finally:
        engine.dispose()


def serve(agency: Agency, flavour: str, **kw: Any) -> JiraSandbox:
    sandbox = JiraSandbox(
        issues=agency.issues,
        fields=agency.fields,
        statuses=kw.pop("statuses", agency.statuses),
        people=agency.people,
        project_key=agency.project_key,
        flavour=flavour,  # type: ignore[arg-type]
        user=SANDBOX_USER[flavour],
        **kw,
    )
    sandbox.start()
    return sandbox


class Recorder:
    """Wraps a tracker's search to keep each JQL and the keys each page brought."""

    def __init__(self, tracker: JiraTracker) -> None:
        self.jql: list[str] = []
        self.keys: list[str] = []
        inner = tracker.search

        def search(jql: str, fields: Sequence[str], expand: str = "") -> Iterator[list[Any]]:
            self.jql.append(jql)
            for page in inner(jql, fields, expand):
                self.keys.extend(issue["key"] for issue in page)
                yield page

        tracker.search = search  # type: ignore[method-assign]


def watermark(engine: Engine) -> datetime:
    value = queries.get_meta(engine, "sync_watermark")
    assert value is not None
    return datetime.fromisoformat(value)


def ticket(engine: Engine, key: str) -> Ticket | None:
    with Session(engine) as session:
        return session.get(Ticket, key)


def keys_in(sb: JiraSandbox, column: str, count: int) -> list[str]:
    """Keys of `count` sandbox issues in the status named `column`, lowest first."""
    found = []
    for number in range(1, 5001):
        issue = sb.issue(f"SUP-{number}")
        if issue["fields"]["status"]["name"] == column:
            found.append(issue["key"])
            if len(found) == count:
                return found
    raise AssertionError(f"the sandbox has fewer than {count} issues in {column}")


def expect_ticket_matches(row: Ticket, issue: dict[str, Any]) -> None:
    """The cached row says what the sandbox stores (Cloud shape, UTC)."""
    fields = issue["fields"]
    assert row.jira_id == issue["id"]
    assert row.summary == fields["summary"]
    assert row.description == adf_to_text(fields["description"])
    assert row.jira_status == fields["status"]["name"]
    assert row.column == BoardColumn(fields["status"]["name"])
    assert row.issue_type == fields["issuetype"]["name"]
    assert row.severity == fields["priority"]["name"]
    assert row.assignee == (fields["assignee"] or {}).get("displayName")
    assert row.reporter == (fields["reporter"] or {}).get("displayName")
    assert row.site == fields[SITE_FIELD]
    assert row.client == fields[CLIENT_FIELD]["value"]
    assert row.urgency == fields[URGENCY_FIELD]["value"]
    assert row.labels == fields["labels"]
    assert row.created == parse(fields["created"])
    assert row.updated == parse(fields["updated"])
    resolved = fields["resolutiondate"]
    assert row.resolved == (parse(resolved) if resolved else None)


# -- full and quiet syncs ------------------------------------------------------------------------


def test_full_sync_of_5000_arrives_exactly_and_a_quiet_sync_costs_one_call(
    big_agency: Agency, flavour: str, engine: Engine, settings: Settings
) -> None:
    sb = serve(big_agency, flavour)
    try:
        tracker = tracker_for(sb, flavour)
        sync = Sync(engine, settings, tracker)
        result = sync.run()

        assert result.full
        assert result.fetched == 5000
        assert queries.ticket_count(engine) == 5000
        assert result.unmapped == []
        with Session(engine) as session:
            keys = {t.key for t in session.exec(select(Ticket))}
        assert keys == {issue["key"] for issue in big_agency.issues}

        sample = random.Random(3).sample(sorted(keys), 150)
        with Session(engine) as session:
            for key in sample:
                issue = sb.issue(key)
                row = session.get(Ticket, key)
                assert row is not None
                expect_ticket_matches(row, issue)
                if flavour == "cloud":
                    assert row.assignee_id == (issue["fields"]["assignee"] or {}).get("accountId")
                comments = session.exec(
                    select(Comment).where(Comment.ticket_key == key).order_by(col(Comment.created))
                ).all()
                remote = issue["fields"]["comment"]["comments"]
                assert [c.remote_id for c in comments] == [c["id"] for c in remote]
                assert [c.body for c in comments] == [adf_to_text(c["body"]) for c in remote]
                moves = session.exec(select(StatusChange).where(StatusChange.ticket_key == key))
                statuses = [
                    item["toString"]
                    for h in issue["changelog"]["histories"]
                    for item in h["items"]
                    if item["field"] == "status"
                ]
                assert sorted(m.to_status for m in moves) == sorted(statuses)

        quiet = sync.run()
        assert not quiet.full
        assert quiet.calls == 1
        assert quiet.deleted == 0
        assert queries.ticket_count(engine) == 5000
    finally:
        sb.stop()


# -- incremental syncs ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "offset"),
    [("Etc/GMT-3", timedelta(hours=3)), ("Etc/GMT+5", timedelta(hours=-5))],
    ids=["utc+3", "utc-5"],
)
def test_an_edit_a_minute_after_the_watermark_is_picked_up_in_the_account_zone(
    agency: Agency,
    flavour: str,
    zone: str,
    offset: timedelta,
    cache: Engine,
    settings: Settings,
) -> None:
    sb = serve(agency, flavour, time_zone=zone)
    try:
        tracker = tracker_for(sb, flavour)
        sync = Sync(cache, settings, tracker)
        sync.run()
        assert queries.get_meta(cache, "account_time_zone") == zone
        mark = watermark(cache)
        sb.set_clock(lambda: mark + timedelta(minutes=1))
        key = keys_in(sb, "In Progress", 1)[0]
        sb.edit(key, summary="changed in Jira a minute later")
        assert parse(sb.issue(key)["fields"]["updated"]) == mark + timedelta(minutes=1)

        recorder = Recorder(tracker)
        result = sync.run()

        # The watermark is Jira's own stamp (shown in the account's zone); JQL reads local time.
        utc = (mark - OVERLAP).astimezone(UTC).replace(tzinfo=None)
        local_minute = (utc + offset).strftime("%Y-%m-%d %H:%M")
        assert len(recorder.jql) == 1
        assert f'updated >= "{local_minute}"' in recorder.jql[0]
        assert key in recorder.keys
        assert result.fetched >= 1
        row = ticket(cache, key)
        assert row is not None
        assert row.summary == "changed in Jira a minute later"
        assert row.updated == mark + timedelta(minutes=1)
        assert watermark(cache) == mark + timedelta(minutes=1)
    finally:
        sb.stop()


@pytest.mark.parametrize("page", [None, 20], ids=["default-page", "page-20"])
def test_changed_issues_come_in_ceil_n_over_page_size_search_calls(
    sandbox: JiraSandbox,
    flavour: str,
    page: int | None,
    cache: Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if page is not None:
        monkeypatch.setattr(client, "CLOUD_PAGE", page)
        monkeypatch.setattr(client, "DC_PAGE", page)
    size = client.CLOUD_PAGE if flavour == "cloud" else client.DC_PAGE
    tracker = tracker_for(sandbox, flavour)
    sync = Sync(cache, settings, tracker)
    sync.run()
    mark = watermark(cache)
    sandbox.set_clock(lambda: mark + timedelta(minutes=1))
    changed = [f"SUP-{n}" for n in range(101, 151)]
    for number, key in enumerate(changed):
        sandbox.edit(key, summary=f"edit {number} in Jira")
    # The overlap window also brings back what was updated in the minutes before the mark.
    since = (mark - OVERLAP).replace(second=0, microsecond=0)
    overlap = {
        issue["key"]
        for issue in (sandbox.issue(f"SUP-{n}") for n in range(1, 401))
        if parse(issue["fields"]["updated"]) >= since and issue["key"] not in changed
    }
    # How many fall in the overlap depends on the agency's recent edits (and so on the time
    # of day): the budget is counted on what the sync fetched, changed and overlap alike.

    recorder = Recorder(tracker)
    before = sandbox.calls[SEARCH_ROUTE[flavour]]
    result = sync.run()
    searches = sandbox.calls[SEARCH_ROUTE[flavour]] - before

    assert set(recorder.keys) == set(changed) | overlap
    assert result.fetched == len(changed) + len(overlap)
    assert searches == math.ceil(result.fetched / size)
    assert result.pages == searches
    assert result.calls == searches  # no deleted-issue scan was due
    for number, key in enumerate(changed):
        row = ticket(cache, key)
        assert row is not None and row.summary == f"edit {number} in Jira"


def test_a_deleted_issue_with_waiting_changes_stays_until_they_are_settled(
    sandbox: JiraSandbox, flavour: str, cache: Engine, settings: Settings
) -> None:
    tracker = tracker_for(sandbox, flavour)
    sync = Sync(cache, settings, tracker)
    sync.run()
    key = keys_in(sandbox, "To Do", 1)[0]
    board = Board(cache, settings)
    board.comment(key, "is this still wanted?")
    sandbox.delete(key)

    result = sync.run(scan_deleted=True)

    assert (result.deleted, result.held) == (0, 1)
    assert ticket(cache, key) is not None
    reason = f"{key} is no longer in the synced set (JQL/permission)"
    with Session(cache) as session:
        entries = session.exec(select(OutboxEntry).where(OutboxEntry.ticket_key == key)).all()
        assert len(entries) == 1
        assert all(e.state is OutboxState.PENDING for e in entries)
        assert all(reason in (e.last_error or "") for e in entries)

    pushed = Pusher(cache, settings, tracker).run()
    assert pushed.failed == 1
    with Session(cache) as session:
        entries = session.exec(select(OutboxEntry).where(OutboxEntry.ticket_key == key)).all()
        assert all(e.state is OutboxState.FAILED for e in entries)
        assert all("no longer exists" in (e.last_error or "") for e in entries)
    assert sync.run(scan_deleted=True).held == 1  # failed changes wait to be settled
    for entry in entries:
        assert entry.id is not None
        board.resolve(entry.id, Resolution.DISCARD)

    result = sync.run(scan_deleted=True)

    assert (result.deleted, result.held) == (1, 0)
    assert ticket(cache, key) is None
    assert queries.ticket_count(cache) == 399
    with Session(cache) as session:
        assert session.exec(select(Comment).where(Comment.ticket_key == key)).all() == []


def test_a_status_that_maps_to_no_column_is_kept_and_reported(
    agency: Agency, flavour: str, cache: Engine, settings: Settings
) -> None:
    sb = serve(agency, flavour, statuses=[*agency.statuses, UNMAPPED])
    try:
        sync = Sync(cache, settings, tracker_for(sb, flavour))
        sync.run()
        mark = watermark(cache)
        sb.set_clock(lambda: mark + timedelta(minutes=1))
        key = keys_in(sb, "QA", 1)[0]
        sb.edit(key, status=UNMAPPED["name"])

        result = sync.run()

        assert result.unmapped == [UNMAPPED["name"]]
        assert UNMAPPED["name"] in result.summary()
        row = ticket(cache, key)
        assert row is not None
        assert row.jira_status == UNMAPPED["name"]
        assert row.column is None
        assert [card.key for card in Board(cache, settings).load().unmapped] == [key]
    finally:
        sb.stop()


def test_a_pending_local_move_survives_a_sync_that_brings_the_old_status(
    sandbox: JiraSandbox, flavour: str, cache: Engine, settings: Settings
) -> None:
    sync = Sync(cache, settings, tracker_for(sandbox, flavour))
    sync.run()
    key = keys_in(sandbox, "PO Review", 1)[0]
    Board(cache, settings).move(key, BoardColumn.READY_TO_DEPLOY)
    mark = watermark(cache)
    sandbox.set_clock(lambda: mark + timedelta(minutes=1))
    sandbox.edit(key, summary="retitled in Jira")  # brings the issue, still in PO Review

    for full in (False, True):
        result = sync.run(full=full)
        assert result.fetched >= 1
        row = ticket(cache, key)
        assert row is not None
        assert row.summary == "retitled in Jira"
        assert row.column is BoardColumn.READY_TO_DEPLOY
        assert row.jira_status == BoardColumn.READY_TO_DEPLOY.value
    assert sandbox.issue(key)["fields"]["status"]["name"] == "PO Review"


# -- failures ------------------------------------------------------------------------------------


@pytest.mark.parametrize("retry_after", [1, 3])
def test_a_storm_of_429s_is_ridden_out_honouring_retry_after(
    sandbox: JiraSandbox, flavour: str, retry_after: int, cache: Engine, settings: Settings
) -> None:
    waits: list[float] = []
    policy = RetryPolicy(attempts=30, jitter=0.25, sleep=waits.append)
    tracker = tracker_for(sandbox, flavour, retry=policy)
    sandbox.inject_rate_limit(20, retry_after=retry_after)

    result = Sync(cache, settings, tracker).run()

    assert result.fetched == 400
    assert queries.ticket_count(cache) == 400
    assert sandbox.calls["rate_limited"] == 20
    assert len(waits) == 20
    assert all(retry_after <= wait <= retry_after * 1.25 for wait in waits), waits


def test_a_wrong_token_says_how_to_log_in(
    sandbox: JiraSandbox, flavour: str, cache: Engine, settings: Settings
) -> None:
    wrong = Credentials(sandbox.url, "not-the-token", CLIENT_USER[flavour])
    with pytest.raises(TrackerAuthError) as asked:
        # The flavour is asked of serverInfo, with the credentials, in the background.
        assert JiraTracker(wrong, None).flavour
    tracker = JiraTracker(wrong, flavour)  # type: ignore[arg-type]
    with pytest.raises(TrackerAuthError) as synced:
        Sync(cache, settings, tracker).run()
    for error in (asked.value, synced.value):
        assert "`triage login`" in str(error)
        assert "TRIAGE_JIRA_TOKEN" in str(error)
    assert queries.ticket_count(cache) == 0
    assert queries.get_meta(cache, "sync_watermark") is None


@pytest.mark.timeout(30)
def test_an_unreachable_jira_is_reported_quickly(
    flavour: str, cache: Engine, settings: Settings
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"  # closed: nothing listens there any more
    credentials = Credentials(url, "sandbox-token", CLIENT_USER[flavour])
    with pytest.raises(TrackerUnreachable, match="not reachable"):
        assert JiraTracker(credentials, None, timeout=(2.0, 2.0)).flavour
    tracker = JiraTracker(credentials, flavour, timeout=(2.0, 2.0))  # type: ignore[arg-type]
    with pytest.raises(TrackerUnreachable, match="not reachable"):
        Sync(cache, settings, tracker).run()
    assert queries.ticket_count(cache) == 0
