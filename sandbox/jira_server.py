"""A Jira-compatible HTTP server on loopback, for the demo and the tests, in two flavours.

``cloud`` answers REST v3 (and v2) as Jira Cloud does: ``/search/jql`` with
``nextPageToken``, ``/issue/bulkfetch``, email + API token Basic auth, 410 for the old
``/search``. ``dc`` answers REST v2 as Jira Data Center does: ``/search`` with ``startAt``,
personal access tokens (Bearer) or Basic auth. Issues are stored in the Cloud shape and shown
per flavour. Tests steer it with ``edit``, ``delete``, ``set_clock``, ``inject_rate_limit``
and ``latency_ms``, and read ``calls`` to count requests per endpoint.

Run it standalone: ``python -m triage.sandbox.jira_server --flavour cloud --tickets 500``.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import collections
import hashlib
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from triage.sandbox import jira_attach
from triage.sandbox.jira_render import Account, Flavour, Json
from triage.sandbox.jira_routes import Api, Reply, Request, find_route
from triage.sandbox.jira_state import ApiError, JiraState

__all__ = ["JiraSandbox", "serve"]

NOT_AUTHENTICATED = "You are not authenticated. Authentication required to perform this operation."
CLOUD_BAD_CREDENTIALS = "Client must be authenticated to access this resource."
_API_PATH = re.compile(r"/rest/api/(2|3|latest)/(.+?)/?")


REFUSALS = {
    403: "You do not have permission to edit this issue.",
    404: "Issue does not exist or you do not have permission to see it.",
    400: "This issue cannot be changed in its current state.",
}
"""What Jira says when it refuses a write on one issue (`JiraSandbox.refuse_writes`)."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], sandbox: JiraSandbox) -> None:
        self.sandbox = sandbox
        self.connections: set[socket.socket] = set()
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self) -> None:
        self.server.connections.discard(self.connection)
        super().finish()

    def do_GET(self) -> None:
        self.server.sandbox._serve(self)

    do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: tests and the demo read the calls counter instead


class JiraSandbox:
    """A Jira Cloud or Data Center stand-in serving the given issues over HTTP on loopback.

    ``issues`` are Cloud v3 shaped; ``people`` are Person-like objects or dicts with
    ``account_id``, ``username``, ``display_name``, ``email``, ``time_zone``. ``user`` and
    ``token`` are the credentials it accepts (a Cloud email or a Data Center username);
    ``time_zone`` is that account's, used for JQL dates and every timestamp shown.
    ``calls`` counts answered requests by endpoint name (``jira_routes.ROUTES``: "search",
    "search/jql", "bulkfetch", "issue", "transitions.post", "comment.post", ...), and
    "rate_limited", "unauthorized" and "unrouted" for requests refused before that.
    """

    def __init__(
        self,
        *,
        issues: list[Json],
        fields: list[Json],
        statuses: list[Json],
        people: Sequence[Any],
        project_key: str = "SUP",
        flavour: Literal["cloud", "dc"] = "cloud",
        user: str = "me@agency.example",
        token: str = "sandbox-token",
        time_zone: str = "UTC",
        latency_ms: float = 0.0,
    ) -> None:
        if flavour not in ("cloud", "dc"):
            raise ValueError(f"flavour must be 'cloud' or 'dc', not {flavour!r}")
        self.flavour: Flavour = flavour
        self.user = user
        self.token = token
        self.time_zone = time_zone
        self.latency_ms = latency_ms
        self.url = ""
        self.calls: collections.Counter[str] = collections.Counter()
        self._tz = ZoneInfo(time_zone)
        accounts = [Account.of(p, i) for i, p in enumerate(people)]
        self._state = JiraState(
            issues=issues,
            fields=fields,
            statuses=statuses,
            people=accounts,
            project_key=project_key,
            me=self._account_for(user, accounts),
            tz=self._tz,
            flavour=flavour,
        )
        self._api: Api | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._limited = 0
        self._retry_after = 1
        self._refused: dict[str, int] = {}
        self._default = self._state.me
        self._logins: dict[str, tuple[str, Account]] = {self._login(user): (token, self._default)}

    @classmethod
    def from_agency(cls, agency: Any, **kw: Any) -> JiraSandbox:
        """A sandbox holding a demo agency's issues, fields, statuses and people."""
        return cls(
            issues=agency.issues,
            fields=agency.fields,
            statuses=agency.statuses,
            people=agency.people,
            project_key=agency.project_key,
            **kw,
        )

    def _account_for(self, user: str, accounts: list[Account]) -> Account:
        """The API account: a known person (with this sandbox's time zone) or a new one."""
        low = user.lower()
        for acc in accounts:
            if low == (acc.email if self.flavour == "cloud" else acc.username).lower():
                return Account(
                    acc.account_id,
                    acc.username,
                    acc.display_name,
                    acc.email,
                    self.time_zone,
                    acc.key,
                )
        name = user.split("@")[0]
        return Account(
            account_id="5" + hashlib.sha1(user.encode()).hexdigest()[:23],
            username=name,
            display_name=name.replace(".", " ").title(),
            email=user if "@" in user else f"{user}@agency.example",
            time_zone=self.time_zone,
            key=f"JIRAUSER{10001 + len(accounts)}",
        )

    # --- lifecycle -------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve in a daemon thread; returns the base URL, e.g. ``http://127.0.0.1:54321``."""
        if self._server is not None:
            return self.url
        self._server = _Server((host, port), self)
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._api = Api(self._state, self.flavour, self.url, self._tz)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() waits for one poll
            name="jira-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and drop open connections."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        for conn in list(server.connections):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> JiraSandbox:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- test controls ---------------------------------------------------------------------

    def total_calls(self) -> int:
        with self._state.lock:
            return sum(self.calls.values())

    def inject_rate_limit(self, count: int, retry_after: int = 1) -> None:
        """Answer the next ``count`` requests with 429 and ``Retry-After: retry_after``."""
        with self._state.lock:
            self._limited = count
            self._retry_after = retry_after

    def add_account(self, user: str, token: str) -> Json:
        """Accept a second member's credentials (Cloud email, DC username); their user object.

        Requests made with them act as that account: comments, changelog and `/myself`.
        """
        with self._state.lock:
            account = self._account_for(user, list(self._state.people.values()))
            self._state.people[account.account_id] = account
            self._logins[self._login(user)] = (token, account)
            return self._state.user_ref(account)

    def _login(self, user: str) -> str:
        return user.lower() if self.flavour == "cloud" else user

    def refuse_writes(self, key: str, status: int | None = 403) -> None:
        """Answer every write on issue ``key`` with ``status`` (403, 404, 400…); None lifts it.

        Reads still work, as for an account that may browse a project but not edit it.
        """
        with self._state.lock:
            if status is None:
                self._refused.pop(key.upper(), None)
            else:
                self._refused[key.upper()] = status

    def edit(self, key: str, *, at: datetime | None = None, **fields: Any) -> None:
        """Change an issue as someone in Jira would, e.g. ``edit("SUP-1", status="QA")``.

        ``status``, ``priority``, ``issuetype`` and ``resolution`` take names; ``assignee``
        and ``reporter`` an account id, username or email (None unassigns); ``description``
        plain text. ``updated`` becomes ``at`` or the server clock.
        """
        with self._state.lock:
            self._state.control_edit(key, at, fields)

    def delete(self, key: str) -> None:
        with self._state.lock:
            self._state.delete(key)

    def set_clock(self, now: Callable[[], datetime]) -> None:
        """The clock for ``created``/``updated`` stamps, relative JQL dates and serverTime."""
        with self._state.lock:
            self._state.clock = now

    def issue(self, key: str) -> Json:
        """A copy of the stored (Cloud-shape, UTC) issue, for assertions."""
        with self._state.lock:
            return json.loads(json.dumps(self._state.get(key)))  # type: ignore[no-any-return]

    def changed_issues(self, original: Sequence[Json]) -> list[Json]:
        """Copies of the issues created or changed since they were `original` (by ``updated``)."""
        before = {str(i["key"]).upper(): i["fields"].get("updated") for i in original}
        with self._state.lock:
            changed = [
                issue
                for key, issue in self._state.issues.items()
                if before.get(key, object()) != issue["fields"].get("updated")
            ]
            return json.loads(json.dumps(changed))  # type: ignore[no-any-return]

    # --- HTTP ------------------------------------------------------------------------------

    def _serve(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length > 0 else b""
        if self.latency_ms > 0:
            time.sleep(self.latency_ms / 1000)
        try:
            reply = self._answer(
                handler.command,
                handler.path,
                handler.headers.get("Authorization"),
                raw,
                dict(handler.headers.items()),
            )
        except Exception as exc:  # a bug here must still answer, so the client doesn't hang
            reply = Reply(500, {"errorMessages": [f"Internal server error: {exc!r}"], "errors": {}})
        data = (
            b""
            if reply.body is None
            else (
                reply.body.encode()
                if isinstance(reply.body, str)
                else json.dumps(reply.body).encode()
            )
        )
        try:
            handler.send_response(reply.status)
            if reply.body is not None:
                kind = "text/plain" if isinstance(reply.body, str) else "application/json"
                handler.send_header("Content-Type", f"{kind};charset=UTF-8")
            if reply.status != 204:
                handler.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            handler.close_connection = True

    def _answer(
        self,
        method: str,
        target: str,
        auth: str | None,
        raw: bytes,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        url = urlsplit(target)
        with self._state.lock:
            if self._limited > 0:
                self._limited -= 1
                self.calls["rate_limited"] += 1
                body = {"errorMessages": ["Rate limit exceeded."], "errors": {}}
                return Reply(429, body, {"Retry-After": str(self._retry_after)})
        m = _API_PATH.fullmatch(url.path)
        version = "2" if m is None or m.group(1) == "latest" else m.group(1)
        route, captures, exists = None, dict[str, str](), False
        if m is not None and not (self.flavour == "dc" and version == "3"):
            route, captures, exists = find_route(self.flavour, method, m.group(2))
        if route is None:
            self._count("unrouted")
            if exists:
                return Reply(405)
            return Reply(
                404, {"errorMessages": [f"null for uri: {self.url}{url.path}"], "errors": {}}
            )
        who = self._authenticate(auth)
        if who == "bad" or (who == "anonymous" and route.name != "serverInfo"):
            self._count("unauthorized")
            return self._unauthorized(str(who))
        content_type = {k.lower(): v for k, v in (headers or {}).items()}.get("content-type", "")
        try:
            if route.name == "attachments.post":
                payload = self._attachment_files(headers or {}, content_type, raw)
            else:
                payload = json.loads(raw) if raw.strip() else None
        except ApiError as exc:
            return Reply(exc.status, exc.body())
        except ValueError as exc:
            return Reply(
                400, {"errorMessages": [f"Unexpected character in JSON body: {exc}"], "errors": {}}
            )
        req = Request(
            method, version, parse_qs(url.query, keep_blank_values=True), payload, captures
        )
        assert self._api is not None
        with self._state.lock:
            self.calls[route.name] += 1
            refused = self._refused.get(str(captures.get("key", "")).upper())
            if refused is not None and method != "GET":
                return Reply(refused, {"errorMessages": [REFUSALS.get(refused, "")], "errors": {}})
            self._state.me = who if isinstance(who, Account) else self._default
            try:
                reply: Reply = getattr(self._api, route.handler)(req)
            except ApiError as exc:
                reply = Reply(exc.status, exc.body())
            finally:
                self._state.me = self._default
        return reply

    @staticmethod
    def _attachment_files(headers: dict[str, str], content_type: str, raw: bytes) -> Any:
        lowered = {k.lower(): v for k, v in headers.items()}
        if lowered.get("x-atlassian-token", "").lower() != "no-check":
            raise ApiError(403, [jira_attach.XSRF_FAILED])
        if not content_type.startswith("multipart/form-data"):
            return None
        return jira_attach.parse_files(content_type, raw)

    def attachment(self, ident: str) -> bytes:
        """The bytes of an attachment, for assertions."""
        with self._state.lock:
            return jira_attach.stored_bytes(self._state)[ident]

    def _count(self, name: str) -> None:
        with self._state.lock:
            self.calls[name] += 1

    def _authenticate(self, header: str | None) -> Account | Literal["bad", "anonymous"]:
        """The account whose credentials the request carries."""
        if not header:
            return "anonymous"
        scheme, _, credentials = header.strip().partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, token = base64.b64decode(credentials).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return "bad"
            known = self._logins.get(self._login(user))
            return known[1] if known is not None and token == known[0] else "bad"
        if scheme.lower() == "bearer" and self.flavour == "dc":
            given = credentials.strip()
            return next((acc for token, acc in self._logins.values() if token == given), "bad")
        return "bad"

    def _unauthorized(self, who: str) -> Reply:
        if self.flavour == "cloud":
            if who == "bad":  # Cloud answers a wrong email or token in plain text
                return Reply(401, CLOUD_BAD_CREDENTIALS)
            return Reply(401, {"errorMessages": [NOT_AUTHENTICATED], "errors": {}})
        reason = "AUTHENTICATED_FAILED" if who == "bad" else "AUTHENTICATION_DENIED"
        return Reply(
            401,
            {"errorMessages": [NOT_AUTHENTICATED], "errors": {}},
            {"X-Seraph-LoginReason": reason, "WWW-Authenticate": 'Basic realm="Jira"'},
        )


def serve(
    flavour: str,
    port: int,
    tickets: int,
    seed: int = 0,
    host: str = "127.0.0.1",
    latency_ms: float = 0,
) -> None:
    """Serve a demo agency's tickets until Ctrl-C, printing the URL and the credentials."""
    from triage.sandbox.agency import build_agency  # only the standalone server needs the agency

    if flavour not in ("cloud", "dc"):
        raise ValueError(f"flavour must be 'cloud' or 'dc', not {flavour!r}")
    agency = build_agency(tickets, seed, datetime.now(UTC))
    user = "me@agency.example" if flavour == "cloud" else "me"
    sandbox = JiraSandbox.from_agency(agency, flavour=flavour, user=user, latency_ms=latency_ms)
    url = sandbox.start(host, port)
    auth = (
        f"email {sandbox.user} + API token {sandbox.token} (Basic)"
        if flavour == "cloud"
        else f"personal access token {sandbox.token} (Bearer), or {sandbox.user}:{sandbox.token}"
    )
    print(f"Jira {flavour} sandbox with {tickets} tickets at {url}", flush=True)
    print(f"  credentials: {auth}", flush=True)
    print("  Ctrl-C stops it.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve a sandbox Jira with demo tickets.")
    parser.add_argument("--flavour", choices=("cloud", "dc"), default="cloud")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--tickets", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    serve(args.flavour, args.port, args.tickets, args.seed, args.host, args.latency_ms)


if __name__ == "__main__":
    main(sys.argv[1:])
