"""What a deploy is asked to do, the production rules it must pass, and how it fails.

No Docker here: the board and the actions catalogue import this without loading the SDK.

Exceptions::

    TriageError (core.errors)
    └── DeployError         `report` lists the steps that ran
        ├── DeployRefused   the preflight said no, or the backup failed: nothing was changed
        └── DeployFailed    a step failed; the message says whether the rollback worked
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from triage.core.sites.inventory import PROD, Site
from triage.storage.columns import BoardColumn
from triage.storage.errors import TriageError


class GitChecks(Protocol):
    """What a deploy asks of the site's local checkout (core.git.Git has it)."""

    def resolve(self, ref: str) -> str: ...

    def is_clean(self) -> bool: ...

    def is_merged(self, branch: str) -> bool: ...


class DeployError(TriageError):
    """A deploy did not complete; `report` (a core.deploy.DeployReport) lists its steps."""

    report: Any = None


class DeployRefused(DeployError):
    """The preflight refused the deploy, or the backup failed; nothing was changed."""


class DeployFailed(DeployError):
    """A step of the deploy failed after the backup; the deploy was rolled back."""


@dataclass(frozen=True)
class DeployRequest:
    """What to deploy where, and what the production rules read (the CLI and `x` build one)."""

    site: Site
    ref: str
    env: str
    confirm: str | None = None
    """The site id as the user typed it; production needs it."""
    ticket_column: str | None = None
    """The column of the ticket the deploy is for; production needs Ready To Deploy."""
    branch: str | None = None
    """The ticket's branch; production needs it merged into main."""
    run_tests: bool = False
    """Also run the site's test commands after the smoke checks (rolled back if they fail)."""


def check_rules(request: DeployRequest, git: GitChecks, *, merged: bool) -> None:
    """The production rules: the column, the merge (when `merged`), a clean checkout, a confirm.

    DeployRefused names the first rule that fails; other environments have no rules here.
    """
    site = request.site
    if request.env != PROD:
        return
    try:
        column: BoardColumn | None = BoardColumn.parse(request.ticket_column or "")
    except ValueError:
        column = None
    if column is not BoardColumn.READY_TO_DEPLOY:
        raise DeployRefused(
            f"the ticket is in {request.ticket_column or 'no column'}, not in Ready "
            "To Deploy: move it there once the client accepted, then deploy"
        )
    branch = request.branch or request.ref
    if merged and not git.is_merged(branch):
        raise DeployRefused(
            f"{branch} is not merged into {site.main_branch}: merge it "
            "after review, then deploy to production"
        )
    if not git.is_clean():
        raise DeployRefused(
            f"the local checkout of {site.id} has uncommitted changes: "
            "commit or stash them, then deploy to production"
        )
    if request.confirm != site.id:
        raise DeployRefused(
            f"a production deploy needs a confirmation: type the site id {site.id} to confirm"
        )
