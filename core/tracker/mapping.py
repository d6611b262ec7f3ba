"""Jira issue JSON (Cloud v3 or Data Center v2) → rows of the cache; used by sync and demo alike."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from triage.core.config import JiraFields
from triage.core.text import clean_block, clean_line
from triage.core.tracker.service_desk import service_desk_cycles, service_desk_sla_fields
from triage.storage.columns import BoardColumn

JIRA_TIME = "%Y-%m-%dT%H:%M:%S.%f%z"

PRIORITY_RANK = {
    "highest": 1,
    "blocker": 1,
    "critical": 1,
    "high": 2,
    "major": 2,
    "medium": 3,
    "low": 4,
    "minor": 4,
    "lowest": 5,
    "trivial": 5,
}

SITE_LABEL = "site:"
"""A label `site:<id>` names a ticket's site (when no site field is configured)."""


def site_label(site_id: str) -> str:
    """The Jira label that names a site (Jira labels take no spaces)."""
    return SITE_LABEL + "-".join(site_id.split())


#: The fields a search asks Jira for (plus the resolved custom fields).
BASE_FIELDS = (
    "summary",
    "description",
    "issuetype",
    "priority",
    "status",
    "assignee",
    "reporter",
    "created",
    "updated",
    "resolutiondate",
    "labels",
    "project",
    "comment",
)


def parse_time(text: str) -> datetime:
    """A Jira timestamp ("2026-11-20T10:15:30.000+0000") as an aware datetime."""
    try:
        moment = datetime.fromisoformat(text)  # a hundred times faster than strptime
    except ValueError:
        return datetime.strptime(text, JIRA_TIME)
    return moment if moment.tzinfo is not None else datetime.strptime(text, JIRA_TIME)


def adf_text(node: Any) -> str:
    """Plain text of a description or comment body: a string (Data Center) or ADF (Cloud)."""
    if node is None:
        return ""
    if isinstance(node, str):
        return clean_block(node)
    blocks = [_inline_text(child) for child in node.get("content", [])]
    return clean_block("\n\n".join(block for block in blocks if block))


def _inline_text(node: Mapping[str, Any]) -> str:
    if node.get("type") == "text":
        return str(node.get("text", ""))
    if node.get("type") == "hardBreak":
        return "\n"
    parts = [_inline_text(child) for child in node.get("content", [])]
    joiner = "\n" if node.get("type") in ("bulletList", "orderedList") else ""
    return joiner.join(parts)


def user_name(user: Mapping[str, Any] | None) -> str | None:
    """The display name of a Jira user object."""
    if not user:
        return None
    return clean_line(str(user.get("displayName") or user.get("name") or "")) or None


def user_id(user: Mapping[str, Any] | None) -> str | None:
    """The id Jira takes to name a user: accountId on Cloud, name on Data Center."""
    if not user:
        return None
    found = user.get("accountId") or user.get("name")
    return clean_line(str(found)) if found else None


@dataclass(frozen=True)
class FieldIds:
    """Custom field ids resolved from the names in the configuration."""

    site: str | None = None
    client: str | None = None
    urgency: str | None = None
    severity: str | None = None
    unresolved: tuple[str, ...] = ()
    package: str | None = None
    service_desk_sla: tuple[str, ...] = ()
    """Jira Service Management SLA fields, found by their type, not configured."""

    def ids(self) -> list[str]:
        """The resolved ids, to name in a search."""
        named = (self.site, self.client, self.urgency, self.severity, self.package)
        return [i for i in named if i] + list(self.service_desk_sla)


def resolve_fields(field_list: Iterable[Mapping[str, Any]], wanted: JiraFields) -> FieldIds:
    """Resolve configured field names (or ids) against Jira's /field list."""
    by_id = {str(f["id"]): str(f["id"]) for f in field_list}
    by_name = {str(f.get("name", "")).casefold(): str(f["id"]) for f in field_list}
    found: dict[str, str | None] = {}
    unresolved: list[str] = []
    for role in ("site", "client", "urgency", "severity"):
        name = getattr(wanted, role)
        if not name:
            found[role] = None
            continue
        found[role] = by_id.get(name) or by_name.get(name.casefold())
        if found[role] is None:
            unresolved.append(f"{role} = {name!r}")
    # Optional: without it a ticket's package comes from its site or the queue's default.
    package = wanted.package and (
        by_id.get(wanted.package) or by_name.get(wanted.package.casefold())
    )
    return FieldIds(
        **found,
        unresolved=tuple(unresolved),
        package=package or None,
        service_desk_sla=service_desk_sla_fields(field_list),
    )


@dataclass
class StatusMapper:
    """Jira status name → board column: the config's map, else the column of the same name."""

    status_map: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._map = {c.value.casefold(): c for c in BoardColumn}
        for status, column in self.status_map.items():
            self._map[status.casefold()] = BoardColumn.parse(column)

    def column(self, status: str) -> BoardColumn | None:
        """The column of a Jira status, or None when it maps nowhere."""
        return self._map.get(status.casefold())


@dataclass
class MappedIssue:
    """One Jira issue as cache rows: the ticket, its comments and its status changes."""

    ticket: dict[str, Any]
    comments: list[dict[str, Any]]
    changes: list[dict[str, Any]]


def _option(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, Mapping):
        return clean_line(str(value.get("value") or value.get("name") or "")) or None
    if isinstance(value, list):
        return ", ".join(filter(None, (_option(v) for v in value))) or None
    return clean_line(str(value))


def _line_or_none(value: Any) -> str | None:
    return None if value is None else clean_line(str(value))


def _site(fields: Mapping[str, Any], ids: FieldIds) -> str | None:
    if ids.site and (site := _option(fields.get(ids.site))):
        return site
    for label in fields.get("labels") or []:
        if (text := clean_line(str(label))).startswith(SITE_LABEL):
            return text[len(SITE_LABEL) :]
    return None


def map_issue(
    issue: Mapping[str, Any], ids: FieldIds, statuses: StatusMapper, synced_at: datetime
) -> MappedIssue:
    """Map one issue of a search or issue response to cache rows."""
    key = clean_line(str(issue["key"]))
    fields = issue.get("fields") or {}
    priority = _option(fields.get("priority")) or ""
    severity = (_option(fields.get(ids.severity)) if ids.severity else None) or priority
    status = _option(fields.get("status")) or ""
    resolved = fields.get("resolutiondate")
    ticket = {
        "key": key,
        "jira_id": clean_line(str(issue.get("id", ""))),
        "project": _option((fields.get("project") or {}).get("key")) or key.split("-")[0],
        "summary": clean_line(str(fields.get("summary") or "")),
        "description": adf_text(fields.get("description")),
        "issue_type": _option(fields.get("issuetype")) or "",
        "severity": severity,
        "severity_rank": _severity_rank(severity),
        "urgency": _option(fields.get(ids.urgency)) if ids.urgency else None,
        "jira_status": status,
        "column": statuses.column(status),
        "assignee": user_name(fields.get("assignee")),
        "assignee_id": user_id(fields.get("assignee")),
        "reporter": user_name(fields.get("reporter")),
        "site": _site(fields, ids),
        "client": _option(fields.get(ids.client)) if ids.client else None,
        "labels": [clean_line(str(label)) for label in fields.get("labels") or []],
        "created": parse_time(fields["created"]) if fields.get("created") else synced_at,
        "updated": parse_time(fields["updated"]) if fields.get("updated") else synced_at,
        "resolved": parse_time(resolved) if resolved else None,
        "package": _option(fields.get(ids.package)) if ids.package else None,
        "service_desk_sla": service_desk_cycles(fields, ids.service_desk_sla),
        "synced_at": synced_at,
    }
    return MappedIssue(ticket, _comments(key, fields), _changes(key, issue))


def _severity_rank(severity: str) -> int:
    text = severity.casefold().strip()
    if text[:1] == "s" and text[1:2].isdigit():
        return min(int(text[1]), 5)
    # Longest names first, so "lowest" is not taken for "low".
    for word in sorted(PRIORITY_RANK, key=len, reverse=True):
        if text.startswith(word):
            return PRIORITY_RANK[word]
    return 3


def _comments(key: str, fields: Mapping[str, Any]) -> list[dict[str, Any]]:
    block = fields.get("comment") or {}
    return [
        {
            "ticket_key": key,
            "remote_id": clean_line(str(c["id"])),
            "author": user_name(c.get("author")) or "",
            "body": adf_text(c.get("body")),
            "created": parse_time(c["created"]),
        }
        for c in block.get("comments", [])
    ]


def _changes(key: str, issue: Mapping[str, Any]) -> list[dict[str, Any]]:
    histories = (issue.get("changelog") or {}).get("histories", [])
    rows = []
    for history in histories:
        for index, item in enumerate(history.get("items", [])):
            if item.get("field") != "status":
                continue
            rows.append(
                {
                    "ticket_key": key,
                    "remote_id": f"{history['id']}.{index}",
                    "from_status": _line_or_none(item.get("fromString")),
                    "to_status": clean_line(str(item.get("toString") or "")),
                    "author": user_name(history.get("author")) or "",
                    "at": parse_time(history["created"]),
                    "source": "jira",
                }
            )
    return rows
