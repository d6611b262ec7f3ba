"""Attachments through the tracker adapter, against the sandbox's Jira-shaped endpoint."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from jira_support import CLIENT_USER, SANDBOX_USER

from triage.core.tracker.client import Credentials, JiraTracker
from triage.sandbox.agency import build_agency
from triage.sandbox.jira_server import JiraSandbox


@pytest.fixture(params=["cloud", "dc"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[JiraSandbox]:
    agency = build_agency(tickets=5, seed=1)
    sb = JiraSandbox.from_agency(agency, flavour=request.param, user=SANDBOX_USER[request.param])
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


def test_a_file_is_attached_once_per_call_with_its_bytes(sandbox: JiraSandbox) -> None:
    flavour = sandbox.flavour
    tracker = JiraTracker(Credentials(sandbox.url, sandbox.token, CLIENT_USER[flavour]), flavour)
    data = bytes(range(256)) * 4
    made = tracker.add_attachment("SUP-1", "dump.bin", data, "application/octet-stream")
    assert (made["filename"], made["size"]) == ("dump.bin", len(data))
    assert sandbox.attachment(str(made["id"])) == data
    listed = tracker.issue("SUP-1", ["attachment"])["fields"]["attachment"]
    assert [a["filename"] for a in listed] == ["dump.bin"]


def test_without_the_xsrf_header_jira_refuses(sandbox: JiraSandbox) -> None:
    auth: dict[str, Any] = (
        {"auth": (SANDBOX_USER["cloud"], sandbox.token)}
        if sandbox.flavour == "cloud"
        else {"headers": {"Authorization": f"Bearer {sandbox.token}"}}
    )
    answer = requests.post(
        f"{sandbox.url}/rest/api/2/issue/SUP-1/attachments",
        files={"file": ("a.txt", b"hello", "text/plain")},
        timeout=10,
        **auth,
    )
    assert answer.status_code == 403
    assert "XSRF check failed" in answer.text
