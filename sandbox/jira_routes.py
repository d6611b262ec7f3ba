"""The REST endpoints of the sandbox Jira: one method per operation, each returning a Reply.

Every method runs with the state's lock held, on an authenticated request that the server
has already routed here (see ``ROUTES``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from triage.sandbox import jira_attach
from triage.sandbox import jira_writes as writes
from triage.sandbox.jira_render import Flavour, Json, View, choose_fields, jira_time, split_list
from triage.sandbox.jira_state import RESOLUTIONS, ApiError, JiraState
from triage.sandbox.jql import JqlError
from triage.sandbox.jql_eval import prepare

GONE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)
PROJECT_EXPAND = "description,lead,issueTypes,url,projectKeys,permissions,insight"


@dataclass(frozen=True)
class Route:
    """``methods`` on ``pattern`` (after /rest/api/{version}/), counted as ``name``."""

    methods: tuple[str, ...]
    pattern: str
    name: str
    handler: str
    flavours: tuple[Flavour, ...] = ("cloud", "dc")


_ISSUE = r"issue/(?P<key>[^/]+)"
ROUTES = [
    Route(("GET",), "serverInfo", "serverInfo", "server_info"),
    Route(("GET",), "myself", "myself", "myself"),
    Route(("GET",), "field", "field", "field_list"),
    Route(("GET",), "status", "status", "status_list"),
    Route(("GET",), "project", "project", "project_list"),
    Route(("GET",), r"project/(?P<project>[^/]+)", "project/{key}", "project_one"),
    Route(("GET",), r"user/search", "user/search", "user_search"),
    Route(("GET", "POST"), "search", "search", "search"),
    Route(("GET", "POST"), "search/jql", "search/jql", "search_jql", ("cloud",)),
    Route(("POST",), "issue/bulkfetch", "bulkfetch", "bulkfetch", ("cloud",)),
    Route(("POST",), "issue", "issue.post", "create_issue"),
    Route(("GET",), _ISSUE, "issue", "get_issue"),
    Route(("PUT",), _ISSUE, "issue.put", "edit_issue"),
    Route(("GET",), _ISSUE + "/transitions", "transitions", "get_transitions"),
    Route(("POST",), _ISSUE + "/transitions", "transitions.post", "do_transition"),
    Route(("GET",), _ISSUE + "/comment", "comment", "get_comments"),
    Route(("POST",), _ISSUE + "/comment", "comment.post", "add_comment"),
    Route(("PUT",), _ISSUE + "/assignee", "assignee.put", "assign"),
    Route(("POST",), _ISSUE + "/attachments", "attachments.post", "add_attachments"),
]


@dataclass
class Request:
    """One routed API call."""

    method: str
    version: str
    params: Mapping[str, list[str]]
    body: Any
    match: Mapping[str, str]

    def param(self, name: str, default: str | None = None) -> str | None:
        """A query parameter, or the same key of a JSON body on POST searches."""
        if isinstance(self.body, dict) and name in self.body:
            value = self.body[name]
            return None if value is None else str(value)
        values = self.params.get(name)
        return values[-1] if values else default

    def listed(self, name: str) -> list[str] | None:
        if isinstance(self.body, dict) and name in self.body:
            return split_list(self.body[name])
        return split_list(self.params[name]) if name in self.params else None

    def number(self, name: str, default: int) -> int:
        raw = self.param(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise ApiError(
                400, [f"The '{name}' parameter must be a number, got '{raw}'."]
            ) from None

    def json(self) -> Json:
        if not isinstance(self.body, dict):
            raise ApiError(400, ["No content to map due to end-of-input"])
        return self.body


@dataclass
class Reply:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Api:
    """The operations, over one state, for one flavour, answering with ``base`` URLs."""

    state: JiraState
    flavour: Flavour
    base: str
    tz: tzinfo
    _cache: tuple[Any, list[Json], list[str]] | None = None

    def view(self, req: Request) -> View:
        statuses = {str(s["id"]): s for s in self.state.statuses}
        return View(self.flavour, req.version, self.base, self.tz, self.state.people, statuses)

    # --- instance ------------------------------------------------------------------------

    def server_info(self, req: Request) -> Reply:
        cloud = self.flavour == "cloud"
        info: Json = {
            "baseUrl": self.base,
            "version": "1001.0.0-SNAPSHOT" if cloud else "9.12.0",
            "versionNumbers": [1001, 0, 0] if cloud else [9, 12, 0],
            "deploymentType": "Cloud" if cloud else "Server",
            "buildNumber": 100292 if cloud else 9120000,
            "buildDate": "2026-11-20T00:00:00.000+0000"
            if cloud
            else "2023-11-21T00:00:00.000+0000",
            "serverTime": jira_time(self.state.clock(), self.tz),
            "scmInfo": "57a0ca5b4a0bb0ac5f3fee4764acb1c14e4d7e71",
            "serverTitle": "Jira",
        }
        if not cloud:
            info["databaseBuildNumber"] = 9120000
            info["defaultLocale"] = {"locale": "en_US"}
        return Reply(200, info)

    def myself(self, req: Request) -> Reply:
        me = self.view(req).user(self.state.me) or {}
        me.update(locale="en_US", expand="groups,applicationRoles")
        me["groups"] = {"size": 1, "items": [{"name": "jira-software-users"}]}
        me["applicationRoles"] = {"size": 1, "items": []}
        return Reply(200, me)

    def field_list(self, req: Request) -> Reply:
        return Reply(200, self.state.fields)

    def status_list(self, req: Request) -> Reply:
        view = self.view(req)
        return Reply(200, [view.status(s) for s in self.state.statuses])

    def project_json(self, view: View, project: Json, full: bool) -> Json:
        out: Json = {
            "expand": PROJECT_EXPAND,
            "self": f"{view.api}/project/{project['id']}",
            "id": project["id"],
            "key": project["key"],
            "name": project["name"],
            "avatarUrls": {
                s: f"{self.base}/secure/projectavatar?pid={project['id']}&size={s}"
                for s in ("48x48", "24x24", "16x16", "32x32")
            },
            "projectTypeKey": "software",
            "isPrivate": False,
            "properties": {},
        }
        if self.flavour == "cloud":
            out.update(simplified=False, style="classic")
        if full:
            out.update(
                description="",
                lead=view.user(self.state.me),
                components=[],
                versions=[],
                issueTypes=[
                    dict(t, self=f"{view.api}/issuetype/{t['id']}") for t in self.state.issue_types
                ],
                assigneeType="UNASSIGNED",
                roles={},
            )
        return out

    def project_list(self, req: Request) -> Reply:
        view = self.view(req)
        return Reply(200, [self.project_json(view, p, False) for p in self.state.projects.values()])

    def project_one(self, req: Request) -> Reply:
        wanted = req.match["project"].upper()
        for p in self.state.projects.values():
            if wanted in (p["key"].upper(), p["id"]):
                return Reply(200, self.project_json(self.view(req), p, True))
        raise ApiError(404, [f"No project could be found with key '{req.match['project']}'."])

    def user_search(self, req: Request) -> Reply:
        term = (req.param("query") or req.param("username") or req.param("accountId") or "").lower()
        if not term:
            raise ApiError(400, ["The query parameter 'query' or 'username' is required."])
        view = self.view(req)
        found = [a for a in self.state.people.values() if any(i.startswith(term) for i in a.ids())]
        start, limit = req.number("startAt", 0), req.number("maxResults", 50)
        return Reply(200, [view.user(a) for a in found[start : start + limit]])

    # --- search --------------------------------------------------------------------------

    def matching(self, jql: str, strict: bool, bounded: bool) -> tuple[list[Json], list[str]]:
        """The sorted issues a query selects (cached until the state or the minute changes)."""
        ctx = self.state.jql_context()
        key = (jql, strict, bounded, self.state.version, ctx.now.replace(second=0, microsecond=0))
        if self._cache is not None and self._cache[0] == key:
            return self._cache[1], self._cache[2]
        try:
            prepared = prepare(jql, ctx, strict=strict)
        except JqlError as exc:
            raise ApiError(400, exc.messages) from None
        if bounded and not prepared.bounded:
            raise ApiError(400, [UNBOUNDED])
        hits = prepared.sort([i for i in self.state.issues.values() if prepared.matches(i)])
        self._cache = (key, hits, prepared.warnings)
        return hits, prepared.warnings

    def render(
        self, view: View, issues: list[Json], fields: list[str] | None, default: str, expand: str
    ) -> list[Json]:
        navigable = self.state.navigable()
        log = "changelog" in split_list(expand)
        return [view.issue(i, choose_fields(fields, default, i, navigable), log) for i in issues]

    def search(self, req: Request) -> Reply:
        if self.flavour == "cloud":
            raise ApiError(410, [GONE])
        strict = (req.param("validateQuery") or "strict").lower() in ("strict", "true")
        hits, warnings = self.matching(req.param("jql") or "", strict, bounded=False)
        start = max(0, req.number("startAt", 0))
        limit = min(max(0, req.number("maxResults", 50)), 1000)
        page = hits[start : start + limit]
        expand = ",".join(req.listed("expand") or [])
        body: Json = {
            "expand": "schema,names",
            "startAt": start,
            "maxResults": limit,
            "total": len(hits),
            "issues": self.render(self.view(req), page, req.listed("fields"), "*navigable", expand),
        }
        if warnings:
            body["warningMessages"] = warnings
        return Reply(200, body)

    def search_jql(self, req: Request) -> Reply:
        jql = req.param("jql") or ""
        fields = req.listed("fields")
        ids_only = set(fields or ["id"]) <= {"id", "key"}
        limit = min(max(1, req.number("maxResults", 50)), 5000 if ids_only else 100)
        start = self.decode_token(req.param("nextPageToken"), jql)
        hits, _ = self.matching(jql, strict=True, bounded=True)
        page = hits[start : start + limit]
        expand = ",".join(req.listed("expand") or [])
        body: Json = {"issues": self.render(self.view(req), page, fields, "id", expand)}
        if start + limit < len(hits):
            body["nextPageToken"] = self.encode_token(start + limit, jql)
        body["isLast"] = "nextPageToken" not in body
        return Reply(200, body)

    @staticmethod
    def encode_token(offset: int, jql: str) -> str:
        digest = hashlib.sha1(jql.encode()).hexdigest()[:12]
        return base64.urlsafe_b64encode(json.dumps([offset, digest]).encode()).decode().rstrip("=")

    @staticmethod
    def decode_token(token: str | None, jql: str) -> int:
        if not token:
            return 0
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            offset, digest = json.loads(raw)
        except (ValueError, TypeError, binascii.Error):
            raise ApiError(400, ["The provided next page token is invalid or expired."]) from None
        if digest != hashlib.sha1(jql.encode()).hexdigest()[:12] or not isinstance(offset, int):
            raise ApiError(400, ["The provided next page token is invalid or expired."])
        return offset

    def bulkfetch(self, req: Request) -> Reply:
        body = req.json()
        wanted = body.get("issueIdsOrKeys")
        if not isinstance(wanted, list) or not wanted:
            raise ApiError(400, ["No issue IDs or keys were provided."])
        if len(wanted) > 100:
            raise ApiError(400, ["You can request up to 100 issues at a time."])
        found: list[Json] = []
        for ident in wanted:
            try:
                issue = self.state.get(str(ident))
            except ApiError:
                continue  # Jira leaves out issues that don't exist or can't be seen
            if issue not in found:
                found.append(issue)
        expand = ",".join(split_list(body.get("expand")))
        issues = self.render(self.view(req), found, req.listed("fields"), "*navigable", expand)
        return Reply(200, {"issues": issues, "issueErrors": []})

    # --- one issue -----------------------------------------------------------------------

    def get_issue(self, req: Request) -> Reply:
        issue = self.state.get(req.match["key"])
        expand = req.param("expand") or ""
        return Reply(
            200, self.render(self.view(req), [issue], req.listed("fields"), "*all", expand)[0]
        )

    def create_issue(self, req: Request) -> Reply:
        issue = writes.create(self.state, req.json(), adf=self.view(req).adf)
        url = f"{self.view(req).api}/issue/{issue['id']}"
        return Reply(201, {"id": issue["id"], "key": issue["key"], "self": url})

    def edit_issue(self, req: Request) -> Reply:
        writes.edit(self.state, self.state.get(req.match["key"]), req.json(), self.view(req).adf)
        return Reply(204)

    def get_transitions(self, req: Request) -> Reply:
        issue = self.state.get(req.match["key"])
        view = self.view(req)
        with_fields = "transitions.fields" in split_list(req.param("expand"))
        only = req.param("transitionId")
        out = []
        for tid, status in self.state.transitions(issue):
            if only and only != tid:
                continue
            done = self.state.is_done(status)
            fields: Json = {}
            if done and with_fields:
                fields["resolution"] = {
                    "required": True,
                    "schema": {"type": "resolution", "system": "resolution"},
                    "name": "Resolution",
                    "key": "resolution",
                    "hasDefaultValue": False,
                    "operations": ["set"],
                    "allowedValues": [
                        dict(r, self=f"{view.api}/resolution/{r['id']}") for r in RESOLUTIONS
                    ],
                }
            out.append(
                {
                    "id": tid,
                    "name": status["name"],
                    "to": view.status(status),
                    "hasScreen": done,
                    "isGlobal": True,
                    "isInitial": False,
                    "isAvailable": True,
                    "isConditional": False,
                    "isLooped": False,
                    "fields": fields,
                }
            )
        return Reply(200, {"expand": "transitions", "transitions": out})

    def do_transition(self, req: Request) -> Reply:
        writes.transition(
            self.state, self.state.get(req.match["key"]), req.json(), self.view(req).adf
        )
        return Reply(204)

    def get_comments(self, req: Request) -> Reply:
        issue = self.state.get(req.match["key"])
        start = max(0, req.number("startAt", 0))
        limit = min(max(0, req.number("maxResults", 5000)), 5000)
        page = self.view(req).comments(issue, start, limit)
        if (req.param("orderBy") or "").startswith("-"):
            stored = issue["fields"]["comment"]["comments"]
            newest = list(reversed(stored))[start : start + limit]
            page["comments"] = [self.view(req).comment(issue["id"], c) for c in newest]
        return Reply(200, page)

    def add_comment(self, req: Request) -> Reply:
        issue = self.state.get(req.match["key"])
        adf = self.view(req).adf
        body = writes.comment_body(req.json().get("body"), adf)
        comment = self.state.add_comment(issue, body)
        return Reply(201, self.view(req).comment(issue["id"], comment))

    def assign(self, req: Request) -> Reply:
        issue = self.state.get(req.match["key"])
        user = writes.user_value(self.state, "assignee", req.json())
        self.state.record(issue, {"assignee": user})
        return Reply(204)

    def add_attachments(self, req: Request) -> Reply:
        issue = self.state.get(req.match["key"])
        if not isinstance(req.body, list):
            raise ApiError(415, ["Send the files as multipart/form-data."])
        return Reply(200, jira_attach.add(self.state, issue, req.body, self.view(req).api))


def find_route(
    flavour: Flavour, method: str, path: str
) -> tuple[Route | None, dict[str, str], bool]:
    """The route for a path (after the version), its captures, and whether the path exists."""
    exists = False
    for route in ROUTES:
        m = re.fullmatch(route.pattern, path)
        if m is None or flavour not in route.flavours:
            continue
        exists = True
        if method in route.methods:
            return route, m.groupdict(), True
    return None, {}, exists
