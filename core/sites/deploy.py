"""Deploy a ref to an environment of a site (DESIGN.md, "Operations on a site").

Steps, each timed through the reporter and listed in the `DeployReport`: preflight · backup
(the environment's database, to a file in its db container) · maintenance on · code (the
ref's commit checked out in the web container) · deploy commands · maintenance off · smoke
· the site's tests, when the request asks for them (a security update on its test site).

The preflight changes nothing. For every environment it checks that the engine answers, the
containers exist and the ref resolves, locally and in the web container's repository. For
production it also wants the ticket in Ready To Deploy, the branch merged into main, a clean
local checkout, and `confirm` equal to the site id (the user typed it).

Any failure after the backup is rolled back: the database restored from the backup, the code
back at the commit it was at (then the site's `restore` commands), maintenance off; the
rollback's steps are in the report. In a dry run every command (docker exec lines, SQL, git)
is printed and nothing is changed.

The request, the production rules and the exceptions live in core.deploy_rules (no Docker).
`check_release` runs the production rules and the engine checks that need no merge yet; a
release to production (core.release) runs it before it merges anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import docker.errors
import requests

from triage.core.jobs.reporting import Reporter
from triage.core.sites.deploy_rules import (
    DeployError,
    DeployFailed,
    DeployRefused,
    DeployRequest,
    GitChecks,
    check_rules,
)
from triage.core.sites.environments import Engines
from triage.core.sites.site_env import (
    SiteEnv,
    StepResult,
    reason,
    refuse_prod_containers,
    timed_step,
)
from triage.core.sites.smoke import SmokeResult, check_site
from triage.storage.errors import TriageError

_FAILURES = (TriageError, docker.errors.DockerException, requests.RequestException, OSError)


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
    request: DeployRequest, reporter: Reporter, engines: Engines, git: GitChecks
) -> DeployReport:
    """Put the request's ref on its env, safely: preflight, backup, and a rollback on failure."""
    site, ref, env = request.site, request.ref, request.env
    report = DeployReport(site.id, env, ref, dry_run=reporter.dry_run)
    try:
        with timed_step(reporter, report.steps, "preflight"):
            target = _preflight(request, reporter, engines, git, report)
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
    if request.run_tests and site.tests:
        steps.append(("tests", lambda: target.run(site.tests)))
    for name, action in steps:
        try:
            with timed_step(reporter, report.steps, name):
                action()
        except _FAILURES as error:
            raise _rolled_back(target, report, reporter, name, error) from error
    return report


def check_release(
    request: DeployRequest, reporter: Reporter, engines: Engines, git: GitChecks
) -> None:
    """Every check of a production deploy that can run before the branch is merged.

    The release runs this first, so that a refusal (wrong column, no confirm, engine down,
    containers missing) comes before the merge and changes nothing.
    """
    report = DeployReport(request.site.id, request.env, request.ref, dry_run=reporter.dry_run)
    try:
        _checked(report, request, git, merged=False)
        target = SiteEnv(engines, request.site, request.env, reporter)
        target.head()
        target.sql("SELECT 1", read_only=True)
    except _FAILURES as error:
        if isinstance(error, DeployError):
            raise
        raise _refuse(
            report,
            f"the deploy of {request.ref} to {request.env} of {request.site.id} "
            f"changed nothing: {error}",
        ) from error


def _preflight(
    request: DeployRequest,
    reporter: Reporter,
    engines: Engines,
    git: GitChecks,
    report: DeployReport,
) -> SiteEnv:
    """Check everything a deploy needs, change nothing; the target environment."""
    _checked(report, request, git, merged=True)
    ref = request.ref
    report.sha = git.resolve(ref)
    reporter.log(f"{ref} is {report.sha}")
    target = SiteEnv(engines, request.site, request.env, reporter)
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
    if target.site.restore:  # before maintenance ends: vendor/ back in step with the code
        undo.insert(2, ("rollback: restore commands", lambda: target.run(target.site.restore)))
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


def _refuse(report: DeployReport, message: str) -> DeployRefused:
    refused = DeployRefused(message)
    refused.report = report
    return refused


def _checked(report: DeployReport, request: DeployRequest, git: GitChecks, *, merged: bool) -> None:
    """The production rules (core.deploy_rules), refusals carrying this deploy's report."""
    refuse_prod_containers(request.site, request.env)
    try:
        check_rules(request, git, merged=merged)
    except DeployRefused as refused:
        refused.report = report
        raise
