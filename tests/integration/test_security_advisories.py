"""Advisory feeds served on loopback by a tiny http.server: the Packagist shape with the broken
entries seen in the wild, `updatedSince` remembered per feed, Drupal's psa.json, a feed down."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy.engine import Engine

from triage.core.config import SecuritySettings
from triage.core.security.advisories import AdvisoryError, add_manual, poll
from triage.storage import security as rows

ENTRIES: list[Any] = [
    {   # no `sources`, reportedAt without a T, a space after >=, || between ranges
        "advisoryId": "SA-CORE-2025-001", "packageName": "drupal/core",
        "affectedVersions": ">= 8.0.0 <10.4.9 || >=11.0.0 <11.1.9",
        "title": "Drupal core - Critical", "link": "https://www.drupal.org/sa-core-2025-001",
        "cve": None, "reportedAt": "2025-11-19 17:00:00", "severity": "critical",
    },
    {   # | between ranges and a wildcard, with sources
        "advisoryId": "SA-CORE-2025-002", "packageName": "drupal/core",
        "affectedVersions": "11.2.*|>=10.6.0,<10.6.3", "reportedAt": "2025-11-26T17:00:00+00:00",
        "severity": None, "sources": [{"name": "drupal.org", "remoteId": "x"}],
    },
    {"advisoryId": "SA-BROKEN-1", "packageName": "drupal/core", "affectedVersions": ">=1.0 <<2"},
    "not an object",
    {"packageName": "drupal/core", "affectedVersions": "<1.0"},
]  # fmt: skip
PSA = [
    {"title": "Drupal core - PSA", "link": "https://www.drupal.org/psa-2025-11-18",
     "project": "drupal", "type": "core", "insecure": [], "is_psa": 1,
     "pubDate": "Tue, 18 Nov 2025 14:00:00 +0000"},
    {"title": "Token - SA", "link": "https://www.drupal.org/sa-contrib-2025-200",
     "project": "token", "type": "module", "insecure": ["1.13.0", "1.14.0"], "is_psa": 0},
    {"nothing": "useful"},
]  # fmt: skip


class Feed:
    """What the fake server answers, and the queries it was asked."""

    def __init__(self) -> None:
        self.queries: list[dict[str, list[str]]] = []
        self.down = False


@pytest.fixture
def feed() -> Iterator[tuple[Feed, str]]:
    state = Feed()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            url = urlparse(self.path)
            if url.path == "/advisories":
                state.queries.append(parse_qs(url.query))
                body, status = json.dumps({"advisories": {"drupal/core": ENTRIES}}), 200
            elif url.path == "/psa.json":
                body, status = json.dumps(PSA), 200
            else:
                body, status = "<html>oops</html>", 503
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def settings(base: str, **feeds: str) -> SecuritySettings:
    return SecuritySettings(
        feeds={"drupal": f"{base}/advisories", **feeds}, psa_url=f"{base}/psa.json",
        timeout_seconds=10,
    )  # fmt: skip


def test_poll_reads_what_it_can_and_reports_the_rest(
    engine: Engine, feed: tuple[Feed, str]
) -> None:
    state, base = feed
    report = poll(engine, settings(base))

    assert report.new == 4 and not report.failed_feeds
    kept = {(a.id, a.package): a for a in rows.advisories(engine)}
    first = kept[("SA-CORE-2025-001", "drupal/core")]
    assert first.affected == ">= 8.0.0 <10.4.9 || >=11.0.0 <11.1.9"
    assert first.reported_at is not None and first.reported_at.hour == 17
    assert kept[("SA-CORE-2025-002", "drupal/core")].severity == ""
    assert kept[("psa-2025-11-18", "drupal/core")].kind == "psa"
    token = kept[("sa-contrib-2025-200", "drupal/token")]
    assert (token.kind, token.affected) == ("advisory", "1.13.0 || 1.14.0")
    problems = "\n".join(report.problems)
    assert "SA-BROKEN-1 of drupal/core: affectedVersions" in problems
    assert "drupal/core[3] is not an object" in problems
    assert "drupal/core[4] has no advisoryId" in problems
    assert "psa: entry 2 has no title or link" in problems
    assert len(report.problems) == 4


def test_the_next_poll_asks_only_what_changed_since_the_last(
    engine: Engine, feed: tuple[Feed, str]
) -> None:
    state, base = feed
    poll(engine, settings(base))
    first = int(state.queries[0]["updatedSince"][0])
    remembered = rows.polled(engine, "drupal")
    assert remembered is not None

    again = poll(engine, settings(base))

    assert int(state.queries[1]["updatedSince"][0]) == int(remembered.timestamp()) > first
    assert (again.new, again.seen) == (0, 4)


def test_a_feed_that_is_down_is_reported_and_the_others_go_on(
    engine: Engine, feed: tuple[Feed, str]
) -> None:
    _, base = feed
    report = poll(engine, settings(base, packagist=f"{base}/down"))

    assert report.failed_feeds == ["packagist"]
    (down,) = [problem for problem in report.problems if "packagist" in problem]
    assert "feed packagist at" in down and "HTTP 503" in down and "check security.feeds" in down
    assert rows.polled(engine, "packagist") is None
    assert rows.polled(engine, "drupal") is not None and report.new == 4


def test_an_advisory_typed_by_hand(engine: Engine) -> None:
    added = add_manual(
        engine, "SA-CORE-2025-009", "Drupal/Core", " >=10.0 <10.4.9 || 11.0.* ", severity="High"
    )
    assert (added.package, added.affected, added.severity, added.source) == (
        "drupal/core", ">=10.0 <10.4.9 || 11.0.*", "high", "manual"
    )  # fmt: skip
    with pytest.raises(AdvisoryError, match="not a Composer constraint"):
        add_manual(engine, "X-1", "drupal/core", ">=10.0 <<10.4")
    with pytest.raises(AdvisoryError, match="vendor/name"):
        add_manual(engine, "X-1", "core", "<1")
    with pytest.raises(AdvisoryError, match="severity"):
        add_manual(engine, "X-1", "drupal/core", "<1", severity="urgent")
