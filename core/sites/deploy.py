"""Deploy a ref to an environment of a site (DESIGN.md, "Operations on a site").

Steps, each timed through the reporter and listed in the `DeployReport`: preflight · backup
(the environment's database, to a file in its db container) · maintenance on · code (the
ref's commit checked out in the web container) · deploy commands · maintenance off · smoke.

The preflight changes nothing. For every environment it checks that the engine answers, the
containers exist and the ref resolves, locally and in the web container's repository. For
production it also wants the ticket in Ready To Deploy, the branch merged into main, a clean
local checkout, and `confirm` equal to the site id (the user typed it).

Any failure after the backup is rolled back: the database restored from the backup, the code
back at the commit it was at, maintenance off; the rollback's steps are in the report. In a
dry run every command (docker exec lines, SQL, git) is printed and nothing is changed.

Exceptions::

    TriageError (core.errors)
    └── DeployError         `report` lists the steps that ran
        ├── DeployRefused   the preflight said no, or the backup failed: nothing was changed
        └── DeployFailed    a step failed; the message says whether the rollback worked
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import docker.errors
import requests

from triage.core.jobs.reporting import Reporter
from triage.core.sites.environments import Engines
from triage.core.sites.inventory import PROD, Site
from triage.core.sites.site_env import (
    SiteEnv,
    StepResult,
    reason,
    refuse_prod_containers,
    timed_step,
)
from triage.core.sites.smoke import SmokeResult, check_site
from triage.storage.columns import BoardColumn
from triage.storage.errors import TriageError

_FAILURES = (TriageError, docker.errors.DockerException, requests.RequestException, OSError)


class GitChecks(Protocol):
    """What a deploy asks of the site's local checkout (core.git.Git has it)."""

    def resolve(self, ref: str) -> str: ...

    def is_clean(self) -> bool: ...

    def is_merged(self, branch: str) -> bool: ...


class DeployError(TriageError):
    """A deploy did not complete; `report` lists the steps that ran."""

    report: DeployReport | None = None


class DeployRefused(DeployError):
    """The preflight refused the deploy, or the backup failed; nothing was changed."""


class DeployFailed(DeployError):
    """A step of the deploy failed after the backup; the deploy was rolled back."""


@dataclass
class DeployReport:
    """What a deploy did: its steps and times, the commits, the backup, and any rollback."""

    site: str
    env: str
    ref: str
    dry_run: bool = False
    sha: str = ""
    previous_sha: str = ""
    backup: str = ""
    steps: list[StepResult] = field(default_factory=list)
    rollback: list[StepResult] = field(default_factory=list)
    rolled_back: bool = False
    smoke: list[SmokeResult] = field(default_factory=list)


def deploy(
    site: Site,
    ref: str,
    env: str,
    reporter: Reporter,
    engines: Engines,
    git: GitChecks,
    *,
    confirm: str | None = None,
    ticket_column: str | None = None,
    branch: str | None = None,
) -> DeployReport:
    """Put `ref` on env `env` of `site`, safely: preflight, backup, and a rollback on failure."""
    report = DeployReport(site.id, env, ref, dry_run=reporter.dry_run)
    try:
        with timed_step(reporter, report.steps, "preflight"):
            target = _preflight(
                site,
                ref,
                env,
                reporter,
                engines,
                git,
                report,
                confirm=confirm,
                ticket_column=ticket_column,
                branch=branch,
            )
        with timed_step(reporter, report.steps, "backup"):
            report.backup = target.backup()
    except _FAILURES as error:
        if isinstance(error, DeployError):
            error.report = report
            raise
        refused = DeployRefused(
            f"the deploy of {ref} to {env} of {site.id} changed nothing: {error}"
        )
        refused.report = report
        raise refused from error

    steps: list[tuple[str, Callable[[], object]]] = [
        ("maintenance on", lambda: target.run(site.maintenance_on)),
        ("code", lambda: target.checkout(report.sha, fetch=False)),
        ("deploy commands", lambda: target.run(site.deploy)),
        ("maintenance off", lambda: target.run(site.maintenance_off)),
        (
            "smoke",
            lambda: report.smoke.extend(check_site(target.url(), target.env.smoke, reporter)),
        ),
    ]
    for name, action in steps:
        try:
            with timed_step(reporter, report.steps, name):
                action()
        except _FAILURES as error:
            raise _rolled_back(target, report, reporter, name, error) from error
    return report


def _refuse(report: DeployReport, message: str) -> DeployRefused:
    refused = DeployRefused(message)
    refused.report = report
    return refused


def _preflight(
    site: Site,
    ref: str,
    env: str,
    reporter: Reporter,
    engines: Engines,
    git: GitChecks,
    report: DeployReport,
    *,
    confirm: str | None,
    ticket_column: str | None,
    branch: str | None,
) -> SiteEnv:
    """Check everything a deploy needs, change nothing; the target environment."""
    refuse_prod_containers(site, env)
    if env == PROD:
        try:
            column: BoardColumn | None = BoardColumn.parse(ticket_column or "")
        except ValueError:
            column = None
        if column is not BoardColumn.READY_TO_DEPLOY:
            raise _refuse(
                report,
                f"the ticket is in {ticket_column or 'no column'}, not in Ready "
                "To Deploy: move it there once the client accepted, then deploy",
            )
        merged = branch or ref
        if not git.is_merged(merged):
            raise _refuse(
                report,
                f"{merged} is not merged into {site.main_branch}: merge it "
                "after review, then deploy to production",
            )
        if not git.is_clean():
            raise _refuse(
                report,
                f"the local checkout of {site.id} has uncommitted changes: "
                "commit or stash them, then deploy to production",
            )
        if confirm != site.id:
            raise _refuse(
                report,
                f"a production deploy needs a confirmation: type the site id {site.id} to confirm",
            )
    report.sha = git.resolve(ref)
    reporter.log(f"{ref} is {report.sha}")
    target = SiteEnv(engines, site, env, reporter)
    if not reporter.dry_run:
        target.fetch()
        if target.resolve(report.sha) != report.sha:
            raise _refuse(
                report, f"{target.web.name} cannot see {report.sha}: push {ref}, then deploy again"
            )
    report.previous_sha = target.head()
    reporter.log(f"{target.web.name} is at {report.previous_sha}")
    return target


def _rolled_back(
    target: SiteEnv, report: DeployReport, reporter: Reporter, failed: str, error: BaseException
) -> DeployFailed:
    """Restore database and code and switch maintenance off; the error that says how it went."""
    what = (
        f"the deploy of {report.ref} to {report.env} of {report.site} failed at {failed}"
        f" ({reason(error)})"
    )
    undo: list[tuple[str, Callable[[], object]]] = [
        ("rollback: restore database", lambda: target.restore(report.backup)),
        ("rollback: restore code", lambda: target.checkout(report.previous_sha, fetch=False)),
        ("rollback: maintenance off", lambda: target.run(target.site.maintenance_off)),
    ]
    broken: list[str] = []
    for name, action in undo:
        try:
            with timed_step(reporter, report.rollback, name, cancellable=False):
                action()
        except _FAILURES as trouble:
            broken.append(f"{name.removeprefix('rollback: ')} ({reason(trouble)})")
    report.rolled_back = not broken
    if broken:
        message = (
            f"{what}, and the rollback failed too: {'; '.join(broken)}: restore "
            f"{target.db.name}:{report.backup} and check out {report.previous_sha} by hand"
        )
    else:
        message = (
            f"{what} and was rolled back (database from {report.backup}, code at "
            f"{report.previous_sha[:10]}, maintenance off): fix the cause, then deploy again"
        )
    failure = DeployFailed(message)
    failure.report = report
    return failure
