"""A security update's work on a real site: git on the local checkout, Docker for the rest.

Composer runs in the site's dev environment (its web container, its PHP and Composer) on
the update branch; the new composer.json and composer.lock are read back and committed in
the local checkout, from where the branch is pushed. Clone, deploy and release are the
site operations every ticket uses (core.sites).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from datetime import datetime

from triage.core.config import RolloutSettings
from triage.core.jobs.reporting import Reporter
from triage.core.security.site_update import Audit, NoFix, UpdateFailed
from triage.core.sites.clone import clone_prod
from triage.core.sites.containers import CommandFailed, CommandTimedOut, exec_in
from triage.core.sites.deploy import check_release, deploy
from triage.core.sites.deploy_rules import DeployRequest
from triage.core.sites.environments import Engines
from triage.core.sites.git import Git
from triage.core.sites.inventory import PROD, Site
from triage.core.sites.release import ReleaseSteps, release
from triage.core.sites.site_env import SiteEnv
from triage.storage.columns import BoardColumn
from triage.storage.models import utcnow

Clock = Callable[[], datetime]

DEV, TEST = "dev", "test"
COMPOSER_FILES = ("composer.json", "composer.lock")
_NO_FIX_TAIL = 6
"""Lines of Composer's refusal kept in the reason."""
COMMAND_TIMEOUT = RolloutSettings().command_timeout_seconds
"""Seconds a Composer command may run, unless told (`security.rollout.command_timeout_seconds`)."""
TIMEOUT_ADVICE = (
    "check that the site's Composer repositories answer (composer.json `repositories`, "
    "auth.json), or raise security.rollout.command_timeout_seconds"
)


class DockerSiteWork:
    """`SiteWork` on the site's git remote and Docker engines (one instance per job)."""

    def __init__(
        self,
        engines: Engines | None = None,
        clock: Clock = utcnow,
        command_timeout: float = COMMAND_TIMEOUT,
    ) -> None:
        self.engines = engines or Engines()
        self._owned = engines is None
        self.clock = clock
        self.command_timeout = command_timeout
        """Seconds `composer update` or `composer audit` may run before it is stopped."""

    def close(self) -> None:
        """Close the engines this work opened."""
        if self._owned:
            self.engines.close()

    def open_branch(self, site: Site, branch: str, reporter: Reporter) -> None:
        Git(site, reporter).open_named_branch(branch)

    def composer_update(
        self, site: Site, branch: str, packages: list[str], reporter: Reporter
    ) -> dict[str, str]:
        dev = SiteEnv(self.engines, site, DEV, reporter)
        dev.checkout(f"origin/{branch}")
        command = [*shlex.split(site.composer), "update", *packages, "--with-dependencies",
                   "--no-interaction", "--no-progress", "--no-scripts"]  # fmt: skip
        reporter.log("$ " + shlex.join(command))
        try:
            exec_in(dev.web, command, reporter, workdir=dev.env.code_path,
                    timeout=self.command_timeout)  # fmt: skip
        except CommandTimedOut as stopped:
            raise _stopped(stopped) from None
        except CommandFailed as refused:
            tail = [line.strip() for line in refused.tail[-_NO_FIX_TAIL:] if line.strip()]
            said = " / ".join(tail) or refused.reason
            raise NoFix(f"Composer could not update {', '.join(packages)}: {said}") from None
        files = {}
        for name in COMPOSER_FILES:
            path = f"{dev.env.code_path}/{name}"
            files[name] = exec_in(dev.web, ["cat", path], reporter, read_only=True, echo=False)
        return files

    def commit(
        self, site: Site, branch: str, files: dict[str, str], message: str, reporter: Reporter
    ) -> None:
        sha = Git(site, reporter).commit_files(branch, files, message)
        reporter.log(f"committed {sha}" if sha else "composer.lock was already up to date")

    def audit(self, site: Site, reporter: Reporter) -> Audit:
        dev = SiteEnv(self.engines, site, DEV, reporter)
        command = [*shlex.split(site.composer), "audit", "--locked", "--no-interaction",
                   "--format=plain"]  # fmt: skip
        reporter.log("$ " + shlex.join(command))
        try:
            out = exec_in(dev.web, command, reporter, workdir=dev.env.code_path, read_only=True,
                          timeout=self.command_timeout)  # fmt: skip
            return Audit(0, out)
        except CommandTimedOut as stopped:
            raise _stopped(stopped) from None
        except CommandFailed as found:
            return Audit(found.exit_code, "\n".join(found.tail))

    def push(self, site: Site, branch: str, reporter: Reporter) -> str:
        return Git(site, reporter).push_branch(branch)

    def clone_prod(self, site: Site, env: str, reporter: Reporter) -> None:
        clone_prod(site, env, reporter, self.engines)

    def deploy_test(self, site: Site, branch: str, reporter: Reporter) -> list[str]:
        git = Git(site, reporter)
        git.ensure_checkout()
        request = DeployRequest(site, f"origin/{branch}", TEST, branch=branch, run_tests=True)
        report = deploy(request, reporter, self.engines, git)
        results = [f"smoke: {len(report.smoke)} checks passed"]
        if site.tests:
            results.append(f"tests: {len(site.tests)} commands passed")
        return results

    def release(self, site: Site, branch: str, key: str, reporter: Reporter) -> str:
        git = Git(site, reporter)
        request = DeployRequest(site, branch, PROD, confirm=site.id, branch=branch,
                                ticket_column=BoardColumn.READY_TO_DEPLOY.value)  # fmt: skip
        steps = ReleaseSteps(check=check_release, deploy=deploy)
        done = release(request, key, reporter, git, self.engines, steps, self.clock())
        return (
            f"Security update deployed to production of {site.id}: {branch} merged into "
            f"{site.main_branch} as {done.merged[:10]}, tagged {done.tag}."
        )


def _stopped(timed_out: CommandTimedOut) -> UpdateFailed:
    """A Composer command stopped at its limit: the site fails (not NoFix), saying what to do."""
    return UpdateFailed(f"{timed_out.reason}: {TIMEOUT_ADVICE}")
