"""The tracker adapter: the narrow set of Jira calls Triage makes, through the `jira` library.

One class serves Jira Cloud (REST v3, `/search/jql` with `nextPageToken`, `bulkfetch`) and
Jira Data Center (REST v2, `/search` with `startAt`). Every call names the fields it needs,
has finite connect and read timeouts, and rides out 429/503 by waiting for `Retry-After`
(plus jitter) a bounded number of times. Tests use the real class against the sandbox
server, or any object with the same methods (`Tracker`).

Exceptions::

    TrackerError            from core.errors.TriageError; the message says what to do
    ├── TrackerUnreachable  no answer (refused, timed out, DNS), or still rate limited
    ├── TrackerAuthError    401/403: the credentials are wrong or lack permission
    │   └── TrackerForbidden    403: this account may not do this (on this issue)
    ├── TrackerRejected     any other refusal (400/404/409…), with Jira's own message
    └── NotJson             an answer that is not JSON (an HTML login page, a proxy)

`core.tracker.pages.BadSearchAnswer` (a TriageError) is a search answer without its issues.
Calls that do not depend on the flavour (serverInfo, myself, field) go out side by side:
a tracker that must detect its flavour asks serverInfo in the background at once.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from triage.core.redact import mask
from triage.core.tracker.pages import IssuePage, in_window, issues_of, total_of
from triage.storage.errors import TriageError

Flavour = Literal["cloud", "dc"]
Json = dict[str, Any]

CLOUD_PAGE = 100
"""Cloud's cap for a search that returns fields."""
CLOUD_KEYS_PAGE = 5000
"""Cloud's cap for a search that returns only ids and keys."""
DC_PAGE = 1000
"""Data Center's default cap (jira.search.views.default.max)."""
BULK_FETCH = 100
"""Cloud's cap for one bulkfetch."""
IN_FLIGHT = 2000
"""About how many issues a paged search may have on the way at once (memory, not speed)."""


class TrackerError(TriageError):
    """Jira could not do what was asked; the message says what to do."""


class TrackerUnreachable(TrackerError):
    """Jira did not answer, or kept answering "try later"."""


class TrackerAuthError(TrackerError):
    """Jira refused the credentials."""


class TrackerForbidden(TrackerAuthError):
    """Jira denied this request (403); `detail` is Jira's own message, if it gave one."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail


class TrackerRejected(TrackerError):
    """Jira refused the request; `status` is the HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class NotJson(TrackerError):
    """Jira (or something in front of it) answered with a page that is not JSON."""


class Tracker(Protocol):
    """What the sync and the outbox need of Jira."""

    @property
    def flavour(self) -> Flavour: ...

    def myself(self) -> Json: ...
    def fields(self) -> list[Json]: ...
    def search(self, jql: str, fields: Sequence[str], expand: str = "") -> Iterator[list[Json]]: ...
    def keys(self, jql: str) -> list[str]: ...
    def issue(self, key: str, fields: Sequence[str]) -> Json: ...
    def transitions(self, key: str) -> list[Json]: ...
    def transition(
        self, key: str, transition_id: str, fields: Json | None = None, comment: str = ""
    ) -> None: ...
    def comments(self, key: str) -> list[Json]: ...
    def add_comment(self, key: str, body: str) -> Json: ...
    def assign(self, key: str, account: str | None) -> None: ...
    def create_issue(self, issue: NewIssue) -> Json: ...


@dataclass(frozen=True)
class NewIssue:
    """An issue to create, in plain values; the tracker puts them in Jira's shapes."""

    project: str
    issue_type: str
    summary: str
    description: str = ""
    priority: str = ""
    labels: tuple[str, ...] = ()
    assignee: str | None = None
    """Account id on Cloud, user name on Data Center; None leaves it unassigned."""
    extra: tuple[tuple[str, Any], ...] = ()
    """Further fields by id, in Jira's shape (custom fields: client, site)."""


@dataclass(frozen=True)
class Credentials:
    """How to log in: Cloud email + API token, or a Data Center token (or user + password)."""

    url: str
    token: str
    user: str = ""


@dataclass
class RetryPolicy:
    """How long to wait on 429/503: Retry-After plus up to `jitter` of it, `attempts` times."""

    attempts: int = 6
    jitter: float = 0.25
    max_wait: float = 60.0
    sleep: Callable[[float], None] = time.sleep


def detect_flavour(info: Json) -> Flavour:
    """Cloud or Data Center, from a serverInfo response."""
    return "cloud" if str(info.get("deploymentType", "")).lower() == "cloud" else "dc"


class JiraTracker:
    """Jira through the `jira` library's session: Cloud or Data Center."""

    def __init__(
        self,
        credentials: Credentials,
        flavour: Flavour | None = None,
        *,
        timeout: tuple[float, float] = (5.0, 30.0),
        retry: RetryPolicy | None = None,
        workers: int = 6,
    ) -> None:
        from jira import JIRA  # imported here: the board never pays for it at start-up

        self.credentials = credentials
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.workers = workers
        self._calls = 0
        self._lock = threading.Lock()
        auth: dict[str, Any] = (
            {"basic_auth": (credentials.user, credentials.token)}
            if credentials.user
            else {"token_auth": credentials.token}
        )
        self._jira = JIRA(
            server=credentials.url.rstrip("/"),
            get_server_info=False,
            max_retries=0,
            timeout=timeout,
            logging=False,
            **auth,
        )
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jira")
        self._flavour: Future[Flavour] = Future()
        if flavour is not None:
            self._flavour.set_result(flavour)
        else:
            # Asked now, in the background: the calls that follow need not wait for it.
            self._flavour = self._pool.submit(lambda: detect_flavour(self.server_info()))

    @property
    def flavour(self) -> Flavour:
        """Cloud or Data Center: as given, or as serverInfo says (its errors are raised here)."""
        return self._flavour.result()

    @property
    def calls(self) -> int:
        """How many HTTP requests this tracker has made (retries included)."""
        return self._calls

    # -- plumbing ---------------------------------------------------------------------------

    def _url(self, path: str, version: str | None = None) -> str:
        base = self.credentials.url.rstrip("/")
        if version is None:
            version = "3" if self.flavour == "cloud" else "2"
        return f"{base}/rest/api/{version}/{path}"

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One call, riding out 429/503; errors become TrackerError sentences."""
        from jira.exceptions import JIRAError
        from requests.exceptions import RequestException

        url = self._url(path, kwargs.pop("version", None))
        for attempt in range(self.retry.attempts + 1):
            with self._lock:
                self._calls += 1
            try:
                response = self._jira._session.request(method, url, **kwargs)
            except JIRAError as error:
                status = error.status_code or 0
                wait = _retry_after(error)
                if status in (429, 503) and attempt < self.retry.attempts:
                    self.retry.sleep(
                        min(wait * (1 + random.uniform(0, self.retry.jitter)), self.retry.max_wait)
                    )
                    continue
                raise self._translate(status, error) from None
            except RequestException as error:
                where = mask(self.credentials.url)
                raise TrackerUnreachable(
                    f"Jira at {where} is not reachable ({type(error).__name__}): "
                    "check the URL and your network, then sync again"
                ) from None
            if response.status_code == 204 or not response.content:
                return None
            return self._json(response, path)
        raise TrackerUnreachable("Jira keeps answering 429 Too Many Requests: sync again later")

    def _json(self, response: Any, path: str) -> Any:
        kind = str(response.headers.get("Content-Type", "")).split(";")[0].strip()
        try:
            if "json" not in kind:
                raise ValueError(kind)
            return response.json()
        except ValueError:
            raise NotJson(
                f"Jira at {self.credentials.url} answered {path} with {kind or 'no type'} "
                "instead of JSON (a login page or a proxy?): check jira.url"
            ) from None

    def _translate(self, status: int, error: Any) -> TrackerError:
        url = mask(self.credentials.url)
        if status == 401:
            who = (
                f"user {self.credentials.user!r} and its token"
                if self.credentials.user
                else "the token"
            )
            return TrackerAuthError(
                f"Jira at {url} refused {who} (401): run `triage login` or set TRIAGE_JIRA_TOKEN"
            )
        if status == 403:
            return TrackerForbidden(
                f"Jira at {url} denied access (403): the account lacks permission for this "
                "project, or a CAPTCHA is pending — log in to Jira in a browser once",
                _jira_message(error),
            )
        if status in (429, 503):
            return TrackerUnreachable(f"Jira at {url} is busy ({status}): sync again later")
        text = _jira_message(error) or f"HTTP {status}"
        return TrackerRejected(f"Jira refused the request: {text}", status)

    def _get(self, path: str, **params: Any) -> Any:
        return self._request("GET", path, params=params or None)

    def _post(self, path: str, body: Json) -> Any:
        return self._request("POST", path, json=body)

    # -- reads --------------------------------------------------------------------------------

    def server_info(self) -> Json:
        """serverInfo: version and deployment type."""
        result: Json = self._request("GET", "serverInfo", version="2")
        return result

    def myself(self) -> Json:
        """The account the credentials belong to (name, id, time zone)."""
        result: Json = self._request("GET", "myself", version="2")  # the same on both flavours
        return result

    def fields(self) -> list[Json]:
        """Every field, system and custom, for resolving names to ids."""
        result: list[Json] = self._request("GET", "field", version="2")
        return result

    def statuses(self) -> list[Json]:
        """Every status of the instance."""
        result: list[Json] = self._get("status")
        return result

    def search(self, jql: str, fields: Sequence[str], expand: str = "") -> Iterator[list[Json]]:
        """Every issue matching `jql`, page by page, with the named fields."""
        if self.flavour == "cloud":
            yield from self._search_cloud(jql, fields, expand)
        else:
            yield from self._search_dc(jql, fields, expand)

    def _search_cloud(self, jql: str, fields: Sequence[str], expand: str) -> Iterator[list[Json]]:
        token: str | None = None
        while True:
            body: Json = {"jql": jql, "fields": list(fields), "maxResults": CLOUD_PAGE}
            if expand:
                body["expand"] = expand
            if token:
                body["nextPageToken"] = token
            page = self._post("search/jql", body)
            yield issues_of(page, self.credentials.url, "search")
            token = page.get("nextPageToken")
            if not token or page.get("isLast"):
                return

    def _search_dc(self, jql: str, fields: Sequence[str], expand: str) -> Iterator[list[Json]]:
        def page(start: int) -> Json:
            body: Json = {
                "jql": jql,
                "fields": list(fields),
                "startAt": start,
                "maxResults": DC_PAGE,
            }
            if expand:
                body["expand"] = expand
            result: Json = self._post("search", body)
            return result

        def issues(start: int) -> list[Json]:
            return issues_of(page(start), self.credentials.url, "search")

        first = page(0)
        found = issues_of(first, self.credentials.url, "search")
        total = total_of(first, self.credentials.url)
        yield IssuePage(found, total)
        size = int(first.get("maxResults") or DC_PAGE)
        if not found or size <= 0:
            return
        # Data Center knows the total up front: fetch the other pages side by side, no more
        # than about IN_FLIGHT issues at once, so a large sync holds a few pages, not all.
        window = max(1, min(self.workers, IN_FLIGHT // size))
        yield from in_window(self._pool, issues, range(len(found), total, size), window)

    def keys(self, jql: str) -> list[str]:
        """Keys of every issue matching `jql`: a scan that fetches no fields."""
        found: list[str] = []
        if self.flavour == "cloud":
            token: str | None = None
            while True:
                body: Json = {"jql": jql, "fields": ["key"], "maxResults": CLOUD_KEYS_PAGE}
                if token:
                    body["nextPageToken"] = token
                page = self._post("search/jql", body)
                found.extend(i["key"] for i in issues_of(page, self.credentials.url, "key scan"))
                token = page.get("nextPageToken")
                if not token or page.get("isLast"):
                    return found
        for issues in self._search_dc(jql, ["key"], ""):
            found.extend(issue["key"] for issue in issues)
        return found

    def ids(self, jql: str) -> list[str]:
        """Ids of every issue matching `jql` (Cloud), for bulk fetching."""
        found: list[str] = []
        token: str | None = None
        while True:
            body: Json = {"jql": jql, "fields": ["id"], "maxResults": CLOUD_KEYS_PAGE}
            if token:
                body["nextPageToken"] = token
            page = self._post("search/jql", body)
            found.extend(str(i["id"]) for i in issues_of(page, self.credentials.url, "id scan"))
            token = page.get("nextPageToken")
            if not token or page.get("isLast"):
                return found

    def bulk_fetch(
        self, ids: Sequence[str], fields: Sequence[str], expand: str = ""
    ) -> Iterator[list[Json]]:
        """Issues by id, 100 a call, several calls side by side (Cloud)."""

        def fetch(chunk: Sequence[str]) -> list[Json]:
            body: Json = {"issueIdsOrKeys": list(chunk), "fields": list(fields)}
            if expand:
                body["expand"] = [part for part in expand.split(",") if part]
            return issues_of(self._post("issue/bulkfetch", body), self.credentials.url, "bulkfetch")

        chunks = [ids[i : i + BULK_FETCH] for i in range(0, len(ids), BULK_FETCH)]
        yield from in_window(self._pool, fetch, chunks, self.workers)

    def issue(self, key: str, fields: Sequence[str]) -> Json:
        """One issue with the named fields."""
        result: Json = self._get(f"issue/{key}", fields=",".join(fields))
        return result

    def transitions(self, key: str) -> list[Json]:
        """The transitions available on an issue now, with the fields each requires."""
        result = self._get(f"issue/{key}/transitions", expand="transitions.fields")
        transitions: list[Json] = result.get("transitions", [])
        return transitions

    def comments(self, key: str) -> list[Json]:
        """Every comment of an issue."""
        found: list[Json] = []
        start = 0
        while True:
            page = self._get(f"issue/{key}/comment", startAt=start, maxResults=100)
            batch = page.get("comments", [])
            found.extend(batch)
            start += len(batch)
            if not batch or start >= int(page.get("total", 0)):
                return found

    # -- writes -------------------------------------------------------------------------------

    def transition(
        self, key: str, transition_id: str, fields: Json | None = None, comment: str = ""
    ) -> None:
        """Apply a transition, with the fields the workflow asks for and an optional comment.

        The comment rides in the same request, so Jira adds it only if the move happens.
        """
        body: Json = {"transition": {"id": transition_id}}
        if fields:
            body["fields"] = fields
        if comment:
            text = _adf(comment) if self.flavour == "cloud" else comment
            body["update"] = {"comment": [{"add": {"body": text}}]}
        self._post(f"issue/{key}/transitions", body)

    def add_comment(self, key: str, body: str) -> Json:
        """Add a comment; plain text on Data Center, a document on Cloud."""
        payload: Json = {"body": _adf(body) if self.flavour == "cloud" else body}
        result: Json = self._post(f"issue/{key}/comment", payload)
        return result

    def assign(self, key: str, account: str | None) -> None:
        """Assign to an account (Cloud accountId, Data Center user name); None unassigns."""
        body: Json = {"accountId": account} if self.flavour == "cloud" else {"name": account}
        self._request("PUT", f"issue/{key}/assignee", json=body)

    def create_issue(self, issue: NewIssue) -> Json:
        """Create an issue; Jira's answer (`id`, `key`)."""
        fields: Json = {
            "project": {"key": issue.project},
            "issuetype": {"name": issue.issue_type},
            "summary": issue.summary[:255],
            "labels": list(issue.labels),
        }
        if issue.description:
            cloud = self.flavour == "cloud"
            fields["description"] = _adf(issue.description) if cloud else issue.description
        if issue.priority:
            fields["priority"] = {"name": issue.priority}
        if issue.assignee:
            key = "accountId" if self.flavour == "cloud" else "name"
            fields["assignee"] = {key: issue.assignee}
        fields.update(dict(issue.extra))
        result: Json = self._post("issue", {"fields": fields})
        return result

    def add_attachment(self, key: str, filename: str, data: bytes, content_type: str) -> Json:
        """Attach one file to an issue (multipart, with Jira's XSRF opt-out header)."""
        from urllib3 import encode_multipart_formdata

        body, kind = encode_multipart_formdata({"file": (filename, data, content_type)})
        headers = {"Content-Type": kind, "X-Atlassian-Token": "no-check"}
        result = self._request("POST", f"issue/{key}/attachments", data=body, headers=headers)
        return dict(result[0]) if isinstance(result, list) and result else {}


def _adf(text: str) -> Json:
    """Plain text as an ADF document: blank lines part paragraphs, newlines become breaks."""
    blocks = re.split(r"\n[ \t]*\n\s*", text.replace("\r\n", "\n").replace("\r", "\n").strip())
    paragraphs: list[Json] = []
    for block in blocks:
        nodes: list[Json] = []
        for number, line in enumerate(block.split("\n")):
            if number:
                nodes.append({"type": "hardBreak"})
            if line:
                nodes.append({"type": "text", "text": line})
        if nodes:
            paragraphs.append({"type": "paragraph", "content": nodes})
    return {"type": "doc", "version": 1, "content": paragraphs}


def _retry_after(error: Any) -> float:
    response = getattr(error, "response", None)
    header = response.headers.get("Retry-After") if response is not None else None
    try:
        return max(float(header), 0.5) if header else 1.0
    except ValueError:
        return 1.0


def _jira_message(error: Any) -> str:
    response = getattr(error, "response", None)
    if response is None:
        return str(getattr(error, "text", "") or "")
    try:
        body = response.json()
    except ValueError:
        return str(response.text)[:200]
    messages = list(body.get("errorMessages", [])) + [
        f"{name}: {text}" for name, text in (body.get("errors") or {}).items()
    ]
    return "; ".join(messages)


def _json(response: Any, where: str) -> Any:
    """The JSON body of a 2xx answer; TrackerRejected when it is something else (HTML…)."""
    try:
        return response.json()
    except ValueError:
        kind = response.headers.get("Content-Type", "").split(";")[0].strip() or "no type"
        raise TrackerRejected(
            f"Jira at {where} answered {response.status_code} with {kind}, not JSON: "
            "set jira.url to Jira's base URL (no /login or proxy page), then try again",
            response.status_code,
        ) from None
