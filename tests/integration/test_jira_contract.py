"""The sandbox's Jira Cloud answers, checked against Atlassian's OpenAPI document for REST v3.

Each response Triage consumes is validated against the schema of that operation's success
(or error) response in ``shared/jira/jira-cloud-platform-v3.openapi.json``, so the sandbox
cannot drift from what real Jira Cloud sends without these tests failing.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from triage.sandbox.agency import build_agency
from triage.sandbox.jira_server import JiraSandbox

SPEC = Path(__file__).resolve().parents[2].parent / "shared" / "jira"
SPEC_FILE = SPEC / "jira-cloud-platform-v3.openapi.json"
SPEC_URI = "urn:atlassian:jira-cloud-platform-v3"
NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
TOKEN = "contract-token"
# Jira sends null for these where a value is absent (the first assignee, a cleared
# resolution) although the document types them as plain strings.
JIRA_SENDS_NULL = {"ChangeDetails": ("from", "fromString", "to", "toString")}


def nullable_to_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's ``nullable: true`` as JSON Schema: null joins the type (and the enum)."""
    if isinstance(node, list):
        return [nullable_to_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: nullable_to_json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable") is True:
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif "type" not in out:
            return {"anyOf": [out, {"type": "null"}]}
    return out


@pytest.fixture(scope="module")
def registry() -> Registry[Any]:
    document = json.loads(SPEC_FILE.read_text())
    schemas = document["components"]["schemas"]
    for name, props in JIRA_SENDS_NULL.items():
        for prop in props:
            schemas[name]["properties"][prop]["nullable"] = True
    resource = DRAFT202012.create_resource(nullable_to_json_schema(document))
    registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
    return registry


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def response_schema(path: str, method: str, status: int) -> dict[str, str]:
    """A schema that refers to one operation's response body in the document."""
    pointer = _pointer(
        "paths", path, method, "responses", str(status), "content", "application/json", "schema"
    )
    return {"$ref": SPEC_URI + pointer}


ERROR_SCHEMA = {"$ref": SPEC_URI + _pointer("components", "schemas", "ErrorCollection")}


def violations(registry: Registry[Any], schema: dict[str, str], body: Any) -> list[str]:
    validator = Draft202012Validator(schema, registry=registry)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.path)))
    ]


# IssueBean leaves ``fields`` free-form; these components describe the values Triage reads.
FIELD_SCHEMAS = {
    "status": "StatusDetails",
    "assignee": "UserDetails",
    "reporter": "UserDetails",
    "comment": "PageOfComments",
    "issuetype": "IssueTypeDetails",
    "project": "ProjectDetails",
    "priority": "Priority",
    "resolution": "Resolution",
}


def field_violations(registry: Registry[Any], body: Any) -> list[str]:
    """Problems in the issue fields of a response (an issue, or a list of issues)."""
    issues = body.get("issues", [body]) if isinstance(body, dict) else []
    problems = []
    for issue in issues:
        for fid, value in (issue.get("fields") or {}).items():
            if fid in FIELD_SCHEMAS and value is not None:
                ref = {"$ref": SPEC_URI + _pointer("components", "schemas", FIELD_SCHEMAS[fid])}
                problems += [f"{issue['key']} {fid} {p}" for p in violations(registry, ref, value)]
    return problems


def conforms(registry: Registry[Any], reply: httpx.Response, path: str, status: int = 200) -> Any:
    """Assert the status and that the body fits the operation's schema; return the body."""
    assert reply.status_code == status, reply.text
    method = reply.request.method.lower()
    body = reply.json()
    problems = violations(registry, response_schema(path, method, status), body)
    problems += field_violations(registry, body)
    assert not problems, "\n".join(problems[:20])
    return body


def is_error(registry: Registry[Any], reply: httpx.Response, status: int) -> None:
    assert reply.status_code == status, reply.text
    problems = violations(registry, ERROR_SCHEMA, reply.json())
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def sandbox() -> Iterator[JiraSandbox]:
    agency = build_agency(60, seed=7, now=NOW)
    with JiraSandbox.from_agency(
        agency, flavour="cloud", token=TOKEN, time_zone="Europe/Istanbul"
    ) as server:
        server.set_clock(lambda: NOW)
        yield server


@pytest.fixture
def http(sandbox: JiraSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{sandbox.url}/rest/api/3", auth=(sandbox.user, TOKEN), timeout=10
    ) as client:
        yield client


V3 = "/rest/api/3"


@pytest.mark.parametrize(
    ("endpoint", "path"),
    [
        ("/serverInfo", "/serverInfo"),
        ("/myself", "/myself"),
        ("/field", "/field"),
        ("/status", "/status"),
        ("/project", "/project"),
        ("/project/SUP", "/project/{projectIdOrKey}"),
    ],
)
def test_instance_answers_conform(
    registry: Registry[Any], http: httpx.Client, endpoint: str, path: str
) -> None:
    conforms(registry, http.get(endpoint), V3 + path)


@pytest.mark.parametrize(
    "params",
    [
        {"jql": "project = SUP ORDER BY updated DESC", "fields": "*all", "expand": "changelog"},
        {"jql": "project = SUP", "fields": "id,key", "maxResults": 5000},
        {"jql": "project = SUP AND updated >= -30d", "maxResults": 7},
    ],
)
def test_search_jql_pages_conform(
    registry: Registry[Any], http: httpx.Client, params: dict[str, Any]
) -> None:
    body = conforms(registry, http.get("/search/jql", params=params), V3 + "/search/jql")
    if "nextPageToken" in body:
        following = http.post(
            "/search/jql", json={**params, "nextPageToken": body["nextPageToken"]}
        )
        conforms(registry, following, V3 + "/search/jql")


def test_bulkfetch_conforms(registry: Registry[Any], http: httpx.Client) -> None:
    reply = http.post(
        "/issue/bulkfetch",
        json={
            "issueIdsOrKeys": ["SUP-1", "10002", "SUP-404"],
            "fields": ["*all"],
            "expand": ["changelog"],
        },
    )
    body = conforms(registry, reply, V3 + "/issue/bulkfetch")
    assert [i["key"] for i in body["issues"]] == ["SUP-1", "SUP-2"]


@pytest.mark.parametrize("key", ["SUP-1", "SUP-30", "SUP-60"])
def test_issue_conforms(registry: Registry[Any], http: httpx.Client, key: str) -> None:
    reply = http.get(f"/issue/{key}", params={"expand": "changelog"})
    conforms(registry, reply, V3 + "/issue/{issueIdOrKey}")


def open_issue(http: httpx.Client) -> str:
    """The key of an issue that is not Done, so a move to Done is offered."""
    page = http.get("/search/jql", params={"jql": "project = SUP AND status != Done"}).json()
    return str(page["issues"][0]["key"])


def test_transitions_conform(registry: Registry[Any], http: httpx.Client) -> None:
    key = open_issue(http)
    reply = http.get(f"/issue/{key}/transitions", params={"expand": "transitions.fields"})
    body = conforms(registry, reply, V3 + "/issue/{issueIdOrKey}/transitions")
    assert any(t["fields"] for t in body["transitions"])  # Done's resolution was validated too


def test_comments_conform(registry: Registry[Any], http: httpx.Client) -> None:
    doc = {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Checked."}]}],
    }
    posted = http.post("/issue/SUP-3/comment", json={"body": doc})
    conforms(registry, posted, V3 + "/issue/{issueIdOrKey}/comment", status=201)
    listed = http.get("/issue/SUP-3/comment")
    conforms(registry, listed, V3 + "/issue/{issueIdOrKey}/comment")


def test_created_issue_conforms(registry: Registry[Any], http: httpx.Client) -> None:
    reply = http.post(
        "/issue",
        json={
            "fields": {
                "project": {"key": "SUP"},
                "issuetype": {"name": "Task"},
                "summary": "Contract check",
            }
        },
    )
    created = conforms(registry, reply, V3 + "/issue", status=201)
    fetched = http.get(f"/issue/{created['key']}", params={"expand": "changelog"})
    conforms(registry, fetched, V3 + "/issue/{issueIdOrKey}")


def test_changes_keep_the_issue_conforming(registry: Registry[Any], http: httpx.Client) -> None:
    """Assigning, moving to Done and back writes changelog items with null ends."""
    key = open_issue(http)
    account = http.get("/myself").json()["accountId"]
    assert http.put(f"/issue/{key}/assignee", json={"accountId": None}).status_code == 204
    assert http.put(f"/issue/{key}/assignee", json={"accountId": account}).status_code == 204
    moves = http.get(f"/issue/{key}/transitions").json()["transitions"]
    for name in ("Done", "Needs Work"):
        move = next(t for t in moves if t["name"] == name)
        fields = {"resolution": {"name": "Done"}} if name == "Done" else {}
        body = {"transition": {"id": move["id"]}, "fields": fields}
        reply = http.post(f"/issue/{key}/transitions", json=body)
        assert reply.status_code == 204, reply.text
        moves = http.get(f"/issue/{key}/transitions").json()["transitions"]
    reply = http.get(f"/issue/{key}", params={"expand": "changelog"})
    issue = conforms(registry, reply, V3 + "/issue/{issueIdOrKey}")
    items = [i for h in issue["changelog"]["histories"] for i in h["items"]]
    assert any(i["field"] == "resolution" and i["to"] is None for i in items)


def test_error_bodies_conform(
    registry: Registry[Any], sandbox: JiraSandbox, http: httpx.Client
) -> None:
    is_error(registry, http.get("/issue/SUP-9999"), 404)
    is_error(registry, http.get("/search/jql", params={"jql": "project = "}), 400)
    is_error(registry, http.get("/search", params={"jql": "project = SUP"}), 410)
    is_error(registry, http.post("/issue", json={"fields": {}}), 400)
    is_error(registry, http.post("/issue/SUP-1/transitions", json={"transition": {"id": "0"}}), 400)
    sandbox.inject_rate_limit(1)
    is_error(registry, http.get("/myself"), 429)


DRIFTS = [
    ("/serverInfo", "/serverInfo", lambda b: b.update(deploymentType=1)),
    ("/serverInfo", "/serverInfo", lambda b: b.update(defaultLocale={"locale": "en_US"})),
    ("/myself", "/myself", lambda b: b.update(accountType="robot")),
    ("/search/jql?jql=project%3DSUP&fields=summary", "/search/jql", lambda b: b.update(total=60)),
    ("/search/jql?jql=project%3DSUP", "/search/jql", lambda b: b.update(isLast="no")),
    ("/issue/SUP-1", "/issue/{issueIdOrKey}", lambda b: b.update(key=None)),
    (
        "/issue/SUP-1",
        "/issue/{issueIdOrKey}",
        lambda b: b["fields"]["reporter"].update(locale="en_US"),
    ),
    (
        "/issue/SUP-1?expand=changelog",
        "/issue/{issueIdOrKey}",
        lambda b: b["changelog"]["histories"][0]["items"][0].update(field=7),
    ),
    (
        "/issue/SUP-2/comment",  # an issue with comments
        "/issue/{issueIdOrKey}/comment",
        lambda b: b["comments"][0]["author"].update(accountId=5),
    ),
    (
        "/issue/SUP-1/transitions",
        "/issue/{issueIdOrKey}/transitions",
        lambda b: b["transitions"][0]["to"]["statusCategory"].update(id="4"),
    ),
]


@pytest.mark.parametrize(("endpoint", "path", "drift"), DRIFTS)
def test_the_contract_catches_drift(
    registry: Registry[Any], http: httpx.Client, endpoint: str, path: str, drift: Any
) -> None:
    """A response with one field changed the wrong way must not pass (the checks have teeth)."""
    body = conforms(registry, http.get(endpoint), V3 + path)
    drifted = copy.deepcopy(body)
    drift(drifted)

    schema = response_schema(V3 + path, "get", 200)
    assert violations(registry, schema, drifted) + field_violations(registry, drifted)
