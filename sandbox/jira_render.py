"""How the sandbox Jira shows what it stores (Cloud-shape issues) to a Cloud or Data Center client.

Cloud answers REST v3 with Atlassian Document Format (ADF) bodies and REST v2 with plain
strings; its users carry ``accountId``. Data Center answers REST v2 only, with plain strings
and users that carry ``name`` and ``key``. Timestamps are shown in the API account's time
zone, with their offset, as Jira does.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Any, Literal

from triage.sandbox.jql_eval import parse_timestamp

Flavour = Literal["cloud", "dc"]
Json = dict[str, Any]

ISSUE_EXPAND = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"
CATEGORY_COLOURS = {"new": "blue-gray", "indeterminate": "yellow", "done": "green"}
PEOPLE_FIELDS = ("assignee", "reporter", "creator")
TIME_FIELDS = ("created", "updated", "resolutiondate", "lastViewed", "statuscategorychangedate")


@dataclass(frozen=True)
class Account:
    """A Jira user as the sandbox knows it, whichever flavour shows it."""

    account_id: str
    username: str
    display_name: str
    email: str
    time_zone: str
    key: str

    @classmethod
    def of(cls, person: Any, index: int) -> Account:
        """Read a Person-like object or a dict with the same names (``key`` is optional)."""

        def get(name: str, default: str = "") -> str:
            value = person.get(name) if isinstance(person, Mapping) else getattr(person, name, None)
            return str(value) if value is not None else default

        username = get("username") or get("email").split("@")[0]
        return cls(
            account_id=get("account_id"),
            username=username,
            display_name=get("display_name", username),
            email=get("email"),
            time_zone=get("time_zone", "UTC"),
            key=get("key", f"JIRAUSER{10001 + index}"),
        )

    def ids(self) -> frozenset[str]:
        """Every string a client may name this user by."""
        names = (self.account_id, self.username, self.email, self.key, self.display_name)
        return frozenset(n.lower() for n in names if n)


def jira_time(dt: datetime, tz: tzinfo) -> str:
    """Jira's timestamp format, with milliseconds and offset: ``2026-11-27T10:15:30.000+0300``."""
    local = (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).astimezone(tz)
    return (
        local.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{local.microsecond // 1000:03d}"
        + local.strftime("%z")
    )


def retime(text: Any, tz: tzinfo) -> Any:
    """A stored timestamp shown in ``tz``; anything else unchanged."""
    return jira_time(parse_timestamp(text), tz) if isinstance(text, str) and text else text


def text_to_adf(text: str) -> Json:
    """Plain text as an ADF document: blank lines split paragraphs, newlines become hard breaks."""
    content: list[Json] = []
    for block in re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip("\n")):
        if not block.strip():
            continue
        nodes: list[Json] = []
        for i, line in enumerate(block.split("\n")):
            if i:
                nodes.append({"type": "hardBreak"})
            if line:
                nodes.append({"type": "text", "text": line})
        content.append({"type": "paragraph", "content": nodes})
    return {"type": "doc", "version": 1, "content": content}


def adf_to_text(doc: Any) -> str:
    """The plain text of an ADF document (strings pass through)."""
    if isinstance(doc, str):
        return doc
    if not isinstance(doc, dict):
        return ""
    kind = doc.get("type")
    if kind == "text":
        return str(doc.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    inner = [adf_to_text(c) for c in doc.get("content") or []]
    if kind in ("doc", "bulletList", "orderedList", "blockquote", "listItem", "table", "tableRow"):
        return "\n\n".join(inner) if kind == "doc" else "\n".join(inner)
    return "".join(inner)


def is_adf(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") == "doc" and "content" in value


@dataclass
class View:
    """Who is asking and how to answer: flavour, REST version, base URL and time zone."""

    flavour: Flavour
    version: str
    base: str
    tz: tzinfo
    people: Mapping[str, Account] = field(default_factory=dict)  # by account id
    statuses: Mapping[str, Json] = field(default_factory=dict)  # by id

    @property
    def api(self) -> str:
        return f"{self.base}/rest/api/{self.version}"

    @property
    def adf(self) -> bool:
        return self.flavour == "cloud" and self.version == "3"

    def at(self, version: str) -> View:
        return replace(self, version=version)

    def body(self, stored: Any) -> Any:
        """A stored (ADF) body as this client expects it."""
        if stored is None or self.adf:
            return copy.deepcopy(stored)
        return adf_to_text(stored)

    def user(self, who: Any) -> Json | None:
        """A user as this flavour shows it: Cloud by accountId, Data Center by name and key."""
        if who is None:
            return None
        if isinstance(who, Account):
            acc = who
        else:
            acc = self.people.get(str(who.get("accountId"))) or Account(
                account_id=str(who.get("accountId", "")),
                username=str(who.get("name") or str(who.get("emailAddress", "")).split("@")[0]),
                display_name=str(who.get("displayName", "")),
                email=str(who.get("emailAddress", "")),
                time_zone=str(who.get("timeZone", "UTC")),
                key=str(who.get("key", "")),
            )
        avatar = f"{self.base}/secure/useravatar?ownerId={acc.key or acc.account_id}"
        avatars = {size: f"{avatar}&size={size}" for size in ("48x48", "24x24", "16x16", "32x32")}
        if self.flavour == "cloud":
            return {
                "self": f"{self.api}/user?accountId={acc.account_id}",
                "accountId": acc.account_id,
                "emailAddress": acc.email,
                "avatarUrls": avatars,
                "displayName": acc.display_name,
                "active": True,
                "timeZone": acc.time_zone,
                "accountType": "atlassian",
            }
        return {
            "self": f"{self.api}/user?username={acc.username}",
            "name": acc.username,
            "key": acc.key,
            "emailAddress": acc.email,
            "avatarUrls": avatars,
            "displayName": acc.display_name,
            "active": True,
            "timeZone": acc.time_zone,
        }

    def status(self, stored: Json) -> Json:
        """A status with its category, as /status and issue fields show it."""
        base = copy.deepcopy(self.statuses.get(str(stored.get("id")), stored))
        base.setdefault("description", "")
        base.setdefault("iconUrl", f"{self.base}/images/icons/statuses/generic.png")
        base.setdefault("untranslatedName", base.get("name"))
        base["self"] = f"{self.api}/status/{base['id']}"
        cat = base.get("statusCategory")
        if isinstance(cat, dict):
            cat.setdefault("colorName", CATEGORY_COLOURS.get(str(cat.get("key")), "medium-gray"))
            cat["self"] = f"{self.api}/statuscategory/{cat.get('id')}"
        return base

    def comment(self, issue_id: str, stored: Json) -> Json:
        out: Json = {
            "self": f"{self.api}/issue/{issue_id}/comment/{stored['id']}",
            "id": str(stored["id"]),
            "author": self.user(stored.get("author")),
            "body": self.body(stored.get("body")),
            "updateAuthor": self.user(stored.get("updateAuthor") or stored.get("author")),
            "created": retime(stored.get("created"), self.tz),
            "updated": retime(stored.get("updated") or stored.get("created"), self.tz),
        }
        if self.flavour == "cloud":
            out["jsdPublic"] = True
        return out

    def comments(self, issue: Json, start: int = 0, limit: int | None = None) -> Json:
        stored = (issue["fields"].get("comment") or {}).get("comments", [])
        page = stored[start:] if limit is None else stored[start : start + limit]
        return {
            "comments": [self.comment(issue["id"], c) for c in page],
            "self": f"{self.api}/issue/{issue['id']}/comment",
            "maxResults": len(stored) if limit is None else limit,
            "total": len(stored),
            "startAt": start,
        }

    def change_item(self, item: Json) -> Json:
        out = copy.deepcopy(item)
        if out.get("field") in PEOPLE_FIELDS and self.flavour == "dc":
            for end in ("from", "to"):
                acc = self.people.get(str(out.get(end)))
                out[end] = acc.key if acc else out.get(end)
        if self.flavour == "cloud" and out.get("fieldtype") == "jira":
            out.setdefault("fieldId", out.get("field"))
        elif self.flavour == "dc":
            out.pop("fieldId", None)
        return out

    def changelog(self, issue: Json) -> Json:
        histories = (issue.get("changelog") or {}).get("histories", [])
        return {
            "startAt": 0,
            "maxResults": len(histories),
            "total": len(histories),
            "histories": [
                {
                    "id": str(h["id"]),
                    "author": self.user(h.get("author")),
                    "created": retime(h.get("created"), self.tz),
                    "items": [self.change_item(i) for i in h.get("items", [])],
                }
                for h in histories
            ],
        }

    def field_value(self, issue: Json, fid: str) -> Any:
        value = issue["fields"].get(fid)
        if fid in PEOPLE_FIELDS:
            return self.user(value)
        if fid == "description" or (fid == "environment" and value is not None):
            return self.body(value)
        if fid == "comment":
            return self.comments(issue)
        if fid in TIME_FIELDS:
            return retime(value, self.tz)
        if fid == "status" and isinstance(value, dict):
            return self.status(value)
        return copy.deepcopy(value)

    def issue(self, issue: Json, fields: Iterable[str], changelog: bool = False) -> Json:
        """An issue with the chosen fields (always id, key and self), and its changelog if asked."""
        out: Json = {
            "expand": ISSUE_EXPAND,
            "id": issue["id"],
            "self": f"{self.api}/issue/{issue['id']}",
            "key": issue["key"],
        }
        chosen = list(fields)
        if chosen:
            out["fields"] = {fid: self.field_value(issue, fid) for fid in chosen}
        if changelog:
            out["changelog"] = self.changelog(issue)
        return out


def choose_fields(
    spec: Iterable[str] | None,
    default: str,
    issue: Json,
    navigable: Mapping[str, bool],
) -> list[str]:
    """The field ids a ``fields`` parameter selects for this issue (``id``/``key`` select none)."""
    tokens = [t.strip() for part in (spec or [default]) for t in str(part).split(",") if t.strip()]
    present = list(issue["fields"])
    for always in ("assignee", "resolution", "resolutiondate"):
        if always not in present:
            present.append(always)
    chosen: list[str] = []
    for token in tokens:
        if token == "*all":
            chosen += present
        elif token == "*navigable":
            chosen += [f for f in present if navigable.get(f, f != "comment")]
        elif not token.startswith("-") and token not in ("id", "key"):
            if token in issue["fields"] or token in navigable:
                chosen.append(token)
    excluded = {t[1:] for t in tokens if t.startswith("-")}
    return [f for i, f in enumerate(chosen) if f not in excluded and f not in chosen[:i]]


def split_list(values: Iterable[Any] | str | None) -> list[str]:
    """A comma list or repeated parameter as one list of strings."""
    if values is None:
        return []
    items = [values] if isinstance(values, str) else list(values)
    return [t.strip() for v in items for t in str(v).split(",") if t.strip()]
