"""The sandbox Jira over real HTTP on loopback, through httpx and the `jira` library."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
import pytest
from jira import JIRA, JIRAError

from triage.sandbox.jira_server import JiraSandbox

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
TOKEN = "s3cret-token"
CLOUD_USER = "me@agency.example"
DC_USER = "me"
NO_ISSUE = {
    "errorMessages": ["Issue does not exist or you do not have permission to see it."],
    "errors": {},
}
STATUS_NAMES = (
    "To Do",
    "Needs Work",
    "In Progress",
    "Feedback/Impediment",
    "Code Review",
    "QA",
    "PO Review",
    "Ready To Deploy",
    "Done",
)
_CATEGORY = {
    "To Do": {"id": 2, "key": "new", "name": "To Do"},
    "Done": {"id": 3, "key": "done", "name": "Done"},
}
STATUSES = [
    {
        "id": str(10000 + i),
        "name": name,
        "statusCategory": _CATEGORY.get(
            name, {"id": 4, "key": "indeterminate", "name": "In Progress"}
        ),
    }
    for i, name in enumerate(STATUS_NAMES)
]
PEOPLE = [
    {
        "account_id": "5b10a2844c20165700ede21g",
        "username": "ana",
        "display_name": "Ana Lima",
        "email": "ana@agency.example",
        "time_zone": "Europe/Lisbon",
    },
    {
        "account_id": "5b10ac8d82e05b22cc7d4ef5",
        "username": "ben",
        "display_name": "Ben Okafor",
        "email": "ben@agency.example",
        "time_zone": "Africa/Lagos",
    },
]
ANA = PEOPLE[0]


def _field(fid: str, name: str, kind: str, custom: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": kind}
    if custom:
        schema.update(
            custom="com.atlassian.jira.plugin.system.customfieldtypes:textfield",
            customId=int(fid.split("_")[1]),
        )
    else:
        schema["system"] = fid
    return {
        "id": fid,
        "key": fid,
        "name": name,
        "custom": custom,
        "orderable": True,
        "navigable": fid != "comment",
        "searchable": True,
        "clauseNames": [f"cf[{fid.split('_')[1]}]", name] if custom else [fid],
        "schema": schema,
    }


FIELDS = [
    _field("summary", "Summary", "string"),
    _field("description", "Description", "string"),
    _field("status", "Status", "status"),
    _field("assignee", "Assignee", "user"),
    _field("updated", "Updated", "datetime"),
    _field("comment", "Comment", "comments-page"),
    _field("labels", "Labels", "array"),
    _field("customfield_10101", "Site", "string", custom=True),
]


def cloud_user(person: dict[str, str]) -> dict[str, Any]:
    return {
        "accountId": person["account_id"],
        "accountType": "atlassian",
        "displayName": person["display_name"],
        "emailAddress": person["email"],
        "active": True,
        "timeZone": person["time_zone"],
    }


def jira_stamp(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def make_issue(
    number: int,
    updated: datetime,
    *,
    status: str = "To Do",
    project: tuple[str, str] = ("SUP", "10000"),
    assignee: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One Cloud-shape issue, as the demo agency makes them."""
    text = f"Site check {number} failed"
    return {
        "id": str(10000 + number + (5000 if project[0] != "SUP" else 0)),
        "key": f"{project[0]}-{number}",
        "fields": {
            "summary": f"Ticket {number}",
            "description": {
                "type": "doc",
                "version": 1,
                "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
            },
            "issuetype": {"id": "10002", "name": "Bug", "subtask": False},
            "priority": {"id": "3", "name": "Medium"},
            "status": next(s for s in STATUSES if s["name"] == status),
            "assignee": cloud_user(assignee) if assignee else None,
            "reporter": cloud_user(PEOPLE[1]),
            "created": jira_stamp(updated - timedelta(days=2)),
            "updated": jira_stamp(updated),
            "resolution": None,
            "resolutiondate": None,
            "labels": [f"site:site-{number}"],
            "project": {"id": project[1], "key": project[0], "name": project[0].title()},
            "customfield_10101": f"site-{number}",
            "comment": {"comments": [], "maxResults": 0, "total": 0, "startAt": 0},
        },
        "changelog": {"startAt": 0, "maxResults": 0, "total": 0, "histories": []},
    }


def many_issues(count: int) -> list[dict[str, Any]]:
    return [make_issue(n, NOW - timedelta(minutes=count - n)) for n in range(1, count + 1)]


Factory = Callable[..., JiraSandbox]
_OPEN: list[httpx.Client | JIRA] = []  # clients made during a test, closed after it


@pytest.fixture
def make_sandbox() -> Iterator[Factory]:
    """Start sandboxes (stopped after the test) with the fixture data unless told otherwise."""
    started: list[JiraSandbox] = []

    def make(
        flavour: Literal["cloud", "dc"] = "cloud",
        issues: list[dict[str, Any]] | None = None,
        **kw: Any,
    ) -> JiraSandbox:
        kw.setdefault("user", CLOUD_USER if flavour == "cloud" else DC_USER)
        sandbox = JiraSandbox(
            issues=issues if issues is not None else many_issues(5),
            fields=FIELDS,
            statuses=STATUSES,
            people=PEOPLE,
            flavour=flavour,
            token=TOKEN,
            **kw,
        )
        sandbox.set_clock(lambda: NOW)
        sandbox.start()
        started.append(sandbox)
        return sandbox

    yield make
    while _OPEN:
        _OPEN.pop().close()
    for sandbox in started:
        sandbox.stop()


def client(sandbox: JiraSandbox) -> httpx.Client:
    """An httpx client with the flavour's credentials: email + token, or a Bearer token."""
    if sandbox.flavour == "cloud":
        http = httpx.Client(base_url=sandbox.url, auth=(sandbox.user, TOKEN), timeout=10)
    else:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        http = httpx.Client(base_url=sandbox.url, headers=headers, timeout=10)
    _OPEN.append(http)
    return http


def jira_client(sandbox: JiraSandbox, **kw: Any) -> JIRA:
    """The `jira` library as Triage uses it: basic auth on Cloud, a token on Data Center."""
    if sandbox.flavour == "cloud":
        jira = JIRA(server=sandbox.url, basic_auth=(sandbox.user, TOKEN), timeout=10, **kw)
    else:
        jira = JIRA(server=sandbox.url, token_auth=TOKEN, timeout=10, **kw)
    _OPEN.append(jira)
    return jira


def api(sandbox: JiraSandbox) -> str:
    return "/rest/api/3" if sandbox.flavour == "cloud" else "/rest/api/2"


# --- instance and auth ---------------------------------------------------------------------


def test_server_info_tells_cloud_from_data_center(make_sandbox: Factory) -> None:
    cloud = jira_client(make_sandbox("cloud"))
    dc = jira_client(make_sandbox("dc"))

    assert cloud.deploymentType == "Cloud"
    assert cloud.server_info()["version"] == "1001.0.0-SNAPSHOT"
    assert dc.deploymentType in ("Server", "DataCenter")
    assert dc.server_info()["versionNumbers"] == [9, 12, 0]


def test_server_info_answers_without_credentials(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("cloud", time_zone="Europe/Istanbul")
    anonymous = httpx.Client(base_url=sandbox.url, timeout=10)
    _OPEN.append(anonymous)
    info = anonymous.get("/rest/api/3/serverInfo").json()

    assert info["baseUrl"] == sandbox.url
    assert info["serverTime"] == "2026-11-27T12:00:00.000+0300"
    assert anonymous.get("/rest/api/3/myself").status_code == 401


def test_myself_is_the_api_account_with_its_time_zone(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("cloud", user=ANA["email"], time_zone="America/New_York")
    me = client(sandbox).get("/rest/api/3/myself").json()

    assert (me["accountId"], me["timeZone"]) == (ANA["account_id"], "America/New_York")


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Basic bWVAYWdlbmN5LmV4YW1wbGU6d3Jvbmc="},  # me@agency.example:wrong
        {"Authorization": f"Bearer {TOKEN}"},  # Cloud takes no personal access tokens
        {"Authorization": "Basic !!!"},
    ],
)
def test_cloud_refuses_anything_but_email_and_token(
    make_sandbox: Factory, headers: dict[str, str]
) -> None:
    sandbox = make_sandbox("cloud")
    reply = httpx.get(f"{sandbox.url}/rest/api/3/myself", headers=headers, timeout=10)

    assert reply.status_code == 401
    assert reply.text == "Client must be authenticated to access this resource."


def test_jira_library_with_a_wrong_token_gets_401(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("cloud")
    jira = JIRA(
        server=sandbox.url,
        basic_auth=(CLOUD_USER, "wrong"),
        timeout=10,
        get_server_info=False,
        max_retries=0,
    )
    _OPEN.append(jira)

    with pytest.raises(JIRAError) as raised:
        jira.myself()
    assert raised.value.status_code == 401


def test_data_center_takes_a_token_or_basic_and_refuses_others(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("dc")
    url = f"{sandbox.url}/rest/api/2/myself"

    bearer = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    basic = httpx.get(url, auth=(DC_USER, TOKEN), timeout=10)
    wrong = httpx.get(url, headers={"Authorization": "Bearer nope"}, timeout=10)

    assert (bearer.status_code, basic.status_code) == (200, 200)
    assert bearer.json()["name"] == DC_USER and "accountId" not in bearer.json()
    assert wrong.status_code == 401
    assert wrong.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
    assert wrong.json()["errorMessages"]


def test_data_center_has_no_rest_v3(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("dc")

    assert client(sandbox).get("/rest/api/3/myself").status_code == 404


# --- search and paging ---------------------------------------------------------------------


def test_cloud_pages_with_next_page_token_return_every_issue_once(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("cloud", issues=many_issues(237))
    http = client(sandbox)
    keys: list[str] = []
    token: str | None = None
    for _ in range(20):  # bound: 5 pages expected
        params: dict[str, Any] = {"jql": "project = SUP", "maxResults": 50, "fields": "summary"}
        if token:
            params["nextPageToken"] = token
        page = http.get("/rest/api/3/search/jql", params=params).json()
        keys += [i["key"] for i in page["issues"]]
        token = page.get("nextPageToken")
        assert page["isLast"] is (token is None)
        if token is None:
            break

    assert keys == [f"SUP-{n}" for n in range(1, 238)]
    assert sandbox.calls["search/jql"] == math.ceil(237 / 50)


def test_cloud_post_search_pages_the_same_way(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("cloud", issues=many_issues(120))
    http = client(sandbox)
    body: dict[str, Any] = {
        "jql": "project = SUP ORDER BY key DESC",
        "maxResults": 100,
        "fields": ["summary", "updated"],
    }
    first = http.post("/rest/api/3/search/jql", json=body).json()
    second = http.post(
        "/rest/api/3/search/jql", json={**body, "nextPageToken": first["nextPageToken"]}
    ).json()
    keys = [i["key"] for i in first["issues"] + second["issues"]]

    assert keys == [f"SUP-{n}" for n in range(120, 0, -1)]
    assert second["isLast"] is True and "nextPageToken" not in second


def test_jira_library_fetches_all_cloud_issues_once(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("cloud", issues=many_issues(237))
    issues = jira_client(sandbox).enhanced_search_issues("project = SUP", maxResults=0)

    assert sorted(int(i.key.split("-")[1]) for i in issues) == list(range(1, 238))
    assert sandbox.calls["search/jql"] == 3  # the library asks for 100 at a time


@pytest.mark.parametrize(
    ("fields", "asked", "served"),
    [(None, None, 50), ("id,key", 5000, 237), ("id", 300, 237), ("summary", 5000, 100)],
)
def test_cloud_caps_max_results_by_the_fields_asked(
    make_sandbox: Factory, fields: str | None, asked: int | None, served: int
) -> None:
    sandbox = make_sandbox("cloud", issues=many_issues(237))
    params: dict[str, Any] = {"jql": "project = SUP"}
    if fields:
        params["fields"] = fields
    if asked:
        params["maxResults"] = asked
    page = client(sandbox).get("/rest/api/3/search/jql", params=params).json()

    assert len(page["issues"]) == served
    assert page["isLast"] is (served == 237)


def test_cloud_search_returns_only_ids_unless_fields_are_asked(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("cloud")
    issue = (
        client(sandbox)
        .get("/rest/api/3/search/jql", params={"jql": "key = SUP-1"})
        .json()["issues"][0]
    )

    assert issue["id"] == "10001" and issue["key"] == "SUP-1"
    assert issue["self"] == f"{sandbox.url}/rest/api/3/issue/10001"
    assert "fields" not in issue


def test_data_center_pages_with_start_at_return_every_issue_once(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("dc", issues=many_issues(237))
    http = client(sandbox)
    keys: list[str] = []
    for start in range(0, 1000, 40):
        page = http.get(
            "/rest/api/2/search",
            params={"jql": "project = SUP", "startAt": start, "maxResults": 40},
        ).json()
        assert page["total"] == 237 and page["startAt"] == start
        keys += [i["key"] for i in page["issues"]]
        if start + page["maxResults"] >= page["total"]:
            break

    assert keys == [f"SUP-{n}" for n in range(1, 238)]
    assert sandbox.calls["search"] == math.ceil(237 / 40)


def test_data_center_caps_max_results_at_1000_and_defaults_to_50(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("dc", issues=many_issues(60))
    http = client(sandbox)
    capped = http.post("/rest/api/2/search", json={"jql": "project = SUP", "maxResults": 5000})
    default = http.get("/rest/api/2/search", params={"jql": "project = SUP"}).json()

    assert capped.json()["maxResults"] == 1000 and len(capped.json()["issues"]) == 60
    assert default["maxResults"] == 50 and len(default["issues"]) == 50


def test_jira_library_fetches_all_data_center_issues_once(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("dc", issues=many_issues(237))
    issues = jira_client(sandbox).search_issues("project = SUP", maxResults=False)

    assert sorted(int(i.key.split("-")[1]) for i in issues) == list(range(1, 238))
    assert len({i.key for i in issues}) == 237


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("version", ["2", "3"])
def test_cloud_old_search_is_gone(make_sandbox: Factory, method: str, version: str) -> None:
    sandbox = make_sandbox("cloud")
    reply = client(sandbox).request(
        method,
        f"/rest/api/{version}/search",
        params={"jql": "project = SUP"} if method == "GET" else None,
        json={"jql": "project = SUP"} if method == "POST" else None,
    )

    assert reply.status_code == 410
    assert "/rest/api/3/search/jql" in reply.json()["errorMessages"][0]


def test_search_fields_and_changelog_expand(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("dc")
    page = (
        client(sandbox)
        .get(
            "/rest/api/2/search",
            params={
                "jql": "key = SUP-2",
                "fields": "summary,-summary,status,description",
                "expand": "changelog",
            },
        )
        .json()
    )
    issue = page["issues"][0]

    assert set(issue["fields"]) == {"status", "description"}
    assert issue["fields"]["description"] == "Site check 2 failed"
    assert issue["changelog"]["histories"] == []


def test_navigable_fields_leave_comments_out(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("dc")
    issue = (
        client(sandbox).get("/rest/api/2/search", params={"jql": "key = SUP-1"}).json()["issues"][0]
    )

    assert "summary" in issue["fields"] and "comment" not in issue["fields"]


# --- JQL -----------------------------------------------------------------------------------


def search_keys(sandbox: JiraSandbox, jql: str) -> list[str]:
    http = client(sandbox)
    if sandbox.flavour == "cloud":
        reply = http.get("/rest/api/3/search/jql", params={"jql": jql, "maxResults": 100})
    else:
        reply = http.get("/rest/api/2/search", params={"jql": jql, "maxResults": 100})
    assert reply.status_code == 200, reply.text
    return [i["key"] for i in reply.json()["issues"]]


MINUTE_CASES = [
    # account time zone, the JQL literal "2026-11-27 10:05" in UTC, rendered offset
    ("Europe/Istanbul", datetime(2026, 11, 27, 7, 5, tzinfo=UTC), "+0300"),
    ("America/New_York", datetime(2026, 11, 27, 15, 5, tzinfo=UTC), "-0500"),
]


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
@pytest.mark.parametrize(("tz", "literal_utc", "offset"), MINUTE_CASES)
def test_updated_compares_minutes_in_the_account_time_zone(
    make_sandbox: Factory, flavour: str, tz: str, literal_utc: datetime, offset: str
) -> None:
    stamps = {
        1: literal_utc - timedelta(minutes=1),  # 10:04:00 local
        2: literal_utc - timedelta(milliseconds=1),  # 10:04:59.999
        3: literal_utc + timedelta(seconds=40),  # 10:05:40, the literal's own minute
        4: literal_utc + timedelta(minutes=1),  # 10:06:00
    }
    issues = [make_issue(n, at) for n, at in stamps.items()]
    sandbox = make_sandbox(flavour, issues=issues, time_zone=tz)

    def q(op: str) -> list[str]:
        return search_keys(sandbox, f'project = SUP AND updated {op} "2026-11-27 10:05"')

    assert q(">=") == ["SUP-3", "SUP-4"]
    assert q(">") == ["SUP-4"]
    assert q("<=") == ["SUP-1", "SUP-2", "SUP-3"]
    assert q("<") == ["SUP-1", "SUP-2"]
    assert q("=") == ["SUP-3"]
    http = client(sandbox)
    shown = http.get(f"{api(sandbox)}/issue/SUP-3", params={"fields": "updated"}).json()
    assert shown["fields"]["updated"] == f"2026-11-27T10:05:40.000{offset}"


@pytest.mark.parametrize(
    ("tz", "matches"), [("Europe/Istanbul", True), ("America/New_York", False)]
)
def test_date_only_literal_is_midnight_in_the_account_time_zone(
    make_sandbox: Factory, tz: str, matches: bool
) -> None:
    late_evening_utc = datetime(2026, 11, 26, 22, 30, tzinfo=UTC)  # the 27th in Istanbul
    sandbox = make_sandbox("cloud", issues=[make_issue(1, late_evening_utc)], time_zone=tz)

    assert search_keys(sandbox, "project = SUP AND updated >= 2026-11-27") == (
        ["SUP-1"] if matches else []
    )


def test_jql_clauses_a_sync_client_sends(make_sandbox: Factory) -> None:
    issues = [
        make_issue(1, NOW - timedelta(hours=3), status="In Progress", assignee=ANA),
        make_issue(2, NOW - timedelta(hours=1), status="In Progress"),
        make_issue(3, NOW - timedelta(hours=2)),
        make_issue(4, NOW - timedelta(hours=2), status="Done"),
        make_issue(1, NOW - timedelta(hours=4), project=("OPS", "10001")),
    ]
    sandbox = make_sandbox("cloud", issues=issues)

    assert search_keys(sandbox, "project = SUP") == ["SUP-1", "SUP-2", "SUP-3", "SUP-4"]
    assert search_keys(sandbox, "project in (SUP, OPS) AND key in (SUP-3, OPS-1)") == [
        "OPS-1",
        "SUP-3",
    ]
    assert search_keys(sandbox, 'status = "In Progress" ORDER BY updated ASC') == [
        "SUP-1",
        "SUP-2",
    ]
    assert search_keys(
        sandbox,
        "project = SUP AND (status = Done OR assignee = 5b10a2844c20165700ede21g) "
        "ORDER BY updated ASC, key DESC",
    ) == ["SUP-1", "SUP-4"]
    assert search_keys(sandbox, "project = SUP ORDER BY updated DESC, key DESC") == [
        "SUP-2",
        "SUP-4",
        "SUP-3",
        "SUP-1",
    ]
    assert search_keys(sandbox, "project = SUP AND status != Done AND assignee is EMPTY") == [
        "SUP-2",
        "SUP-3",
    ]
    assert search_keys(sandbox, 'Site ~ "site-3" OR cf[10101] ~ site-4') == ["SUP-3", "SUP-4"]
    assert search_keys(sandbox, "summary ~ tick* AND text ~ check AND labels = site:site-2") == [
        "SUP-2"
    ]
    assert search_keys(sandbox, "project = SUP AND updated >= -150m") == ["SUP-2", "SUP-3", "SUP-4"]


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("project = ", "Error in the JQL Query: Expecting either a value, list or function"),
        ("project SUP", "Error in the JQL Query: Expecting operator but got 'SUP'"),
        ('status = "In Progress', "Error in the JQL Query: The quoted string"),
        ("project = SUP AND (key = SUP-1", "Error in the JQL Query: Expecting ')'"),
        ("project = SUP ORDER BY", "Error in the JQL Query: Expecting a field name"),
        ("colour = red", "Field 'colour' does not exist or you do not have permission to view it."),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("key = SUP-999", "An issue with key 'SUP-999' does not exist for field 'key'."),
        ('updated >= "27/11/2026"', "Date value '27/11/2026' for field 'updated' is invalid."),
        ("ORDER BY key", "Unbounded JQL queries are not allowed here."),
    ],
)
def test_bad_jql_is_a_400(make_sandbox: Factory, jql: str, message: str) -> None:
    sandbox = make_sandbox("cloud")
    reply = client(sandbox).get("/rest/api/3/search/jql", params={"jql": jql})

    assert reply.status_code == 400
    assert reply.json()["errorMessages"][0].startswith(message), reply.json()


def test_data_center_can_turn_unknown_values_into_warnings(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("dc")
    page = (
        client(sandbox)
        .get(
            "/rest/api/2/search",
            params={"jql": "key in (SUP-1, SUP-999)", "validateQuery": "false"},
        )
        .json()
    )

    assert [i["key"] for i in page["issues"]] == ["SUP-1"]
    assert page["warningMessages"] == [
        "An issue with key 'SUP-999' does not exist for field 'key'."
    ]


# --- one issue -----------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_unknown_issue_is_a_404(make_sandbox: Factory, flavour: str) -> None:
    sandbox = make_sandbox(flavour)
    http = client(sandbox)

    for path in ("issue/SUP-999", "issue/SUP-999/transitions", "issue/SUP-999/comment"):
        reply = http.get(f"{api(sandbox)}/{path}")
        assert (reply.status_code, reply.json()) == (404, NO_ISSUE)
    with pytest.raises(JIRAError) as raised:
        jira_client(sandbox).issue("SUP-999")
    assert raised.value.status_code == 404


def test_issue_is_shown_per_flavour(make_sandbox: Factory) -> None:
    cloud, dc = make_sandbox("cloud"), make_sandbox("dc")
    for sandbox in (cloud, dc):
        sandbox.edit("SUP-1", assignee="ana", at=NOW)

    v3 = client(cloud).get("/rest/api/3/issue/SUP-1").json()["fields"]
    v2 = client(cloud).get("/rest/api/2/issue/SUP-1").json()["fields"]
    on_dc = client(dc).get("/rest/api/2/issue/SUP-1").json()["fields"]

    assert v3["description"]["type"] == "doc" and v2["description"] == "Site check 1 failed"
    assert v3["assignee"]["accountId"] == ANA["account_id"] == v2["assignee"]["accountId"]
    assert on_dc["description"] == "Site check 1 failed"
    assert on_dc["assignee"]["name"] == "ana" and on_dc["assignee"]["key"] == "JIRAUSER10001"
    assert "accountId" not in on_dc["assignee"]


def test_create_issue_returns_its_key_and_starts_in_to_do(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("cloud")
    http = client(sandbox)
    created = http.post(
        "/rest/api/3/issue",
        json={
            "fields": {
                "project": {"key": "SUP"},
                "issuetype": {"name": "Incident"},
                "summary": "Site down",
                "description": {"type": "doc", "version": 1, "content": []},
                "labels": ["site:acme"],
            }
        },
    )
    refused = http.post("/rest/api/3/issue", json={"fields": {"project": {"key": "SUP"}}})

    assert created.status_code == 201
    assert created.json() == {
        "id": "10006",
        "key": "SUP-6",
        "self": f"{sandbox.url}/rest/api/3/issue/10006",
    }
    issue = http.get("/rest/api/3/issue/SUP-6").json()["fields"]
    assert issue["status"]["name"] == "To Do" and issue["issuetype"]["name"] == "Incident"
    assert issue["reporter"]["emailAddress"] == CLOUD_USER
    assert issue["created"] == issue["updated"] == "2026-11-27T09:00:00.000+0000"
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"summary", "issuetype"}


def test_edit_issue_changes_fields_logs_them_and_refuses_status(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("dc")
    http = client(sandbox)
    edited = http.put(
        "/rest/api/2/issue/SUP-1",
        json={"fields": {"summary": "Renamed"}, "update": {"labels": [{"add": "urgent"}]}},
    )
    refused = http.put("/rest/api/2/issue/SUP-1", json={"fields": {"status": {"name": "QA"}}})
    issue = http.get("/rest/api/2/issue/SUP-1", params={"expand": "changelog"}).json()

    assert edited.status_code == 204 and refused.status_code == 400
    assert issue["fields"]["summary"] == "Renamed"
    assert issue["fields"]["labels"] == ["site:site-1", "urgent"]
    fields = [item["field"] for item in issue["changelog"]["histories"][-1]["items"]]
    assert fields == ["summary", "labels"]


# --- transitions ---------------------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_transition_changes_status_and_appears_in_changelog(
    make_sandbox: Factory, flavour: str
) -> None:
    sandbox = make_sandbox(flavour, time_zone="UTC")
    jira = jira_client(sandbox)
    names = {t["name"] for t in jira.transitions("SUP-1")}
    later = NOW + timedelta(minutes=7)
    sandbox.set_clock(lambda: later)

    jira.transition_issue("SUP-1", "In Progress")
    issue = jira.issue("SUP-1", expand="changelog")

    assert names == set(STATUS_NAMES) - {"To Do"}
    assert issue.fields.status.name == "In Progress"
    assert issue.fields.updated == "2026-11-27T09:07:00.000+0000"
    item = issue.changelog.histories[-1].items[0]
    assert (item.field, item.fromString, item.toString) == ("status", "To Do", "In Progress")
    assert sandbox.calls["transitions.post"] == 1


def test_done_requires_a_resolution(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("cloud")
    http = client(sandbox)
    plain = http.get("/rest/api/3/issue/SUP-1/transitions").json()["transitions"]
    expanded = http.get(
        "/rest/api/3/issue/SUP-1/transitions", params={"expand": "transitions.fields"}
    ).json()["transitions"]
    done = next(t for t in expanded if t["to"]["name"] == "Done")

    assert all(t["fields"] == {} for t in plain)
    assert done["fields"]["resolution"]["required"] is True
    refused = http.post(
        "/rest/api/3/issue/SUP-1/transitions", json={"transition": {"id": done["id"]}}
    )
    assert refused.status_code == 400 and "resolution" in refused.json()["errors"]
    assert http.get("/rest/api/3/issue/SUP-1").json()["fields"]["status"]["name"] == "To Do"

    accepted = http.post(
        "/rest/api/3/issue/SUP-1/transitions",
        json={"transition": {"id": done["id"]}, "fields": {"resolution": {"name": "Done"}}},
    )
    fields = http.get("/rest/api/3/issue/SUP-1").json()["fields"]
    assert accepted.status_code == 204
    assert fields["status"]["name"] == "Done" and fields["resolution"]["name"] == "Done"
    assert fields["resolutiondate"] == "2026-11-27T09:00:00.000+0000"

    back = next(
        t
        for t in http.get("/rest/api/3/issue/SUP-1/transitions").json()["transitions"]
        if t["name"] == "Needs Work"
    )
    http.post("/rest/api/3/issue/SUP-1/transitions", json={"transition": {"id": back["id"]}})
    fields = http.get("/rest/api/3/issue/SUP-1").json()["fields"]
    assert fields["resolution"] is None and fields["resolutiondate"] is None


def test_transition_with_a_comment_and_an_unknown_id(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("dc")
    http = client(sandbox)
    moved = http.post(
        "/rest/api/2/issue/SUP-2/transitions",
        json={
            "transition": {"id": "41"},
            "update": {"comment": [{"add": {"body": "Waiting for Acme"}}]},
        },
    )
    unknown = http.post("/rest/api/2/issue/SUP-2/transitions", json={"transition": {"id": "999"}})
    fields = http.get("/rest/api/2/issue/SUP-2").json()["fields"]

    assert moved.status_code == 204 and fields["status"]["name"] == "Feedback/Impediment"
    assert fields["comment"]["comments"][-1]["body"] == "Waiting for Acme"
    assert unknown.status_code == 400
    assert unknown.json()["errorMessages"] == ["Transition id '999' is not valid for this issue."]


# --- comments and assignee -----------------------------------------------------------------


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_comment_add_and_list_with_the_jira_library(make_sandbox: Factory, flavour: str) -> None:
    sandbox = make_sandbox(flavour)
    jira = jira_client(sandbox)
    later = NOW + timedelta(hours=1)
    sandbox.set_clock(lambda: later)

    added = jira.add_comment("SUP-1", "Cloned prod to dev.\nBranch SUP-1 is open.")
    listed = jira.comments("SUP-1")

    assert added.body == "Cloned prod to dev.\nBranch SUP-1 is open."
    assert [c.id for c in listed] == [added.id]
    author = listed[0].raw["author"]
    assert ("accountId" in author) is (flavour == "cloud")
    assert ("name" in author) is (flavour == "dc")
    assert jira.issue("SUP-1").fields.updated == "2026-11-27T10:00:00.000+0000"


def test_cloud_v3_comments_are_atlassian_documents(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("cloud")
    http = client(sandbox)
    doc = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Deployed."}]}],
    }
    posted = http.post("/rest/api/3/issue/SUP-1/comment", json={"body": doc})
    refused = http.post("/rest/api/3/issue/SUP-1/comment", json={"body": "plain"})
    page = http.get("/rest/api/3/issue/SUP-1/comment").json()
    as_text = http.get("/rest/api/2/issue/SUP-1/comment").json()

    assert posted.status_code == 201 and posted.json()["body"] == doc
    assert refused.status_code == 400
    assert (page["startAt"], page["total"], page["comments"][0]["body"]) == (0, 1, doc)
    assert as_text["comments"][0]["body"] == "Deployed."


def test_comments_are_normalised_like_jira_does(make_sandbox: Factory) -> None:
    cloud, dc = client(make_sandbox("cloud")), client(make_sandbox("dc"))
    blank = {"type": "paragraph", "content": []}
    spaces = {"type": "paragraph", "content": [{"type": "text", "text": "  "}]}
    text = {"type": "paragraph", "content": [{"type": "text", "text": "Deployed."}]}
    doc = {"type": "doc", "version": 1, "content": [blank, text, spaces, text]}

    posted = cloud.post("/rest/api/3/issue/SUP-1/comment", json={"body": doc})
    typed = dc.post("/rest/api/2/issue/SUP-1/comment", json={"body": "One.\r\nTwo.\n\n\n\nThree."})

    assert posted.json()["body"]["content"] == [text, text]  # Cloud drops blank paragraphs
    assert typed.json()["body"] == "One.\nTwo.\n\nThree."  # DC: CRLF to LF, runs collapsed


def test_comment_pages(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("dc")
    http = client(sandbox)
    for n in range(5):
        http.post("/rest/api/2/issue/SUP-1/comment", json={"body": f"note {n}"})
    page = http.get("/rest/api/2/issue/SUP-1/comment", params={"startAt": 3, "maxResults": 10})
    newest = http.get("/rest/api/2/issue/SUP-1/comment", params={"orderBy": "-created"})

    assert [c["body"] for c in page.json()["comments"]] == ["note 3", "note 4"]
    assert page.json()["total"] == 5
    assert newest.json()["comments"][0]["body"] == "note 4"


def test_cloud_assignee_by_account_id(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("cloud")
    http = client(sandbox)
    url = "/rest/api/3/issue/SUP-1/assignee"

    assert http.put(url, json={"accountId": ANA["account_id"]}).status_code == 204
    assert (
        http.get("/rest/api/3/issue/SUP-1").json()["fields"]["assignee"]["displayName"]
        == "Ana Lima"
    )
    assert http.put(url, json={"accountId": None}).status_code == 204
    assert http.get("/rest/api/3/issue/SUP-1").json()["fields"]["assignee"] is None
    assert http.put(url, json={"name": "ana"}).status_code == 400  # Cloud knows no usernames
    assert http.put(url, json={"accountId": "nobody"}).status_code == 400


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_assign_and_unassign_with_the_jira_library(make_sandbox: Factory, flavour: str) -> None:
    sandbox = make_sandbox(flavour)
    jira = jira_client(sandbox)
    who = ANA["account_id"] if flavour == "cloud" else "ana"

    jira.assign_issue("SUP-2", who)
    assigned = jira.issue("SUP-2").fields.assignee
    jira.assign_issue("SUP-2", None)

    assert assigned is not None and assigned.displayName == "Ana Lima"
    assert getattr(assigned, "accountId" if flavour == "cloud" else "name") == who
    assert jira.issue("SUP-2").fields.assignee is None
    assert sandbox.calls["assignee.put"] == 2


# --- bulk fetch ----------------------------------------------------------------------------


def test_bulkfetch_returns_the_issues_that_exist(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("cloud")
    http = client(sandbox)
    reply = http.post(
        "/rest/api/3/issue/bulkfetch",
        json={"issueIdsOrKeys": ["SUP-2", "10003", "SUP-999"], "fields": ["summary", "status"]},
    )
    too_many = http.post(
        "/rest/api/3/issue/bulkfetch", json={"issueIdsOrKeys": [f"SUP-{n}" for n in range(101)]}
    )

    assert reply.status_code == 200
    assert [i["key"] for i in reply.json()["issues"]] == ["SUP-2", "SUP-3"]
    assert all(set(i["fields"]) == {"summary", "status"} for i in reply.json()["issues"])
    assert reply.json()["issueErrors"] == []
    assert too_many.status_code == 400
    on_dc = client(make_sandbox("dc")).post(
        "/rest/api/2/issue/bulkfetch", json={"issueIdsOrKeys": ["SUP-1"]}
    )
    assert on_dc.status_code == 405  # Data Center has only issue/{key}, which takes no POST


# --- test controls -------------------------------------------------------------------------


def test_rate_limit_answers_429_with_retry_after_then_serves(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("cloud")
    http = client(sandbox)
    sandbox.inject_rate_limit(2, retry_after=3)

    limited = [http.get("/rest/api/3/myself") for _ in range(2)]
    served = http.get("/rest/api/3/myself")

    assert [r.status_code for r in limited] == [429, 429]
    assert all(r.headers["Retry-After"] == "3" for r in limited)
    assert limited[0].json()["errorMessages"] == ["Rate limit exceeded."]
    assert served.status_code == 200
    assert (sandbox.calls["rate_limited"], sandbox.calls["myself"]) == (2, 1)


def test_jira_library_retries_after_a_429(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("dc")
    jira = jira_client(sandbox)
    sandbox.inject_rate_limit(1, retry_after=1)

    assert jira.myself()["name"] == DC_USER
    assert (sandbox.calls["rate_limited"], sandbox.calls["myself"]) == (1, 1)


def test_edit_control_bumps_updated_and_delete_removes(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("cloud", time_zone="Europe/Istanbul")
    http = client(sandbox)
    sandbox.edit(
        "SUP-1",
        summary="Changed in Jira",
        status="Code Review",
        at=datetime(2026, 11, 27, 9, 30, 15, tzinfo=UTC),
    )
    sandbox.delete("SUP-2")

    fields = http.get("/rest/api/3/issue/SUP-1").json()["fields"]
    assert fields["summary"] == "Changed in Jira" and fields["status"]["name"] == "Code Review"
    assert fields["updated"] == "2026-11-27T12:30:15.000+0300"
    assert search_keys(sandbox, 'project = SUP AND updated >= "2026-11-27 12:30"') == ["SUP-1"]
    assert http.get("/rest/api/3/issue/SUP-2").status_code == 404
    assert "SUP-2" not in search_keys(sandbox, "project = SUP")


def test_latency_delays_every_answer(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("cloud", latency_ms=150)
    http = client(sandbox)
    started = time.monotonic()
    http.get("/rest/api/3/serverInfo")

    assert time.monotonic() - started >= 0.15
    assert sandbox.total_calls() == 1


def test_instance_lists_for_the_client(make_sandbox: Factory) -> None:
    sandbox = make_sandbox("dc")
    http = client(sandbox)

    assert [f["id"] for f in http.get("/rest/api/2/field").json()] == [f["id"] for f in FIELDS]
    assert [s["name"] for s in http.get("/rest/api/2/status").json()] == list(STATUS_NAMES)
    assert [p["key"] for p in http.get("/rest/api/2/project").json()] == ["SUP"]
    assert http.get("/rest/api/2/project/SUP").json()["lead"]["name"] == DC_USER
    assert http.get("/rest/api/2/project/NOPE").status_code == 404
