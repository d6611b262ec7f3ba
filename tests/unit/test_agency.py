"""Tests for the demo agency and its Jira-shaped issues (sandbox.agency)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from functools import cache
from typing import Any

import pytest

from triage.sandbox.agency import (
    Agency,
    adf_to_text,
    build_agency,
    text_to_adf,
    to_data_center,
    user_json,
)

JIRA_TIME = "%Y-%m-%dT%H:%M:%S.%f%z"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
STATUSES = [
    "To Do",
    "Needs Work",
    "In Progress",
    "Feedback/Impediment",
    "Code Review",
    "QA",
    "PO Review",
    "Ready To Deploy",
    "Done",
]


@cache
def agency() -> Agency:
    return build_agency(tickets=1000, seed=7)


def parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, JIRA_TIME)


def status_histories(issue: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        item
        for history in issue["changelog"]["histories"]
        for item in history["items"]
        if item["field"] == "status"
    ]


def test_same_seed_gives_byte_identical_issues() -> None:
    first = json.dumps(build_agency(tickets=300, seed=3).issues)
    second = json.dumps(build_agency(tickets=300, seed=3).issues)
    assert first == second


def test_different_seeds_give_different_issues() -> None:
    first, second = build_agency(300, seed=1), build_agency(300, seed=2)
    assert json.dumps(first.issues) != json.dumps(second.issues)


def test_default_now_is_fixed_not_the_wall_clock() -> None:
    assert build_agency(50).issues == build_agency(50, now=NOW).issues


@pytest.mark.parametrize("tickets", [0, 1, 9, 10, 1000])
def test_exact_ticket_count_with_consecutive_keys(tickets: int) -> None:
    issues = build_agency(tickets=tickets).issues
    assert [issue["key"] for issue in issues] == [f"SUP-{n}" for n in range(1, tickets + 1)]
    assert len({issue["id"] for issue in issues}) == tickets


@pytest.mark.parametrize("tickets", [9, 1000])
def test_every_status_is_present(tickets: int) -> None:
    names = Counter(i["fields"]["status"]["name"] for i in build_agency(tickets=tickets).issues)
    assert set(names) == set(STATUSES)


def test_done_is_the_largest_share_and_to_do_the_next() -> None:
    counts = Counter(i["fields"]["status"]["name"] for i in agency().issues).most_common()
    assert counts[0][0] == "Done" and 0.3 < counts[0][1] / 1000 < 0.4
    assert counts[1][0] == "To Do"


def test_statuses_are_the_nine_columns_with_their_categories() -> None:
    statuses = agency().statuses
    assert [s["name"] for s in statuses] == STATUSES
    assert [s["id"] for s in statuses] == [str(10000 + i) for i in range(9)]
    categories = [s["statusCategory"]["key"] for s in statuses]
    assert categories == ["new"] + ["indeterminate"] * 7 + ["done"]


def test_clients_packages_and_sites() -> None:
    a = agency()
    assert len(a.clients) >= 12
    assert len({c.name for c in a.clients}) == len(a.clients)
    slas = {c.package: (c.sla_response_hours, c.sla_resolution_hours) for c in a.clients}
    assert set(slas) == {"Gold", "Silver", "Bronze"}
    assert len(set(slas.values())) == 3
    assert slas["Gold"] < slas["Silver"] < slas["Bronze"]
    assert len(a.sites) == 120
    assert len({s.id for s in a.sites}) == 120
    assert {s.client_key for s in a.sites} == {c.key for c in a.clients}
    assert all(s.id.startswith(f"{s.client_key}-") for s in a.sites)
    assert all(s.php_version in ("8.1", "8.2", "8.3") for s in a.sites)


def test_people_have_cloud_account_ids_and_usernames() -> None:
    people = agency().people
    assert len(people) >= 8
    assert all(len(p.account_id) == 24 for p in people)
    assert len({p.username for p in people}) == len(people)


def test_site_label_and_site_field_agree_and_name_a_site() -> None:
    a = agency()
    sites = {s.id: s for s in a.sites}
    clients = {c.key: c.name for c in a.clients}
    for issue in a.issues:
        fields = issue["fields"]
        labels = [label[5:] for label in fields["labels"] if label.startswith("site:")]
        assert labels == [fields["customfield_10101"]]
        site = sites[labels[0]]
        assert clients[site.client_key] == fields["customfield_10102"]["value"]
        assert site.id in fields["summary"]


def test_timestamps_parse_and_are_ordered() -> None:
    for issue in agency().issues:
        fields = issue["fields"]
        created, updated = parse(fields["created"]), parse(fields["updated"])
        assert created <= updated <= NOW
        moments = [parse(h["created"]) for h in issue["changelog"]["histories"]]
        assert moments == sorted(moments)
        assert all(created <= m <= updated for m in moments)
        for comment in fields["comment"]["comments"]:
            assert created <= parse(comment["created"]) <= updated


def test_created_is_within_half_a_year_and_open_work_is_mostly_recent() -> None:
    issues = agency().issues
    ages = [(NOW - parse(i["fields"]["created"])).days for i in issues]
    assert max(ages) <= 181
    recent = [
        age < 30
        for i, age in zip(issues, ages, strict=True)
        if i["fields"]["status"]["name"] not in ("Done", "To Do")
    ]
    done_recent = [
        age < 30
        for i, age in zip(issues, ages, strict=True)
        if i["fields"]["status"]["name"] == "Done"
    ]
    assert sum(recent) / len(recent) > 0.7
    assert sum(done_recent) / len(done_recent) < 0.3


def test_changelog_walks_from_to_do_to_the_current_status() -> None:
    for issue in agency().issues:
        items = status_histories(issue)
        status = issue["fields"]["status"]["name"]
        if not items:
            assert status == "To Do"
            continue
        assert items[0]["fromString"] == "To Do"
        assert items[-1]["toString"] == status
        assert items[-1]["to"] == issue["fields"]["status"]["id"]
        for before, after in zip(items, items[1:], strict=False):
            assert before["toString"] == after["fromString"]


def test_resolution_only_on_done_issues() -> None:
    for issue in agency().issues:
        fields = issue["fields"]
        if fields["status"]["name"] == "Done":
            assert fields["resolution"]["name"] == "Done"
            assert parse(fields["resolutiondate"]) <= parse(fields["updated"])
        else:
            assert fields["resolutiondate"] is None and fields["resolution"] is None


def test_about_a_fifth_unassigned_mostly_to_do() -> None:
    unassigned = [
        i["fields"]["status"]["name"] for i in agency().issues if i["fields"]["assignee"] is None
    ]
    assert 0.1 < len(unassigned) / 1000 < 0.3
    assert Counter(unassigned).most_common(1)[0][0] == "To Do"


def test_cloud_issue_uses_adf_and_account_ids() -> None:
    issue = agency().issues[0]
    assert issue["self"].endswith("/rest/api/3/issue/" + issue["id"])
    assert issue["fields"]["description"]["type"] == "doc"
    assert "accountId" in issue["fields"]["reporter"]


def test_data_center_conversion_has_strings_and_usernames() -> None:
    issues = [i for i in agency().issues if i["fields"]["comment"]["comments"]][:50]
    for issue in issues:
        original = json.dumps(issue)
        dc = to_data_center(issue)
        assert json.dumps(issue) == original  # the Cloud issue is left alone
        fields = dc["fields"]
        assert "/rest/api/2/" in dc["self"]
        assert fields["description"] == adf_to_text(issue["fields"]["description"])
        assert isinstance(fields["description"], str)
        comments = fields["comment"]["comments"]
        assert comments and all(isinstance(c["body"], str) for c in comments)
        users = [
            fields["reporter"],
            *(c["author"] for c in comments),
            *(h["author"] for h in dc["changelog"]["histories"]),
        ]
        if fields["assignee"] is not None:
            users.append(fields["assignee"])
        for user in users:
            assert "accountId" not in user
            assert user["name"] and user["key"].startswith("JIRAUSER")
        assert "accountId" not in json.dumps(dc)


def test_data_center_copy_is_deep() -> None:
    issue = agency().issues[1]
    dc = to_data_center(issue)
    dc["fields"]["status"]["name"] = "changed"
    dc["fields"]["labels"].append("extra")
    assert issue["fields"]["status"]["name"] != "changed"
    assert "extra" not in issue["fields"]["labels"]


def test_user_json_flavours() -> None:
    person = agency().people[0]
    cloud, dc = user_json(person, "cloud"), user_json(person, "dc")
    assert cloud["accountId"] == person.account_id and "name" not in cloud
    assert dc["name"] == person.username and "accountId" not in dc
    assert cloud["timeZone"] == dc["timeZone"] == person.time_zone
    with pytest.raises(ValueError):
        user_json(person, "server")


@pytest.mark.parametrize(
    "text",
    [
        "One paragraph.",
        "First paragraph.\n\nSecond paragraph.",
        "Line one\nline two\n\nAnother block.\n\nThird, with 'quotes' & ünïcode.",
    ],
)
def test_adf_round_trip(text: str) -> None:
    doc = text_to_adf(text)
    assert doc["type"] == "doc" and doc["version"] == 1
    assert len(doc["content"]) == text.count("\n\n") + 1
    assert adf_to_text(doc) == text


def test_adf_blank_inputs() -> None:
    assert adf_to_text(None) == ""
    assert adf_to_text(text_to_adf("")) == ""
    assert adf_to_text(text_to_adf("\n\na\n\n\n\nb\n")) == "a\n\nb"


def test_adf_to_text_flattens_lists_and_marks() -> None:
    doc = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "Hello "},
                    {"type": "text", "text": "world", "marks": [{"type": "strong"}]},
                ],
            },
            {
                "type": "bulletList",
                "content": [
                    {
                        "type": "listItem",
                        "content": [
                            {"type": "paragraph", "content": [{"type": "text", "text": "one"}]}
                        ],
                    },
                    {
                        "type": "listItem",
                        "content": [
                            {"type": "paragraph", "content": [{"type": "text", "text": "two"}]}
                        ],
                    },
                ],
            },
        ],
    }
    assert adf_to_text(doc) == "Hello world\n\n- one\n- two"


def test_descriptions_have_one_to_three_paragraphs() -> None:
    sizes = {len(i["fields"]["description"]["content"]) for i in agency().issues}
    assert sizes <= {1, 2, 3} and len(sizes) > 1


def test_comments_per_issue_are_zero_to_four_from_the_team() -> None:
    a = agency()
    team = {p.account_id for p in a.people}
    counts = set()
    for issue in a.issues:
        page = issue["fields"]["comment"]
        assert page["total"] == len(page["comments"]) == page["maxResults"]
        counts.add(page["total"])
        assert {c["author"]["accountId"] for c in page["comments"]} <= team
    assert counts == {0, 1, 2, 3, 4}


def test_field_list_names_the_custom_fields() -> None:
    fields = {f["id"]: f for f in agency().fields}
    assert {"summary", "status", "assignee", "labels", "created", "updated"} <= set(fields)
    assert fields["customfield_10101"]["name"] == "Site"
    assert fields["customfield_10102"]["name"] == "Client"
    assert fields["customfield_10103"]["name"] == "Urgency"
    assert all(f["custom"] == f["id"].startswith("customfield_") for f in fields.values())


def test_issue_types_and_priorities_are_jira_ones() -> None:
    issues = agency().issues
    types = {i["fields"]["issuetype"]["name"] for i in issues}
    assert types == {"Bug", "Task", "Story", "Incident", "Security Update"}
    priorities = {(i["fields"]["priority"]["id"], i["fields"]["priority"]["name"]) for i in issues}
    assert priorities == {
        ("1", "Highest"),
        ("2", "High"),
        ("3", "Medium"),
        ("4", "Low"),
        ("5", "Lowest"),
    }
    urgencies = {i["fields"]["customfield_10103"]["value"] for i in issues}
    assert urgencies == {"Critical", "High", "Medium", "Low"}


def test_negative_ticket_count_is_refused() -> None:
    with pytest.raises(ValueError):
        build_agency(tickets=-1)
