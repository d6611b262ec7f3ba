"""The sandbox Jira's records: Cloud-shape issues, people, statuses and fields, behind one lock.

Callers hold ``state.lock`` around a read-and-render or a change. Every change goes through
``record`` (fields, one changelog entry, ``updated``) or ``add_comment``; the rules for what a
client may send live in ``jira_writes``.
"""

from __future__ import annotations

import copy
import gc
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from triage.sandbox.jira_render import Account, Flavour, Json, adf_to_text, is_adf, text_to_adf
from triage.sandbox.jql_eval import JqlContext

NO_ISSUE = "Issue does not exist or you do not have permission to see it."
RESOLUTIONS: list[Json] = [
    {"id": "10000", "name": "Done", "description": "Work has been completed on this issue."},
    {"id": "10001", "name": "Won't Do", "description": "This issue won't be actioned."},
    {"id": "10002", "name": "Duplicate", "description": "The problem is a duplicate."},
    {"id": "10003", "name": "Cannot Reproduce", "description": "The problem can't be reproduced."},
]
PRIORITIES: list[Json] = [
    {"id": str(i + 1), "name": name}
    for i, name in enumerate(("Highest", "High", "Medium", "Low", "Lowest"))
]
ISSUE_TYPES: list[Json] = [  # the demo agency's ids; types seen on the issues take precedence
    {"id": tid, "name": name, "subtask": False}
    for name, tid in (
        ("Bug", "10002"),
        ("Task", "10003"),
        ("Story", "10004"),
        ("Incident", "10005"),
        ("Security Update", "10006"),
    )
]


class ApiError(Exception):
    """An answer other than success, in Jira's error body shape."""

    def __init__(
        self,
        status: int,
        messages: Iterable[str] = (),
        errors: Mapping[str, str] | None = None,
    ) -> None:
        self.status = status
        self.messages = list(messages)
        self.errors = dict(errors or {})
        super().__init__(f"{status}: {self.messages} {self.errors}")

    def body(self) -> Json:
        return {"errorMessages": self.messages, "errors": self.errors}


def utc_now() -> datetime:
    return datetime.now(UTC)


def stamp(dt: datetime) -> str:
    """A stored timestamp: UTC, milliseconds, ``+0000``."""
    utc = (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def pick(catalog: Iterable[Json], ref: Any) -> Json | None:
    """The catalog entry a ``{"id"}`` or ``{"name"}`` reference names."""
    if not isinstance(ref, dict):
        return None
    for entry in catalog:
        if ("id" in ref and str(ref["id"]) == entry["id"]) or (
            "name" in ref and str(ref["name"]).lower() == str(entry["name"]).lower()
        ):
            return copy.deepcopy(entry)
    return None


def _own_copy(issue: Json) -> Json:
    """A copy of every container the state changes in place; field values are only replaced.

    Copying 20,000 issues this way takes milliseconds where a deep copy takes seconds.
    """
    fields = dict(issue["fields"])
    if isinstance(fields.get("comment"), dict):
        block = fields["comment"] = dict(fields["comment"])
        block["comments"] = list(block.get("comments", []))
    log = dict(issue.get("changelog") or {"startAt": 0, "histories": []})
    log["histories"] = list(log.get("histories", []))
    return {"id": str(issue["id"]), "key": str(issue["key"]), "fields": fields, "changelog": log}


def _max_number(values: Iterable[Any], floor: int) -> int:
    return max([floor, *(int(v) for v in values if str(v).isdigit())])


class JiraState:
    """Issues, people, statuses and fields of one sandbox Jira."""

    def __init__(
        self,
        *,
        issues: list[Json],
        fields: list[Json],
        statuses: list[Json],
        people: list[Account],
        project_key: str,
        me: Account,
        tz: tzinfo,
        flavour: Flavour,
    ) -> None:
        self.lock = threading.RLock()
        self.version = 0  # bumped by every change, so searches can reuse a sorted result
        self.clock: Callable[[], datetime] = utc_now
        self.flavour = flavour
        self.tz = tz
        self.me = me
        self.fields: list[Json] = json.loads(json.dumps(fields))
        self.statuses: list[Json] = json.loads(json.dumps(statuses))
        self.people = {p.account_id: p for p in people}
        self.people[me.account_id] = me
        self.issues: dict[str, Json] = {}
        collecting = gc.isenabled()
        gc.disable()  # the copies hold no cycles; collections over 20,000 issues take seconds
        try:
            for given in issues:
                issue = _own_copy(given)
                self.issues[issue["key"].upper()] = issue
        finally:
            if collecting:
                gc.enable()
        self.by_id = {i["id"]: key for key, i in self.issues.items()}
        self.projects: dict[str, Json] = {}
        types = {t["name"]: t for t in ISSUE_TYPES}
        for issue in self.issues.values():
            project = issue["fields"].get("project")
            if project and project["key"].upper() not in self.projects:
                self.projects[project["key"].upper()] = copy.deepcopy(project)
            if issuetype := issue["fields"].get("issuetype"):
                types[issuetype["name"]] = issuetype
        self.projects.setdefault(
            project_key.upper(),
            {"id": str(10000 + len(self.projects)), "key": project_key, "name": project_key},
        )
        self.issue_types: list[Json] = list(types.values())
        comments = [c["id"] for i in self.issues.values() for c in self.comments(i)]
        histories = [h["id"] for i in self.issues.values() for h in self.histories(i)]
        self._next_issue = _max_number(self.by_id, 10000) + 1
        self._next_comment = _max_number(comments, 10000) + 1
        self._next_history = _max_number(histories, 10000) + 1

    # --- reading ---------------------------------------------------------------------------

    @staticmethod
    def comments(issue: Json) -> list[Json]:
        block: Json = issue["fields"].setdefault(
            "comment", {"comments": [], "maxResults": 0, "total": 0, "startAt": 0}
        )
        comments: list[Json] = block.setdefault("comments", [])
        return comments

    @staticmethod
    def histories(issue: Json) -> list[Json]:
        log: Json = issue.setdefault("changelog", {"startAt": 0, "histories": []})
        histories: list[Json] = log.setdefault("histories", [])
        return histories

    def get(self, id_or_key: str) -> Json:
        """The stored issue with this key or id, or a 404."""
        key = self.by_id.get(id_or_key, id_or_key.upper())
        issue = self.issues.get(key)
        if issue is None:
            raise ApiError(404, [NO_ISSUE])
        return issue

    def find_user(self, ident: str | None) -> Account | None:
        """A person by account id, username, email, key or display name."""
        low = (ident or "").lower()
        return next((p for p in self.people.values() if low and low in p.ids()), None)

    @staticmethod
    def user_ref(acc: Account) -> Json:
        """A user as stored on issues (Cloud shape)."""
        return {
            "accountId": acc.account_id,
            "accountType": "atlassian",
            "displayName": acc.display_name,
            "emailAddress": acc.email,
            "active": True,
            "timeZone": acc.time_zone,
        }

    def navigable(self) -> dict[str, bool]:
        """Which fields ``*navigable`` selects; Jira leaves comments out."""
        flags = {str(f["id"]): bool(f.get("navigable", True)) for f in self.fields}
        flags["comment"] = False
        return flags

    def jql_context(self) -> JqlContext:
        aliases = {
            str(name).lower(): str(f["id"])
            for f in self.fields
            if str(f["id"]).startswith("customfield_")
            for name in [f["id"], f.get("name"), *f.get("clauseNames", [])]
            if name
        }
        statuses = {str(s[k]).lower() for s in self.statuses for k in ("id", "name")}
        projects = {
            str(p[k]).lower() for p in self.projects.values() for k in ("id", "key", "name")
        }
        return JqlContext(
            tz=self.tz,
            now=self.clock(),
            current_user=self.me.ids(),
            aliases=aliases,
            known={
                "project": frozenset(projects),
                "status": frozenset(statuses),
                "key": frozenset(k.lower() for k in self.issues),
            },
            status_order={str(s["id"]): i for i, s in enumerate(self.statuses)},
            text_fields=frozenset(
                str(f["id"])
                for f in self.fields
                if f.get("custom") and (f.get("schema") or {}).get("type") == "string"
            ),
        )

    def transitions(self, issue: Json) -> list[tuple[str, Json]]:
        """(transition id, target status) for every status but the current one."""
        current = str(issue["fields"]["status"]["id"])
        return [
            (str(10 * (i + 1) + 1), s)
            for i, s in enumerate(self.statuses)
            if str(s["id"]) != current
        ]

    @staticmethod
    def is_done(status: Json) -> bool:
        return str((status.get("statusCategory") or {}).get("key")) == "done"

    # --- changing --------------------------------------------------------------------------

    def record(
        self,
        issue: Json,
        changes: Mapping[str, Any],
        at: datetime | None = None,
        quiet: Iterable[str] = (),
        touch: bool = False,
    ) -> None:
        """Set fields, log them in one changelog entry (but ``quiet`` ones), bump ``updated``."""
        now = stamp(at or self.clock())
        items = []
        changed = touch
        for fid, new in changes.items():
            old = issue["fields"].get(fid)
            same_ref = isinstance(old, dict) and isinstance(new, dict) and "id" in new
            if old == new or (same_ref and old.get("id") == new.get("id")):
                continue
            changed = True
            if fid not in quiet:
                items.append(self._item(fid, old, new))
            issue["fields"][fid] = new
        if items:
            self.histories(issue).append(
                {
                    "id": str(self._next_history),
                    "author": self.user_ref(self.me),
                    "created": now,
                    "items": items,
                }
            )
            self._next_history += 1
            log = issue["changelog"]
            log["maxResults"] = log["total"] = len(log["histories"])
        if changed:
            issue["fields"]["updated"] = now
            self.version += 1

    def _item(self, fid: str, old: Any, new: Any) -> Json:
        """A changelog item as Jira writes it: ids in from/to, display text in the strings."""
        custom = fid.startswith("customfield_")
        definition = next((f for f in self.fields if f.get("id") == fid), {})
        item: Json = {
            "field": definition.get("name", fid) if custom else fid,
            "fieldtype": "custom" if custom else "jira",
        }
        if custom:
            item["fieldId"] = fid

        def ref(value: Any) -> tuple[str | None, str | None]:
            if value is None or value == []:
                return None, None
            if isinstance(value, dict) and "accountId" in value:
                return str(value["accountId"]), str(value.get("displayName"))
            if is_adf(value):
                return None, adf_to_text(value)
            if isinstance(value, dict):
                return value.get("id"), str(value.get("name", value.get("value", "")))
            if isinstance(value, list):
                return None, " ".join(map(str, value))
            return None, str(value)

        item["from"], item["fromString"] = ref(old)
        item["to"], item["toString"] = ref(new)
        return item

    def add_comment(self, issue: Json, body: Json, at: datetime | None = None) -> Json:
        """Append a comment (stored ADF body) by the API account; bumps ``updated``."""
        now = stamp(at or self.clock())
        me = self.user_ref(self.me)
        comment = {
            "id": str(self._next_comment),
            "author": me,
            "body": body,
            "updateAuthor": me,
            "created": now,
            "updated": now,
        }
        self._next_comment += 1
        comments = self.comments(issue)
        comments.append(comment)
        issue["fields"]["comment"].update(maxResults=len(comments), total=len(comments))
        issue["fields"]["updated"] = now
        self.version += 1
        return comment

    def move(
        self, issue: Json, target: Json, resolution: Json | None, at: datetime | None = None
    ) -> None:
        """Set the status (and resolution) as a transition does, with one changelog entry."""
        when = at or self.clock()
        fields = issue["fields"]
        changes: Json = {"status": copy.deepcopy(target), "resolution": resolution}
        if (resolution is None) != (fields.get("resolution") is None):
            changes["resolutiondate"] = stamp(when) if resolution else None
        old_category = (fields.get("status") or {}).get("statusCategory")
        if "statuscategorychangedate" in fields and old_category != target.get("statusCategory"):
            changes["statuscategorychangedate"] = stamp(when)
        self.record(issue, changes, when, quiet=("resolutiondate", "statuscategorychangedate"))

    def new_issue(self, project: Json, values: Json) -> Json:
        """Store a new issue in the first status, reported by the API account."""
        now = stamp(self.clock())
        prefix = project["key"].upper()
        numbers = (k.split("-")[1] for k in self.issues if k.split("-")[0] == prefix)
        issue_id = str(self._next_issue)
        self._next_issue += 1
        fields: Json = {
            "summary": None,
            "description": None,
            "issuetype": None,
            "priority": pick(PRIORITIES, {"name": "Medium"}),
            "status": copy.deepcopy(self.statuses[0]),
            "assignee": None,
            "reporter": self.user_ref(self.me),
            "created": now,
            "updated": now,
            "resolutiondate": None,
            "resolution": None,
            "labels": [],
            "project": copy.deepcopy(project),
        }
        fields.update({f["id"]: None for f in self.fields if f["id"].startswith("customfield_")})
        fields.update(values)
        fields["comment"] = {"comments": [], "maxResults": 0, "total": 0, "startAt": 0}
        issue: Json = {
            "id": issue_id,
            "key": f"{project['key']}-{1 + _max_number(numbers, 0)}",
            "fields": fields,
            "changelog": {"startAt": 0, "maxResults": 0, "total": 0, "histories": []},
        }
        self.issues[issue["key"].upper()] = issue
        self.by_id[issue_id] = issue["key"].upper()
        self.version += 1
        return issue

    def delete(self, key: str) -> None:
        issue = self.get(key)
        del self.issues[issue["key"].upper()]
        del self.by_id[issue["id"]]
        self.version += 1

    def control_edit(self, key: str, at: datetime | None, values: Mapping[str, Any]) -> None:
        """A change made "in Jira" by a test: names for status, people and catalog fields."""
        issue = self.get(key)
        when = at or self.clock()
        changes: Json = {}
        for name, value in values.items():
            if name == "status":
                wanted = str(value).lower()
                target = next(
                    (s for s in self.statuses if wanted in (str(s["name"]).lower(), s["id"])),
                    None,
                )
                if target is None:
                    raise ValueError(f"no status {value!r}")
                resolution = pick(RESOLUTIONS, {"name": values.get("resolution") or "Done"})
                self.move(issue, target, resolution if self.is_done(target) else None, when)
            elif name in ("assignee", "reporter"):
                acc = self.find_user(value) if isinstance(value, str) else None
                if value is not None and acc is None:
                    raise ValueError(f"no user {value!r}")
                changes[name] = self.user_ref(acc) if acc else None
            elif name in ("description", "environment") and isinstance(value, str):
                changes[name] = text_to_adf(value)
            elif name in ("priority", "issuetype", "resolution") and isinstance(value, str):
                catalog = {"priority": PRIORITIES, "issuetype": self.issue_types}.get(name)
                changes[name] = pick(catalog or RESOLUTIONS, {"name": value})
            elif name != "resolution" or "status" not in values:
                changes[name] = value
        self.record(issue, changes, when, touch=True)
