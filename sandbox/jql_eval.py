"""Runs a parsed JQL query on Cloud-shape issue dicts: filter, sort, and Jira's validation.

Like Jira, date literals are read in the account's time zone, and date fields are compared
at minute precision (Jira's search index keeps minutes, not seconds), so an issue updated at
07:05:40 matches ``updated >= "07:05"`` and not ``updated > "07:05"``. Values that name no
project, status or issue are errors (or warnings when not strict), as in Jira.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from triage.sandbox.jql import Bool, Clause, JqlError, Node, Query, Value, parse

__all__ = ["JqlContext", "Prepared", "parse_timestamp", "prepare"]

_DATE_HELP = (
    "Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', "
    "'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
)


def parse_timestamp(text: str) -> datetime:
    """Read a Jira timestamp such as ``2026-11-20T10:15:30.000+0000`` into an aware datetime."""
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


@dataclass(frozen=True)
class JqlContext:
    """What a query needs to know about the instance and the account that runs it.

    ``aliases`` maps every name of a custom field (its id, name and clause names, lower
    case) to its id; custom fields not named there do not exist.
    """

    tz: tzinfo
    now: datetime
    current_user: frozenset[str] = frozenset()
    aliases: Mapping[str, str] = field(default_factory=dict)  # clause name (lower) -> field id
    known: Mapping[str, frozenset[str]] = field(default_factory=dict)  # field id -> values (lower)
    status_order: Mapping[str, int] = field(default_factory=dict)
    text_fields: frozenset[str] = frozenset()  # custom text fields: they take ~, not =


@dataclass(frozen=True)
class Prepared:
    """A validated query: ``matches(issue)``, ``sort(issues)``, and non-fatal warnings."""

    matches: Callable[[dict[str, Any]], bool]
    sort: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
    bounded: bool
    warnings: list[str]


_ALIASES = {
    "issuekey": "key",
    "issue": "key",
    "type": "issuetype",
    "resolved": "resolutiondate",
    "updateddate": "updated",
    "createddate": "created",
    "statuscategory": "statusCategory",
}
_DATES = {"updated", "created", "resolutiondate"}
_TEXTS = {"summary", "description", "comment", "text"}
_VALUES = {
    "project",
    "status",
    "statusCategory",
    "assignee",
    "reporter",
    "priority",
    "issuetype",
    "resolution",
    "labels",
}
_OPS_BY_KIND = {
    "date": {"=", "!=", ">", ">=", "<", "<=", "in", "not in", "is", "is not"},
    "key": {"=", "!=", ">", ">=", "<", "<=", "in", "not in"},
    "id": {"=", "!=", ">", ">=", "<", "<=", "in", "not in"},
    "text": {"~", "!~", "is", "is not"},
    "value": {"=", "!=", "in", "not in", "is", "is not"},
}
_KEY = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)-(\d+)$")
_PERIOD = re.compile(r"^([-+]?)((?:\d+[wdhm]\s*)+)$")
_DATE_FORMATS = ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d")


def _field_id(name: str, ctx: JqlContext) -> str:
    low = name.lower()
    if m := re.fullmatch(r"cf\[(\d+)\]", low):
        low = f"customfield_{m.group(1)}"
    if low in ctx.aliases:
        return ctx.aliases[low]
    low = _ALIASES.get(low, low)
    if low in _DATES | _TEXTS | _VALUES | {"key", "id", "statusCategory"}:
        return low
    raise JqlError([f"Field '{name}' does not exist or you do not have permission to view it."])


def _kind(fid: str) -> str:
    if fid in _DATES:
        return "date"
    if fid in ("key", "id"):
        return fid
    return "text" if fid in _TEXTS else "value"


def _minute(dt: datetime) -> datetime:
    return dt.astimezone(UTC).replace(second=0, microsecond=0)


def _to_datetime(value: Value, fid: str, ctx: JqlContext) -> datetime:
    text = value.text.strip()
    if value.function:
        low = text.lower()
        if low == "now":
            return _minute(ctx.now)
        if low == "startofday":
            local = ctx.now.astimezone(ctx.tz)
            return _minute(local.replace(hour=0, minute=0, second=0, microsecond=0))
        raise JqlError([f"Unable to find JQL function '{text}()'."])
    for fmt in _DATE_FORMATS:
        try:
            return _minute(datetime.strptime(text, fmt).replace(tzinfo=ctx.tz))
        except ValueError:
            continue
    if m := _PERIOD.match(text):
        units = {"w": 7 * 24 * 60, "d": 24 * 60, "h": 60, "m": 1}
        minutes = sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([wdhm])", m.group(2)))
        sign = -1 if m.group(1) == "-" else 1
        return _minute(ctx.now + timedelta(minutes=sign * minutes))
    raise JqlError([f"Date value '{value.text}' for field '{fid}' is invalid. {_DATE_HELP}"])


def _text_of(node: Any) -> str:
    if isinstance(node, str):
        return node
    if isinstance(node, dict):
        own = str(node["text"]) if isinstance(node.get("text"), str) else ""
        return " ".join([own, *(_text_of(c) for c in node.get("content") or [])]).strip()
    return ""


def _ids(value: Any) -> frozenset[str]:
    """Every identifier a JQL value may name this field value by (id, key, name, email...)."""
    if isinstance(value, dict):
        keys = ("id", "key", "name", "value", "accountId", "emailAddress", "displayName")
        return frozenset(str(value[k]).lower() for k in keys if value.get(k) is not None)
    return frozenset({str(value).lower()})


def _field_values(issue: dict[str, Any], fid: str) -> list[frozenset[str]]:
    fields = issue.get("fields") or {}
    if fid == "project":
        return [_ids(fields["project"])] if fields.get("project") else []
    if fid == "statusCategory":
        cat = (fields.get("status") or {}).get("statusCategory")
        return [_ids(cat)] if cat else []
    raw = fields.get(fid)
    if raw is None or raw == []:
        return []
    return [_ids(v) for v in raw] if isinstance(raw, list) else [_ids(raw)]


def _has_words(text: str, words: list[str]) -> bool:
    """Jira's ``~``: every word of the query is a word of the text (``abc*`` a prefix)."""
    tokens = set(re.findall(r"\w+", text))
    return all(
        any(t.startswith(w[:-1]) for t in tokens) if w.endswith("*") else w in tokens for w in words
    )


def _key_parts(text: str) -> tuple[str, int] | None:
    m = _KEY.match(text.strip())
    return (m.group(1).upper(), int(m.group(2))) if m else None


def _compare(op: str, left: Any, right: Any) -> bool:
    if op in ("=", "in"):
        return bool(left == right)
    if op in ("!=", "not in"):
        return bool(left != right)
    return bool(
        {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}[op]
    )


class _Compiler:
    def __init__(self, ctx: JqlContext, strict: bool) -> None:
        self.ctx = ctx
        self.strict = strict
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def missing(self, message: str) -> None:
        (self.errors if self.strict else self.warnings).append(message)

    def node(self, node: Node) -> Callable[[dict[str, Any]], bool]:
        if isinstance(node, Bool):
            parts = [self.node(n) for n in node.items]
            if node.op == "and":
                return lambda issue: all(p(issue) for p in parts)
            if node.op == "or":
                return lambda issue: any(p(issue) for p in parts)
            return lambda issue: not parts[0](issue)
        try:
            return self.clause(node)
        except JqlError as exc:
            self.errors.extend(exc.messages)
            return lambda issue: False

    def clause(self, c: Clause) -> Callable[[dict[str, Any]], bool]:
        fid = _field_id(c.field, self.ctx)
        kind = "text" if fid in self.ctx.text_fields else _kind(fid)
        if c.op not in _OPS_BY_KIND[kind]:
            raise JqlError(
                [f"The operator '{c.op.upper()}' is not supported by the '{c.field}' field."]
            )
        if c.op in ("is", "is not"):
            if c.values[0].quoted or c.values[0].text.lower() not in ("empty", "null"):
                raise JqlError([f"The operator '{c.op.upper()}' only supports EMPTY or NULL."])
            empty = c.op == "is"
            if kind == "date" or kind == "value":
                return lambda issue: (not _field_values(issue, fid)) == empty
            return lambda issue: (not _text_of((issue.get("fields") or {}).get(fid))) == empty
        if kind == "date":
            return self.date_clause(c, fid)
        if kind == "key":
            return self.key_clause(c)
        if kind == "id":
            ids = [int(v.text) if v.text.isdigit() else -1 for v in c.values]
            return self.ordered(c.op, lambda issue: int(issue["id"]), ids)
        if kind == "text":
            words = [w for v in c.values for w in re.findall(r"[\w*]+", v.text.lower())]
            want = c.op == "~"
            return lambda issue: _has_words(self.text(issue, fid), words) == want
        return self.value_clause(c, fid)

    @staticmethod
    def text(issue: dict[str, Any], fid: str) -> str:
        """The searchable text of a field; ``text`` is summary, description and comments."""
        fields = issue.get("fields") or {}
        parts = [fields.get(fid)]
        if fid in ("comment", "text"):
            parts = [c.get("body") for c in (fields.get("comment") or {}).get("comments", [])]
        if fid == "text":
            parts += [fields.get("summary"), fields.get("description")]
        return " ".join(_text_of(p) for p in parts).lower()

    def ordered(
        self, op: str, get: Callable[[dict[str, Any]], Any], wanted: list[Any]
    ) -> Callable[[dict[str, Any]], bool]:
        if op in ("=", "in"):
            return lambda issue: get(issue) in wanted
        if op in ("!=", "not in"):
            return lambda issue: get(issue) not in wanted
        return lambda issue: _compare(op, get(issue), wanted[0])

    def date_clause(self, c: Clause, fid: str) -> Callable[[dict[str, Any]], bool]:
        wanted = [_to_datetime(v, fid, self.ctx) for v in c.values]

        def stamp(issue: dict[str, Any]) -> datetime | None:
            raw = (issue.get("fields") or {}).get(fid)
            return _minute(parse_timestamp(raw)) if raw else None

        inner = self.ordered(c.op, stamp, wanted)
        return lambda issue: stamp(issue) is not None and inner(issue)

    def key_clause(self, c: Clause) -> Callable[[dict[str, Any]], bool]:
        wanted: list[tuple[str, int]] = []
        known = self.ctx.known.get("key")
        for v in c.values:
            parts = _key_parts(v.text)
            if parts is None:
                raise JqlError([f"The issue key '{v.text}' for field '{c.field}' is invalid."])
            if known is not None and v.text.lower() not in known and c.op in ("=", "in"):
                self.missing(f"An issue with key '{v.text}' does not exist for field '{c.field}'.")
            wanted.append(parts)

        def get(issue: dict[str, Any]) -> tuple[str, int]:
            return _key_parts(issue["key"]) or ("", 0)

        if c.op in (">", ">=", "<", "<="):
            project = wanted[0][0]
            inner = self.ordered(c.op, get, wanted)
            return lambda issue: get(issue)[0] == project and inner(issue)
        return self.ordered(c.op, get, wanted)

    def value_clause(self, c: Clause, fid: str) -> Callable[[dict[str, Any]], bool]:
        wanted: set[str] = set()
        for v in c.values:
            if v.function:
                if v.text.lower() != "currentuser" or fid not in ("assignee", "reporter"):
                    raise JqlError([f"Unable to find JQL function '{v.text}()'."])
                wanted |= self.ctx.current_user
                continue
            low = v.text.lower()
            known = self.ctx.known.get(fid)
            if known is not None and low not in known:
                self.missing(f"The value '{v.text}' does not exist for the field '{c.field}'.")
            wanted.add(low)
        positive = c.op in ("=", "in")

        def test(issue: dict[str, Any]) -> bool:
            values = _field_values(issue, fid)
            hit = any(ids & wanted for ids in values)
            return hit if positive else bool(values) and not hit

        return test

    def sorter(
        self, order: tuple[tuple[str, bool], ...]
    ) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
        keys: list[tuple[Callable[[dict[str, Any]], Any], bool]] = []
        for name, ascending in order or (("key", True),):
            try:
                keys.append((self.sort_key(_field_id(name, self.ctx)), ascending))
            except JqlError as exc:
                self.errors.extend(exc.messages)

        def sort(issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
            out = sorted(issues, key=lambda i: int(i["id"]))
            for get, ascending in reversed(keys):
                out.sort(key=get, reverse=not ascending)
            return out

        return sort

    def sort_key(self, fid: str) -> Callable[[dict[str, Any]], Any]:
        if fid == "key":
            return lambda issue: _key_parts(issue["key"]) or ("", 0)
        if fid == "id":
            return lambda issue: int(issue["id"])
        if fid in _DATES:

            def stamp(issue: dict[str, Any]) -> tuple[bool, datetime]:
                raw = (issue.get("fields") or {}).get(fid)
                floor = datetime.min.replace(tzinfo=UTC)
                return (raw is not None, parse_timestamp(raw) if raw else floor)

            return stamp
        if fid == "status":
            order = self.ctx.status_order
            return lambda issue: order.get(str(issue["fields"]["status"].get("id")), 0)
        if fid == "priority":
            return lambda issue: -int(((issue["fields"].get("priority") or {}).get("id")) or 99)

        def display(issue: dict[str, Any]) -> str:
            raw = (issue.get("fields") or {}).get(fid)
            if isinstance(raw, dict):
                for k in ("displayName", "value", "name", "key"):
                    if raw.get(k) is not None:
                        return str(raw[k]).lower()
            return _text_of(raw).lower() if raw is not None else ""

        return display


def prepare(query: Query | str, ctx: JqlContext, *, strict: bool = True) -> Prepared:
    """Validate a query against an instance; with ``strict=False`` unknown values only warn."""
    q = parse(query) if isinstance(query, str) else query
    compiler = _Compiler(ctx, strict)
    matches = compiler.node(q.where) if q.where is not None else (lambda issue: True)
    sort = compiler.sorter(q.order_by)
    if compiler.errors:
        raise JqlError(compiler.errors)
    return Prepared(matches, sort, q.where is not None, compiler.warnings)
