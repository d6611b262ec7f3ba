"""Jira issue JSON, Cloud v3 and Data Center v2, mapped to cache rows field by field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from triage.core.config import JiraFields
from triage.core.tracker.mapping import (
    FieldIds,
    MappedIssue,
    StatusMapper,
    adf_text,
    map_issue,
    parse_time,
    resolve_fields,
    user_id,
    user_name,
)
from triage.storage.columns import BoardColumn

SYNCED = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
IDS = FieldIds(site="customfield_10101", client="customfield_10102", urgency="customfield_10103")


def adf(*paragraphs: str) -> dict[str, Any]:
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": text}]}
            for text in paragraphs
        ],
    }


def cloud_user(account: str, name: str) -> dict[str, Any]:
    return {
        "self": f"https://agency.atlassian.net/rest/api/3/user?accountId={account}",
        "accountId": account,
        "displayName": name,
        "active": True,
        "timeZone": "Europe/Berlin",
    }


def dc_user(login: str, name: str) -> dict[str, Any]:
    return {
        "self": f"https://jira.agency.example/rest/api/2/user?username={login}",
        "name": login,
        "key": f"JIRAUSER{len(login)}",
        "displayName": name,
        "active": True,
    }


CLOUD_ISSUE: dict[str, Any] = {
    "expand": "renderedFields,names,schema,changelog",
    "id": "10042",
    "self": "https://agency.atlassian.net/rest/api/3/issue/10042",
    "key": "SUP-42",
    "fields": {
        "summary": "Checkout returns 500 after Drupal 10.3 update",
        "description": {
            "type": "doc",
            "version": 1,
            "content": [
                {
                    "type": "paragraph",
                    "content": [
                        {"type": "text", "text": "Since this morning "},
                        {"type": "text", "text": "checkout fails.", "marks": [{"type": "strong"}]},
                    ],
                },
                {
                    "type": "bulletList",
                    "content": [
                        {
                            "type": "listItem",
                            "content": [
                                {"type": "paragraph", "content": [{"type": "text", "text": "a"}]}
                            ],
                        },
                        {
                            "type": "listItem",
                            "content": [
                                {"type": "paragraph", "content": [{"type": "text", "text": "b"}]}
                            ],
                        },
                    ],
                },
                {
                    "type": "paragraph",
                    "content": [
                        {"type": "text", "text": "line one"},
                        {"type": "hardBreak"},
                        {"type": "text", "text": "line two"},
                    ],
                },
            ],
        },
        "issuetype": {"id": "10004", "name": "Bug", "subtask": False},
        "priority": {"id": "2", "name": "High"},
        "status": {
            "id": "10003",
            "name": "In Review",
            "statusCategory": {"key": "indeterminate", "name": "In Progress"},
        },
        "assignee": cloud_user("5b10ac8d82e05b22cc7d4ef5", "Ann Dev"),
        "reporter": cloud_user("5b10a2844c20165700ede21g", "Carl Client"),
        "created": "2026-11-18T08:30:00.000+0000",
        "updated": "2026-11-20T10:15:30.250-0500",
        "resolutiondate": None,
        "labels": ["checkout", "site:should-not-win"],
        "project": {"id": "10000", "key": "SUP", "name": "Support"},
        "customfield_10101": {"self": "…", "value": "acme-shop", "id": "10200"},
        "customfield_10102": "Acme Corp",
        "customfield_10103": {"value": "High", "id": "10301"},
        "comment": {
            "comments": [
                {
                    "id": "20001",
                    "author": cloud_user("5b10a2844c20165700ede21g", "Carl Client"),
                    "body": adf("It fails for every card.", "Please hurry."),
                    "created": "2026-11-18T09:00:00.000+0100",
                    "updated": "2026-11-18T09:00:00.000+0100",
                }
            ],
            "maxResults": 1,
            "total": 1,
            "startAt": 0,
        },
    },
    "changelog": {
        "startAt": 0,
        "maxResults": 2,
        "total": 2,
        "histories": [
            {
                "id": "30001",
                "author": cloud_user("5b10ac8d82e05b22cc7d4ef5", "Ann Dev"),
                "created": "2026-11-19T11:00:00.000+0000",
                "items": [
                    {"field": "assignee", "fromString": None, "toString": "Ann Dev"},
                    {
                        "field": "status",
                        "fieldtype": "jira",
                        "from": "10000",
                        "fromString": "To Do",
                        "to": "10001",
                        "toString": "In Progress",
                    },
                ],
            },
            {
                "id": "30002",
                "author": cloud_user("5b10ac8d82e05b22cc7d4ef5", "Ann Dev"),
                "created": "2026-11-20T10:15:30.250-0500",
                "items": [
                    {"field": "status", "fromString": "In Progress", "toString": "In Review"}
                ],
            },
        ],
    },
}


DC_ISSUE: dict[str, Any] = {
    "id": "73001",
    "self": "https://jira.agency.example/rest/api/2/issue/73001",
    "key": "OPS-7",
    "fields": {
        "summary": "Renew TLS certificate",
        "description": "The certificate expires on Friday.\r\nRenew it.",
        "issuetype": {"name": "Task"},
        "priority": {"name": "Blocker"},
        "status": {"name": "Done"},
        "assignee": dc_user("bob", "Bob Ops"),
        "reporter": dc_user("carl", "Carl Client"),
        "created": "2026-11-01T09:00:00.000-0500",
        "updated": "2026-11-02T16:45:00.000-0500",
        "resolutiondate": "2026-11-02T16:45:00.000-0500",
        "labels": ["tls", "site:corp-intranet"],
        "project": {"key": "OPS"},
        "customfield_10102": {"value": "Acme Corporation Holdings"},
        "comment": {
            "comments": [
                {
                    "id": "900",
                    "author": dc_user("bob", "Bob Ops"),
                    "body": "Renewed, valid until 2027.",
                    "created": "2026-11-02T16:40:00.000-0500",
                }
            ]
        },
    },
    "changelog": {
        "histories": [
            {
                "id": "555",
                "author": dc_user("bob", "Bob Ops"),
                "created": "2026-11-02T16:45:00.000-0500",
                "items": [{"field": "status", "fromString": "In Progress", "toString": "Done"}],
            }
        ]
    },
}


def mapped(issue: dict[str, Any], ids: FieldIds = IDS) -> MappedIssue:
    return map_issue(issue, ids, StatusMapper({"in review": "Code Review"}), SYNCED)


def with_fields(issue: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**issue, "fields": {**issue["fields"], **fields}}


# --- Cloud v3 ----------------------------------------------------------------------------------


def test_a_cloud_issue_maps_every_ticket_field() -> None:
    ticket = mapped(CLOUD_ISSUE).ticket

    assert ticket == {
        "key": "SUP-42",
        "jira_id": "10042",
        "project": "SUP",
        "summary": "Checkout returns 500 after Drupal 10.3 update",
        "description": "Since this morning checkout fails.\n\na\nb\n\nline one\nline two",
        "issue_type": "Bug",
        "severity": "High",
        "severity_rank": 2,
        "urgency": "High",
        "jira_status": "In Review",
        "column": BoardColumn.CODE_REVIEW,
        "assignee": "Ann Dev",
        "assignee_id": "5b10ac8d82e05b22cc7d4ef5",
        "reporter": "Carl Client",
        "site": "acme-shop",
        "client": "Acme Corp",
        "labels": ["checkout", "site:should-not-win"],
        "created": datetime(2026, 11, 18, 8, 30, tzinfo=UTC),
        "updated": datetime(2026, 11, 20, 15, 15, 30, 250000, tzinfo=UTC),
        "resolved": None,
        "package": None,
        "service_desk_sla": None,
        "synced_at": SYNCED,
    }


def test_cloud_comments_are_plain_text_with_their_author_and_time() -> None:
    (comment,) = mapped(CLOUD_ISSUE).comments

    assert comment == {
        "ticket_key": "SUP-42",
        "remote_id": "20001",
        "author": "Carl Client",
        "body": "It fails for every card.\n\nPlease hurry.",
        "created": datetime(2026, 11, 18, 8, 0, tzinfo=UTC),
    }


def test_status_changes_come_from_the_changelog_only() -> None:
    changes = mapped(CLOUD_ISSUE).changes

    assert changes == [
        {
            "ticket_key": "SUP-42",
            "remote_id": "30001.1",
            "from_status": "To Do",
            "to_status": "In Progress",
            "author": "Ann Dev",
            "at": datetime(2026, 11, 19, 11, 0, tzinfo=UTC),
            "source": "jira",
        },
        {
            "ticket_key": "SUP-42",
            "remote_id": "30002.0",
            "from_status": "In Progress",
            "to_status": "In Review",
            "author": "Ann Dev",
            "at": datetime(2026, 11, 20, 15, 15, 30, 250000, tzinfo=UTC),
            "source": "jira",
        },
    ]


def test_an_issue_without_changelog_or_comments_has_none() -> None:
    bare = {"id": "1", "key": "SUP-1", "fields": {"summary": "x", "status": {"name": "To Do"}}}

    result = mapped(bare)

    assert (result.comments, result.changes) == ([], [])
    assert result.ticket["column"] is BoardColumn.TODO
    assert result.ticket["created"] == SYNCED
    assert result.ticket["updated"] == SYNCED
    assert result.ticket["project"] == "SUP"
    assert result.ticket["assignee"] is None
    assert result.ticket["description"] == ""
    assert result.ticket["labels"] == []


# --- Data Center v2 ----------------------------------------------------------------------------


def test_a_data_center_issue_maps_every_ticket_field() -> None:
    ticket = mapped(DC_ISSUE).ticket

    assert ticket == {
        "key": "OPS-7",
        "jira_id": "73001",
        "project": "OPS",
        "summary": "Renew TLS certificate",
        "description": "The certificate expires on Friday.\nRenew it.",
        "issue_type": "Task",
        "severity": "Blocker",
        "severity_rank": 1,
        "urgency": None,
        "jira_status": "Done",
        "column": BoardColumn.DONE,
        "assignee": "Bob Ops",
        "assignee_id": "bob",
        "reporter": "Carl Client",
        "site": "corp-intranet",
        "client": "Acme Corporation Holdings",
        "labels": ["tls", "site:corp-intranet"],
        "created": datetime(2026, 11, 1, 14, 0, tzinfo=UTC),
        "updated": datetime(2026, 11, 2, 21, 45, tzinfo=UTC),
        "resolved": datetime(2026, 11, 2, 21, 45, tzinfo=UTC),
        "package": None,
        "service_desk_sla": None,
        "synced_at": SYNCED,
    }


def test_data_center_comments_and_changes() -> None:
    result = mapped(DC_ISSUE)

    assert result.comments == [
        {
            "ticket_key": "OPS-7",
            "remote_id": "900",
            "author": "Bob Ops",
            "body": "Renewed, valid until 2027.",
            "created": datetime(2026, 11, 2, 21, 40, tzinfo=UTC),
        }
    ]
    assert [(c["remote_id"], c["from_status"], c["to_status"]) for c in result.changes] == [
        ("555.0", "In Progress", "Done")
    ]


def test_users_are_named_by_account_id_on_cloud_and_by_login_on_data_center() -> None:
    cloud = cloud_user("acc-1", "Ann Dev")
    dc = dc_user("ann", "Ann Dev")

    assert (user_name(cloud), user_id(cloud)) == ("Ann Dev", "acc-1")
    assert (user_name(dc), user_id(dc)) == ("Ann Dev", "ann")
    assert (user_name({"name": "ghost"}), user_id({"name": "ghost"})) == ("ghost", "ghost")
    assert (user_name(None), user_id(None)) == (None, None)


def test_adf_text_reads_strings_documents_and_nothing() -> None:
    assert adf_text("plain") == "plain"
    assert adf_text(adf("one", "two")) == "one\n\ntwo"
    assert adf_text(None) == ""
    assert adf_text({"type": "doc", "version": 1, "content": []}) == ""


# --- site and severity -------------------------------------------------------------------------


def test_the_site_field_wins_over_a_site_label() -> None:
    assert mapped(CLOUD_ISSUE).ticket["site"] == "acme-shop"


def test_the_site_falls_back_to_a_site_label() -> None:
    issue = with_fields(CLOUD_ISSUE, customfield_10101=None)

    assert mapped(issue).ticket["site"] == "should-not-win"


def test_the_site_label_is_used_when_no_site_field_is_resolved() -> None:
    assert mapped(CLOUD_ISSUE, FieldIds()).ticket["site"] == "should-not-win"


def test_no_site_field_and_no_site_label_is_no_site() -> None:
    issue = with_fields(CLOUD_ISSUE, customfield_10101=None, labels=["checkout"])

    assert mapped(issue).ticket["site"] is None


def test_a_plain_string_site_field() -> None:
    issue = with_fields(CLOUD_ISSUE, customfield_10101="bluebird-www")

    assert mapped(issue).ticket["site"] == "bluebird-www"


@pytest.mark.parametrize(
    ("priority", "rank"),
    [
        ("Highest", 1),
        ("Blocker", 1),
        ("Critical", 1),
        ("High", 2),
        ("Major", 2),
        ("Medium", 3),
        ("Low", 4),
        ("Minor", 4),
        ("Lowest", 5),
        ("Trivial", 5),
        ("Whenever", 3),
    ],
)
def test_severity_comes_from_the_priority(priority: str, rank: int) -> None:
    ticket = mapped(with_fields(CLOUD_ISSUE, priority={"name": priority})).ticket

    assert (ticket["severity"], ticket["severity_rank"]) == (priority, rank)


def test_no_priority_is_medium_rank_with_no_name() -> None:
    ticket = mapped(with_fields(CLOUD_ISSUE, priority=None)).ticket

    assert (ticket["severity"], ticket["severity_rank"]) == ("", 3)


@pytest.mark.parametrize(
    ("value", "rank"),
    [({"value": "S1 - Critical"}, 1), ({"value": "S2 - Major"}, 2), ("s4", 4), ("S9", 5)],
)
def test_severity_comes_from_a_custom_severity_field(value: Any, rank: int) -> None:
    ids = FieldIds(site="customfield_10101", severity="customfield_10104")
    issue = with_fields(CLOUD_ISSUE, customfield_10104=value, priority={"name": "Lowest"})

    ticket = mapped(issue, ids).ticket

    assert ticket["severity"] == (value["value"] if isinstance(value, dict) else value)
    assert ticket["severity_rank"] == rank


def test_an_empty_severity_field_falls_back_to_the_priority() -> None:
    ids = FieldIds(severity="customfield_10104")
    issue = with_fields(CLOUD_ISSUE, customfield_10104=None, priority={"name": "Low"})

    ticket = mapped(issue, ids).ticket

    assert (ticket["severity"], ticket["severity_rank"]) == ("Low", 4)


# --- statuses ----------------------------------------------------------------------------------


def test_the_status_map_ignores_case_and_columns_match_by_name() -> None:
    mapper = StatusMapper(
        {"IN REVIEW": "code review", "Waiting for customer": "feedback/impediment"}
    )

    assert mapper.column("in review") is BoardColumn.CODE_REVIEW
    assert mapper.column("Waiting For Customer") is BoardColumn.FEEDBACK
    assert mapper.column("in progress") is BoardColumn.IN_PROGRESS
    assert mapper.column("READY TO DEPLOY") is BoardColumn.READY_TO_DEPLOY


def test_the_status_map_can_move_a_column_named_status_elsewhere() -> None:
    assert StatusMapper({"QA": "PO Review"}).column("qa") is BoardColumn.PO_REVIEW


def test_an_unmapped_status_has_no_column() -> None:
    issue = with_fields(CLOUD_ISSUE, status={"name": "Waiting for Godot"})

    ticket = mapped(issue).ticket

    assert (ticket["jira_status"], ticket["column"]) == ("Waiting for Godot", None)


def test_a_status_map_naming_an_unknown_column_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown column 'Doing'"):
        StatusMapper({"In Dev": "Doing"})


# --- custom fields -----------------------------------------------------------------------------

FIELD_LIST = [
    {"id": "summary", "name": "Summary", "custom": False},
    {"id": "customfield_10101", "name": "Site", "custom": True},
    {"id": "customfield_10102", "name": "Client", "custom": True},
    {"id": "customfield_10103", "name": "Urgency", "custom": True},
    {"id": "customfield_10104", "name": "Severity", "custom": True},
]


def test_resolve_fields_by_name_ignoring_case() -> None:
    ids = resolve_fields(FIELD_LIST, JiraFields(site="site", client="CLIENT", severity="Severity"))

    assert ids == FieldIds(
        site="customfield_10101",
        client="customfield_10102",
        urgency="customfield_10103",
        severity="customfield_10104",
    )
    assert ids.ids() == [
        "customfield_10101",
        "customfield_10102",
        "customfield_10103",
        "customfield_10104",
    ]


def test_resolve_fields_by_id() -> None:
    ids = resolve_fields(FIELD_LIST, JiraFields(site="customfield_10102", severity=""))

    assert ids.site == "customfield_10102"
    assert ids.severity is None
    assert ids.unresolved == ()


def test_resolve_fields_lists_what_it_cannot_find() -> None:
    wanted = JiraFields(site="Website", urgency="customfield_99999")

    ids = resolve_fields(FIELD_LIST, wanted)

    assert ids.site is None
    assert ids.urgency is None
    assert ids.client == "customfield_10102"
    assert ids.unresolved == ("site = 'Website'", "urgency = 'customfield_99999'")
    assert ids.ids() == ["customfield_10102"]


# --- time --------------------------------------------------------------------------------------


def test_parse_time_reads_utc() -> None:
    parsed = parse_time("2026-11-20T10:15:30.000+0000")

    assert parsed == datetime(2026, 11, 20, 10, 15, 30, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(0)


def test_parse_time_keeps_a_negative_offset() -> None:
    parsed = parse_time("2026-11-20T10:15:30.123-0500")

    assert parsed.utcoffset() == timedelta(hours=-5)
    assert parsed == datetime(2026, 11, 20, 15, 15, 30, 123000, tzinfo=UTC)
    assert parsed == datetime(
        2026, 11, 20, 10, 15, 30, 123000, tzinfo=timezone(-timedelta(hours=5))
    )


def test_parse_time_refuses_a_time_without_offset() -> None:
    with pytest.raises(ValueError):
        parse_time("2026-11-20T10:15:30.000")


# --- hostile text --------------------------------------------------------------------------------

TITLE = "\x1b]0;pwned\x07"
CLEAR = "\x1b[2J\x1b[H"


def test_control_characters_never_reach_the_cache_and_single_lines_lose_newlines() -> None:
    comment = {
        "id": "901",
        "author": dc_user("eve", f"Eve{TITLE}\nEvil"),
        "body": f"line one\x00\r\n{CLEAR}line \u202etwo\u202c\n\tindented\x9b31m",
        "created": "2026-11-02T16:40:00.000-0500",
    }
    history = {
        "id": "556",
        "author": dc_user("eve", "Eve"),
        "created": "2026-11-02T16:45:00.000-0500",
        "items": [{"field": "status", "fromString": "Done\x00", "toString": f"Q{CLEAR}A\n"}],
    }
    issue = {
        **with_fields(
            DC_ISSUE,
            summary=f"{TITLE}Fix login\nSUP-999    Done    forged row\x00",
            description=f"first\x00 line\r\nsecond{CLEAR} line\x07",
            status={"name": "In\nProgress\x1b[0m"},
            assignee=dc_user("bob", "Bob\x00 \u202eOps"),
            labels=["tls\n", "site:corp\x1b[31m-intranet"],
            issuetype={"name": "Task\x9d0;x\x9c"},
            priority={"name": "Blocker\t"},
            customfield_10102={"value": "Acme\x85Corp"},
            comment={"comments": [comment]},
        ),
        "changelog": {"histories": [history]},
    }

    result = mapped(issue)
    ticket = result.ticket

    assert ticket["summary"] == "Fix login SUP-999    Done    forged row"
    assert ticket["description"] == "first line\nsecond line"
    assert ticket["jira_status"] == "In Progress"
    assert ticket["column"] is BoardColumn.IN_PROGRESS
    assert ticket["assignee"] == "Bob Ops"
    assert ticket["labels"] == ["tls ", "site:corp-intranet"]
    assert ticket["site"] == "corp-intranet"
    assert ticket["issue_type"] == "Task"
    assert ticket["severity"] == "Blocker "
    assert ticket["client"] == "Acme Corp"
    (row,) = result.comments
    assert row["author"] == "Eve Evil"
    assert row["body"] == "line one\nline two\n\tindented"
    assert [(c["from_status"], c["to_status"]) for c in result.changes] == [("Done", "QA ")]


# --- Jira Service Management SLAs ------------------------------------------------------------


def test_service_desk_sla_fields_are_found_by_type_and_read_into_cycles() -> None:
    sla_type = {
        "type": "sd-servicelevelagreement",
        "custom": "com.atlassian.servicedesk:sd-sla-field",
    }
    field_list: list[dict[str, Any]] = [
        *FIELD_LIST,
        {"id": "customfield_10031", "name": "Time to resolution", "schema": sla_type},
        {"id": "customfield_10030", "name": "Time to first response", "schema": sla_type},
    ]
    ids = resolve_fields(field_list, JiraFields())
    assert ids.service_desk_sla == ("customfield_10030", "customfield_10031")
    assert ids.ids()[-2:] == ["customfield_10030", "customfield_10031"]
    assert ids.unresolved == ()  # no Package field: optional, so not a problem to report

    issue = with_fields(
        CLOUD_ISSUE,
        customfield_10030={
            "name": "Time to first response",
            "completedCycles": [
                {
                    "breached": False,
                    "goalDuration": {"millis": 3_600_000},
                    "elapsedTime": {"millis": 600_000},
                }
            ],
        },
        customfield_10031={
            "name": "Time to resolution",
            "ongoingCycle": {
                "breachTime": {"epochMillis": 1_795_165_200_000, "iso8601": "ignored"},
                "breached": False,
                "paused": True,
                "goalDuration": {"millis": 28_800_000},
                "elapsedTime": {"millis": 7_200_000},
            },
        },
    )
    ticket = map_issue(issue, ids, StatusMapper(), SYNCED).ticket

    assert ticket["service_desk_sla"] == [
        {"name": "Time to first response", "due": None, "breached": False, "paused": False,
         "met": True, "goal": 3600.0, "elapsed": 600.0},
        {"name": "Time to resolution", "due": "2026-11-20T09:00:00+00:00", "breached": False,
         "paused": True, "met": False, "goal": 28800.0, "elapsed": 7200.0},
    ]  # fmt: skip


def test_a_package_field_maps_to_the_ticket() -> None:
    ids = resolve_fields(
        [*FIELD_LIST, {"id": "customfield_10104", "name": "Package"}], JiraFields()
    )
    issue = with_fields(CLOUD_ISSUE, customfield_10104={"value": "Gold", "id": "10400"})
    assert map_issue(issue, ids, StatusMapper(), SYNCED).ticket["package"] == "Gold"
