"""The sandbox Jira fixtures the integration tests share: the flavour, the sandbox serving the
module's `agency` (each module sets its own), and a tracker logged in to it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from jira_support import FLAVOURS, SANDBOX_USER, tracker_for

from triage.core.tracker.client import JiraTracker
from triage.sandbox.agency import Agency
from triage.sandbox.jira_server import JiraSandbox


@pytest.fixture(params=FLAVOURS)
def flavour(request: pytest.FixtureRequest) -> str:
    """Each test runs against Jira Cloud and Jira Data Center."""
    return str(request.param)


@pytest.fixture
def sandbox(agency: Agency, flavour: str) -> Iterator[JiraSandbox]:
    """The sandbox Jira serving the module's agency, in the test's flavour."""
    sb = JiraSandbox.from_agency(agency, flavour=flavour, user=SANDBOX_USER[flavour])
    sb.start()
    try:
        yield sb
    finally:
        sb.stop()


@pytest.fixture
def tracker(sandbox: JiraSandbox, flavour: str) -> JiraTracker:
    """A tracker logged in to the sandbox as its API user."""
    return tracker_for(sandbox, flavour)
