"""A deterministic demo web agency whose support tickets are Jira REST JSON (Cloud v3 / DC v2)."""

from __future__ import annotations

import gc
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any

from . import agency_data as data
from .agency_data import FastRandom, Placeholders

PROJECT_KEY = data.PROJECT_KEY
STATUS_NAMES = data.STATUS_NAMES
SITE_FIELD = "customfield_10101"
CLIENT_FIELD = "customfield_10102"
URGENCY_FIELD = "customfield_10103"
PACKAGE_FIELD = "customfield_10104"
DEFAULT_NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

_STATUS_ID = {name: str(10000 + i) for i, name in enumerate(STATUS_NAMES)}
_PARAGRAPH_SPLIT = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Client:
    """A customer of the agency with its support package and SLA hours."""

    key: str
    name: str
    package: str
    sla_response_hours: int
    sla_resolution_hours: int


@dataclass(frozen=True)
class Site:
    """A website the agency maintains for a client."""

    id: str
    name: str
    client_key: str
    domain: str
    drupal_version: str
    php_version: str


@dataclass(frozen=True)
class Person:
    """A member of the support team, as a Jira user."""

    account_id: str
    username: str
    display_name: str
    email: str
    time_zone: str


@dataclass
class Agency:
    """The demo agency: its clients, sites, people and Jira issues (Cloud v3 shape)."""

    project_key: str
    clients: list[Client]
    sites: list[Site]
    people: list[Person]
    issues: list[dict[str, Any]]
    fields: list[dict[str, Any]]
    statuses: list[dict[str, Any]]


_PEOPLE = tuple(
    Person(data.account_id(u), u, name, f"{u}@{data.EMAIL_DOMAIN}", tz)
    for u, name, tz, _role in data.PEOPLE
)
_PACKAGE_OPTION = {name: str(10400 + i) for i, name in enumerate(data.PACKAGES)}
_ROLES = {u: role for u, _name, _tz, role in data.PEOPLE}
_BY_ACCOUNT = {p.account_id: p for p in _PEOPLE}
_DC_KEYS = {p.username: f"JIRAUSER{10001 + i}" for i, p in enumerate(_PEOPLE)}


def user_json(person: Person, flavour: str) -> dict[str, Any]:
    """Return the person as a Jira user object, flavour "cloud" or "dc"."""
    if flavour == "cloud":
        return {
            "accountId": person.account_id,
            "accountType": "atlassian",
            "displayName": person.display_name,
            "emailAddress": person.email,
            "active": True,
            "timeZone": person.time_zone,
        }
    if flavour == "dc":
        key = _DC_KEYS.get(person.username)
        if key is None:
            digest = int(hashlib.sha1(person.username.encode()).hexdigest()[:8], 16)
            key = f"JIRAUSER{20000 + digest % 80000}"
        return {
            "name": person.username,
            "key": key,
            "displayName": person.display_name,
            "emailAddress": person.email,
            "active": True,
            "timeZone": person.time_zone,
        }
    raise ValueError(f"unknown user flavour {flavour!r}")


def text_to_adf(text: str) -> dict[str, Any]:
    """Return an ADF document with a paragraph per blank-line separated block of text."""
    if "\n" not in text and "\r" not in text:
        para = [{"type": "text", "text": text}] if text.strip() else []
        return {
            "type": "doc",
            "version": 1,
            "content": [{"type": "paragraph", "content": para}] if para else [],
        }
    content: list[dict[str, Any]] = []
    for block in _PARAGRAPH_SPLIT.split(text.replace("\r\n", "\n").strip("\n")):
        if not block.strip():
            continue
        nodes: list[dict[str, Any]] = []
        for i, line in enumerate(block.split("\n")):
            if i:
                nodes.append({"type": "hardBreak"})
            if line:
                nodes.append({"type": "text", "text": line})
        content.append({"type": "paragraph", "content": nodes})
    return {"type": "doc", "version": 1, "content": content}


def adf_to_text(doc: dict[str, Any] | None) -> str:
    """Flatten an ADF document to plain text, block nodes joined by a blank line."""
    if not doc:
        return ""
    blocks = (_block_text(node) for node in doc.get("content") or [])
    return "\n\n".join(b for b in blocks if b)


def _block_text(node: dict[str, Any]) -> str:
    kind = node.get("type")
    children: list[dict[str, Any]] = node.get("content") or []
    if kind in ("bulletList", "orderedList"):
        items = ("\n".join(_block_text(c) for c in item.get("content") or []) for item in children)
        marks = ("- " if kind == "bulletList" else f"{n}. " for n in range(1, len(children) + 1))
        return "\n".join(m + text for m, text in zip(marks, items, strict=True))
    if kind == "rule":
        return "----"
    if kind in ("blockquote", "listItem", "panel", "expand", "layoutSection", "layoutColumn"):
        return "\n\n".join(t for t in (_block_text(c) for c in children) if t)
    return "".join(_inline_text(c) for c in children)


def _inline_text(node: dict[str, Any]) -> str:
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text", ""))
    if kind == "hardBreak":
        return "\n"
    if kind in ("mention", "emoji", "status", "date"):
        attrs = node.get("attrs") or {}
        return str(attrs.get("text") or attrs.get("shortName") or "")
    if kind == "inlineCard":
        return str((node.get("attrs") or {}).get("url", ""))
    return "".join(_inline_text(c) for c in node.get("content") or [])


def to_data_center(issue: dict[str, Any]) -> dict[str, Any]:
    """Return a deep copy of a Cloud v3 issue in Data Center REST v2 shape."""
    out: dict[str, Any] = _dc_value(issue)
    if isinstance(out.get("self"), str):
        out["self"] = out["self"].replace("/rest/api/3/", "/rest/api/2/")
    return out


def _dc_value(value: Any) -> Any:
    if isinstance(value, dict):
        if "accountId" in value:
            return _dc_user(value)
        if value.get("type") == "doc" and "content" in value:
            return adf_to_text(value)
        return {k: _dc_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dc_value(v) for v in value]
    return value


def _dc_user(user: dict[str, Any]) -> dict[str, Any]:
    person = _BY_ACCOUNT.get(user["accountId"])
    if person is None:
        email = str(user.get("emailAddress") or "")
        person = Person(
            user["accountId"],
            email.split("@")[0] or user["accountId"],
            str(user.get("displayName", "")),
            email,
            str(user.get("timeZone", "UTC")),
        )
    dc = user_json(person, "dc")
    dc["active"] = user.get("active", True)
    return dc


def _clients_and_sites(rng: FastRandom) -> tuple[list[Client], list[Site]]:
    clients: list[Client] = []
    sites: list[Site] = []
    versions = [v for v, _php, _w in data.DRUPAL_VERSIONS]
    phps = {v: php for v, php, _w in data.DRUPAL_VERSIONS}
    weights = [w for _v, _php, w in data.DRUPAL_VERSIONS]
    for key, name, package, count in data.CLIENTS:
        response, resolution, _weight = data.PACKAGES[package]
        clients.append(Client(key, name, package, response, resolution))
        for suffix, label in data.SITE_KINDS[:count]:
            drupal = rng.choices(versions, weights)[0]
            sites.append(
                Site(
                    f"{key}-{suffix}",
                    f"{name} {label}",
                    key,
                    f"{suffix}.{key}.example",
                    drupal,
                    rng.pick(phps[drupal]),
                )
            )
    return clients, sites


class _Builder:
    """Builds the issues of one agency from one random generator."""

    def __init__(self, rng: FastRandom, now: int, clients: list[Client], sites: list[Site]) -> None:
        self.rng, self.now, self.sites = rng, now, sites
        self.users = {p.username: user_json(p, "cloud") for p in _PEOPLE}
        self.others = {
            (r, skip): [u for u in _ROLES if _ROLES[u] == r and u != skip]
            for r in ("dev", "senior")
            for skip in (None, *_ROLES)
        }
        self.po = next(u for u in _ROLES if _ROLES[u] == "po")
        self.clients = {c.key: (c, str(10200 + i)) for i, c in enumerate(clients)}
        package = {c.key: c.package for c in clients}
        self.site_cum = list(accumulate(data.PACKAGES[package[s.client_key]][2] for s in sites))
        self.templates = [
            (kind, tag, tuple(accumulate(prio)), summaries, leads)
            for _w, kind, tag, prio, summaries, leads in data.TEMPLATES
        ]
        self.template_cum = list(accumulate(t[0] for t in data.TEMPLATES))
        self.history_id, self.comment_id = 20000, 30000

    def user(self, username: str | None) -> dict[str, Any] | None:
        return None if username is None else dict(self.users[username])

    def other(self, role: str, not_user: str | None = None) -> str:
        return self.rng.pick(self.others[role, not_user])

    def issues(self, tickets: int) -> list[dict[str, Any]]:
        counts = data.status_counts(tickets)
        plan = [
            (self.created(status), status)
            for status, count in zip(STATUS_NAMES, counts, strict=True)
            for _ in range(count)
        ]
        plan.sort(key=lambda p: p[0])
        return [self.issue(n, created, status) for n, (created, status) in enumerate(plan, 1)]

    def created(self, status: str) -> int:
        """Draw a creation time: Done spread over 180 days, open work mostly recent."""
        rng, bucket = self.rng, self.rng.random()
        if status == "Done":
            age = rng.uniform(0.5, 180.0)
        elif status == "To Do":
            low, high = (0, 10) if bucket < 0.5 else (10, 45) if bucket < 0.8 else (45, 180)
            age = rng.uniform(low, high)
        else:
            slow = status in ("Needs Work", "Feedback/Impediment")
            age = min(rng.expovariate(1 / (18 if slow else 7)), 175.0)
        day = (self.now - int(age * data.DAY)) // data.DAY
        if (day + 3) % 7 >= 5 and rng.random() < 0.8:  # weekend: mostly moved to Friday
            day -= (day + 3) % 7 - 4
        office = rng.random() < 0.85
        ms = day * data.DAY + rng.between(
            7 * data.HOUR if office else 0, 18 * data.HOUR if office else data.DAY - 1
        )
        return min(ms, self.now - data.HOUR - rng.between(0, 5 * data.HOUR))

    def walk(self, status: str, issue_type: str) -> list[str]:
        """Return the statuses the issue went through after To Do, ending with `status`."""
        r = self.rng.random
        if status == "To Do":
            return []
        if status == "Needs Work":
            reached = 1 + (r() > 0.3) + (r() > 0.7)  # paused, or sent back by review or QA
            return [*data.MAIN_PATH[:reached], status]
        if status == "Feedback/Impediment":
            return [*(data.MAIN_PATH[:1] if r() < 0.7 else data.MAIN_PATH[:4]), status]
        if issue_type == "Incident" and status == "Done" and r() < 0.5:
            return ["In Progress", "Done"]  # hotfix
        fast, target = issue_type in ("Incident", "Security Update"), data.MAIN_PATH.index(status)
        path: list[str] = []
        for i, step in enumerate(data.MAIN_PATH[: target + 1]):
            if step == "PO Review" and fast and i < target and r() < 0.6:
                continue
            path.append(step)
            if i < target and step in data.DETOURS and r() < data.DETOURS[step][0]:
                path += data.DETOURS[step][1]
        return path

    def mover(self, to: str, previous: str, assignee: str | None) -> str:
        if to == "QA" or (to == "Needs Work" and previous in ("Code Review", "QA")):
            return self.other("senior", assignee)
        if to in ("PO Review", "Ready To Deploy"):
            return self.po
        return assignee or self.other("dev")

    def issue(self, number: int, created: int, status: str) -> dict[str, Any]:
        rng, key, issue_id = self.rng, f"{PROJECT_KEY}-{number}", str(10000 + number)
        site = self.sites[rng.weighted(self.site_cum)]
        client, client_option = self.clients[site.client_key]
        itype, tag, prio_cum, summaries, leads = self.templates[rng.weighted(self.template_cum)]
        ctx = Placeholders(
            rng,
            site=site.id,
            domain=site.domain,
            client=client.name,
            key=key,
            package=client.package,
            resp=str(client.sla_response_hours),
            resol=str(client.sla_resolution_hours),
            drupal=site.drupal_version,
            php=site.php_version,
        )
        summary = rng.pick(summaries).format_map(ctx)
        extras = rng.sample(data.EXTRA_PARAGRAPHS, rng.pick((0, 1, 1, 2)))
        description = "\n\n".join(p.format_map(ctx) for p in (rng.pick(leads), *extras))
        priority = rng.weighted(prio_cum)
        urgency = min(3, max(0, (0, 1, 2, 3, 3)[priority] + rng.pick((-1, 0, 0, 0, 0, 1))))
        assignee = None
        if rng.random() >= data.UNASSIGNED.get(status, 0.05):
            assignee = self.other("dev" if rng.random() < 0.8 else "senior")
        reporter = (
            self.other("senior")
            if itype == "Incident" or rng.random() < 0.25
            else self.po
            if rng.random() < 0.6
            else self.other("dev")
        )
        path = self.walk(status, itype)
        factor = 0.15 if itype == "Incident" else 1.0
        gaps = [rng.expovariate(1 / data.GAP_HOURS[s]) * data.HOUR * factor for s in path]
        if gaps:
            gaps[0] *= data.PICKUP_FACTOR[client.package]
        room = self.now - created - data.MINUTE * (len(gaps) + 1)
        # Squeeze a long history into a random share of the ticket's age, not all of it, so
        # recent tickets do not all end their history in the agency's last minute.
        target = room * (0.3 + 0.65 * rng.random())
        scale = min(1.0, target / sum(gaps)) if sum(gaps) > 0 else 1.0
        moments = list(accumulate((data.MINUTE + int(g * scale) for g in gaps), initial=created))
        histories, previous = [], "To Do"
        for step, moment in zip(path, moments[1:], strict=True):
            self.history_id += 1
            author = self.user(self.mover(step, previous, assignee))
            histories.append(
                {
                    "id": str(self.history_id),
                    "author": author,
                    "created": data.jira_time(moment),
                    "items": [
                        {
                            "field": "status",
                            "fieldtype": "jira",
                            "from": _STATUS_ID[previous],
                            "fromString": previous,
                            "to": _STATUS_ID[step],
                            "toString": step,
                        }
                    ],
                }
            )
            previous = step
        last = updated = moments[-1]
        comments = []
        start = moments[1] if path else created  # work comments come once work has started
        for when, author_name, text in self.comments(ctx, status, path, start, last, assignee):
            self.comment_id += 1
            stamp, updated = data.jira_time(when), max(updated, when)
            comments.append(
                {
                    "id": str(self.comment_id),
                    "author": self.user(author_name),
                    "body": text_to_adf(text),
                    "created": stamp,
                    "updated": stamp,
                }
            )
        done = status == "Done"
        return {
            "id": issue_id,
            "key": key,
            "self": f"{data.BASE_URL}/rest/api/3/issue/{issue_id}",
            "fields": {
                "summary": summary,
                "description": text_to_adf(description),
                "issuetype": {"id": data.ISSUE_TYPES[itype], "name": itype, "subtask": False},
                "priority": {"id": str(priority + 1), "name": data.PRIORITIES[priority]},
                "status": data.status_json(STATUS_NAMES.index(status)),
                "assignee": self.user(assignee),
                "reporter": self.user(reporter),
                "created": data.jira_time(created),
                "updated": data.jira_time(updated),
                "resolutiondate": data.jira_time(last) if done else None,
                "resolution": dict(data.RESOLUTION_DONE) if done else None,
                "labels": sorted((f"site:{site.id}", tag)),
                "project": dict(data.PROJECT),
                SITE_FIELD: site.id,
                CLIENT_FIELD: {"id": client_option, "value": client.name},
                URGENCY_FIELD: {"id": str(10300 + urgency), "value": data.URGENCIES[urgency]},
                PACKAGE_FIELD: {"id": _PACKAGE_OPTION[client.package], "value": client.package},
                "comment": {
                    "comments": comments,
                    "maxResults": len(comments),
                    "total": len(comments),
                    "startAt": 0,
                },
            },
            "changelog": {
                "startAt": 0,
                "maxResults": len(histories),
                "total": len(histories),
                "histories": histories,
            },
        }

    def comments(
        self,
        ctx: Placeholders,
        status: str,
        path: list[str],
        start: int,
        last: int,
        assignee: str | None,
    ) -> list[tuple[int, str, str]]:
        """Return (time, username, text) of 0-4 comments, oldest first."""
        rng, hour = self.rng, data.HOUR
        count = min(rng.weighted((25, 55, 77, 90, 100)), 1 if status == "To Do" else 4)
        latest = max(last, self.now - rng.between(data.MINUTE, 12 * hour))
        end = last if status == "Done" else min(latest, last + int(rng.expovariate(0.1) * hour))
        reason: list[tuple[int, str, str]] = []
        if count and status in ("Feedback/Impediment", "Needs Work"):  # say why, as Triage asks
            count -= 1
            end = when = min(latest, last + rng.between(1000, 10 * data.MINUTE))
            if status == "Feedback/Impediment":
                reason.append((when, assignee or self.other("dev"), data.WAIT_COMMENT))
            elif path[-2] in ("Code Review", "QA"):
                reason.append((when, self.other("senior", assignee), data.SENT_BACK_COMMENT))
            else:
                reason.append((when, assignee or self.other("dev"), data.PAUSED_COMMENT))
        out: list[tuple[int, str, str]] = []
        used: set[str] = set()
        for when in sorted(rng.between(start, end) for _ in range(count)):
            if status == "To Do":
                role, text = rng.pick(data.TODO_COMMENTS)
            else:
                role = ("dev", "senior", "po")[rng.weighted((55, 80, 100))]
                text = rng.pick(data.COMMENTS[role])
            if text in used:
                continue
            used.add(text)
            author = (
                self.po
                if role == "po"
                else (assignee if role == "dev" and assignee else self.other(role))
            )
            out.append((when, author, text))
        return [(when, who, text.format_map(ctx)) for when, who, text in out + reason]


def build_agency(tickets: int = 2000, seed: int = 0, now: datetime | None = None) -> Agency:
    """Build the demo agency with exactly `tickets` issues, deterministic per seed and now."""
    if tickets < 0:
        raise ValueError("tickets must not be negative")
    moment = DEFAULT_NOW if now is None else now
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    rng = FastRandom(seed)
    clients, sites = _clients_and_sites(rng)
    builder = _Builder(rng, (moment - data.EPOCH) // timedelta(milliseconds=1), clients, sites)
    collecting = gc.isenabled()
    gc.disable()  # the issues hold no cycles; the collector would triple the build time
    try:
        issues = builder.issues(tickets)
    finally:
        if collecting:
            gc.enable()
    return Agency(
        project_key=PROJECT_KEY,
        clients=clients,
        sites=sites,
        people=list(_PEOPLE),
        issues=issues,
        fields=data.fields_json(),
        statuses=[data.status_json(i) for i in range(len(STATUS_NAMES))],
    )
