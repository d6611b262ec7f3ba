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
    └── TrackerRejected     any other refusal (400/404/409…), with Jira's own message
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, Protocol

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


class TrackerError(TriageError):
    """Jira could not do what was asked; the message says what to do."""


class TrackerUnreachable(TrackerError):
    """Jira did not answer, or kept answering "try later"."""


class TrackerAuthError(TrackerError):
    """Jira refused the credentials."""


class TrackerRejected(TrackerError):
    """Jira refused the request; `status` is the HTTP status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Tracker(Protocol):
    """What the sync and the outbox need of Jira."""

    flavour: Flavour

    def myself(self) -> Json: ...
    def fields(self) -> list[Json]: ...
    def search(self, jql: str, fields: Sequence[str], expand: str = "") -> Iterator[list[Json]]: ...
    def keys(self, jql: str) -> list[str]: ...
    def issue(self, key: str, fields: Sequence[str]) -> Json: ...
    def transitions(self, key: str) -> list[Json]: ...
    def transition(self, key: str, transition_id: str, fields: Json | None = None) -> None: ...
    def comments(self, key: str) -> list[Json]: ...
    def add_comment(self, key: str, body: str) -> Json: ...
    def assign(self, key: str, account: str | None) -> None: ...


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
        self.flavour: Flavour = flavour or detect_flavour(self.server_info())
        self._version = "3" if self.flavour == "cloud" else "2"

    @property
    def calls(self) -> int:
        """How many HTTP requests this tracker has made (retries included)."""
        return self._calls

    # -- plumbing ---------------------------------------------------------------------------

    def _url(self, path: str, version: str | None = None) -> str:
        base = self.credentials.url.rstrip("/")
        return f"{base}/rest/api/{version or getattr(self, '_version', '2')}/{path}"

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
                raise TrackerUnreachable(
                    f"Jira at {self.credentials.url} is not reachable ({type(error).__name__}): "
                    "check the URL and your network, then sync again"
                ) from None
            if response.status_code == 204 or not response.content:
                return None
            return response.json()
        raise TrackerUnreachable("Jira keeps answering 429 Too Many Requests: sync again later")

    def _translate(self, status: int, error: Any) -> TrackerError:
        url = self.credentials.url
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
            return TrackerAuthError(
                f"Jira at {url} denied access (403): the account lacks permission for this "
                "project, or a CAPTCHA is pending — log in to Jira in a browser once"
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
        result: Json = self._get("myself")
        return result

    def fields(self) -> list[Json]:
        """Every field, system and custom, for resolving names to ids."""
        result: list[Json] = self._get("field")
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
            yield page.get("issues", [])
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

        first = page(0)
        yield first.get("issues", [])
        size = first.get("maxResults") or DC_PAGE
        total = int(first.get("total", 0))
        starts = list(range(len(first.get("issues", [])), total, size))
        # Data Center knows the total up front: fetch the other pages side by side.
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            yield from (result.get("issues", []) for result in pool.map(page, starts))

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
                found.extend(issue["key"] for issue in page.get("issues", []))
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
            found.extend(str(issue["id"]) for issue in page.get("issues", []))
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
            result = self._post("issue/bulkfetch", body)
            issues: list[Json] = result.get("issues", [])
            return issues

        chunks = [ids[i : i + BULK_FETCH] for i in range(0, len(ids), BULK_FETCH)]
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            yield from pool.map(fetch, chunks)

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

    def transition(self, key: str, transition_id: str, fields: Json | None = None) -> None:
        """Apply a transition, with the fields the workflow asks for."""
        body: Json = {"transition": {"id": transition_id}}
        if fields:
            body["fields"] = fields
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

    def create_issue(self, fields: Json) -> Json:
        """Create an issue; a string description becomes a document on Cloud. Its id and key."""
        if self.flavour == "cloud" and isinstance(fields.get("description"), str):
            fields = {**fields, "description": _adf(fields["description"])}
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
    paragraphs = [block for block in text.split("\n\n") if block.strip()] or [text]
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": block}]}
            for block in paragraphs
        ],
    }


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
