"""A release to production: every check first, then merge, deploy and tag, in that order.

The `x` panel's "Deploy to prod" and `triage deploy … --to prod` both run `release`. Nothing
is merged until the production rules (ticket in Ready To Deploy, the site id typed, a clean
checkout), the engine and the containers have all answered, and the branch merges without a
conflict. When the deploy fails after the merge, the error says that main still holds the
merge, and how to take it back, so the next deploy does not ship it unnoticed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from triage.core.jobs.reporting import Reporter
from triage.core.sites.deploy_rules import DeployError, DeployFailed, DeployRequest


class ReleaseGit(Protocol):
    """What a release asks of the site's checkout (core.git.Git has it)."""

    def ensure_checkout(self) -> Any: ...
    def resolve(self, ref: str) -> str: ...
    def is_clean(self) -> bool: ...
    def is_merged(self, branch: str) -> bool: ...
    def check_mergeable(self, branch: str) -> None: ...
    def merge_to_main(self, branch: str, key: str) -> str: ...
    def tag(self, name: str, ref: str = "HEAD", message: str = "") -> None: ...


@dataclass(frozen=True)
class ReleaseSteps:
    """The deploy calls a release makes: the real ones (core.deploy), or fakes in tests."""

    check: Callable[[DeployRequest, Reporter, Any, Any], object]
    """`core.deploy.check_release`: the rules and the engine, before anything changes."""
    deploy: Callable[[DeployRequest, Reporter, Any, Any], object]
    """`core.deploy.deploy`."""


@dataclass(frozen=True)
class Released:
    """What a release did: the merge on main, and the deploy tag."""

    merged: str
    tag: str


@dataclass
class _MergedFirst:
    """The checkout as a dry run's deploy preflight should see it: the branch merged."""

    git: ReleaseGit
    branch: str

    def resolve(self, ref: str) -> str:
        return self.git.resolve(ref)

    def is_clean(self) -> bool:
        return self.git.is_clean()

    def is_merged(self, branch: str) -> bool:
        return branch == self.branch or self.git.is_merged(branch)


def release(
    request: DeployRequest,
    key: str,
    reporter: Reporter,
    git: ReleaseGit,
    engines: Any,
    steps: ReleaseSteps,
    now: datetime,
) -> Released:
    """Merge `request.branch` into main, deploy main to prod and tag it, once all checks pass."""
    site, branch = request.site, request.branch or request.ref
    git.ensure_checkout()
    checked = replace(request, ref=branch, branch=branch)
    steps.check(checked, reporter, engines, git)
    git.check_mergeable(branch)
    reporter.check_cancelled()
    main_before = git.resolve(f"origin/{site.main_branch}")
    merged = git.merge_to_main(branch, key)
    new_merge = bool(merged) and merged != main_before
    reviewer: ReleaseGit | _MergedFirst = _MergedFirst(git, branch) if reporter.dry_run else git
    try:
        steps.deploy(replace(checked, ref=merged or branch), reporter, engines, reviewer)
    except DeployError as error:
        if not new_merge:
            raise
        kept = DeployFailed(
            f"{error}; {site.main_branch} of {site.id} still holds the merge of {branch} "
            f"({merged[:10]}), which the next production deploy would ship: take it back "
            f"with `git revert -m 1 {merged[:10]}` and push {site.main_branch}, or fix the "
            "cause and deploy again"
        )
        kept.report = error.report
        raise kept from error
    # The key makes the name unique even for two deploys in the same second.
    tag = f"deploy-{key}-{now:%Y%m%d-%H%M%S}"
    git.tag(tag, merged or site.main_branch, f"{key}: {branch} deployed to prod")
    return Released(merged, tag)
