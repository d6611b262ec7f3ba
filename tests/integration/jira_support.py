"""The sandbox Jira as the integration tests reach it (a support module, no tests).

Each flavour's API user (the sandbox's login) and the user the tracker sends: Cloud logs in
by e-mail, Data Center with a personal access token and no user.
"""

from __future__ import annotations

from typing import Any

from triage.core.tracker.client import Credentials, JiraTracker
from triage.sandbox.jira_server import JiraSandbox

FLAVOURS = ("cloud", "dc")
SANDBOX_USER = {"cloud": "me@agency.example", "dc": "me"}
CLIENT_USER = {"cloud": "me@agency.example", "dc": ""}


def tracker_for(sandbox: JiraSandbox, flavour: str, **kw: Any) -> JiraTracker:
    """A tracker of the sandbox, logged in as its API user."""
    credentials = Credentials(sandbox.url, sandbox.token, CLIENT_USER[flavour])
    return JiraTracker(credentials, flavour, **kw)  # type: ignore[arg-type]
