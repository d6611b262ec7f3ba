"""One site's security update, step by step, continuing after the last step that finished.

branch `<KEY>-<advisory>` from main → composer update of the advisory's package (with its
dependencies) in the site's dev environment, and the new lock committed on the branch →
`composer audit --locked` → push → clone prod into test → deploy the branch there (the
site's deploy commands run the database updates; smoke checks and the site's tests run under
the deploy's rollback) → the test URL and results on the site's ticket, moved to PO Review
→ for packages whose rollout goes on by itself, production after the client's window
(through the release: backup, maintenance, smoke, rollback, audit).

Each step's end is written to the site's rollout row as it happens; a run after a crash
starts at the step after it. "No secure version installable" is an outcome, not a failure.
What touches git, Docker and the site is a `SiteWork` (core.security.site_work for real).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from triage.core.board.changes import BoardChanges, MoveRefused
from triage.core.board.service import Board
from triage.core.config import RolloutSettings
from triage.core.jobs.reporting import Reporter
from triage.core.security.constraints import satisfies
from triage.core.security.lockfile import LockfileError, parse_lock
from triage.core.security.rollout import branch_for
from triage.core.security.versions import VersionError
from triage.core.sites.inventory import Site
from triage.storage import changes
from triage.storage import rollouts as store
from triage.storage.columns import BoardColumn
from triage.storage.errors import TriageError
from triage.storage.jobs import Statement
from triage.storage.models import Advisory, RolloutSite, RolloutState

STEPS = ("branch", "update", "audit", "push", "clone", "deploy", "report", "prod")
"""A site's steps, in order; `prod` only for packages whose rollout goes on to production."""
TEST = "test"


class NoFix(TriageError):
    """No secure version is installable on this site; the reason says why and what to do."""


class UpdateFailed(TriageError):
    """The update went wrong in a way the team must look at (the reason says where)."""


@dataclass(frozen=True)
class Audit:
    """What `composer audit --locked` said."""

    code: int
    output: str


class SiteWork(Protocol):
    """What an update does to a site's repository and environments."""

    def open_branch(self, site: Site, branch: str, reporter: Reporter) -> None:
        """Create the branch from main (or reuse it) and push it."""
        ...

    def composer_update(
        self, site: Site, branch: str, packages: list[str], reporter: Reporter
    ) -> dict[str, str]:
        """Run composer update in dev on the branch; composer.json and composer.lock after it.

        NoFix when Composer refuses (its reason).
        """
        ...

    def commit(
        self, site: Site, branch: str, files: dict[str, str], message: str, reporter: Reporter
    ) -> None:
        """Commit the files on the branch (locally; the push step sends it)."""
        ...

    def audit(self, site: Site, reporter: Reporter) -> Audit:
        """`composer audit --locked` in dev, on the updated lock."""
        ...

    def push(self, site: Site, branch: str, reporter: Reporter) -> str:
        """Push the branch; its sha."""
        ...

    def clone_prod(self, site: Site, env: str, reporter: Reporter) -> None:
        """Clone production (sanitized) into the environment."""
        ...

    def deploy_test(self, site: Site, branch: str, reporter: Reporter) -> list[str]:
        """Deploy the pushed branch to test with smoke checks and the site's tests; results."""
        ...

    def release(self, site: Site, branch: str, key: str, reporter: Reporter) -> str:
        """Merge, deploy to production and tag, through the release; what it did."""
        ...


Save = Callable[[Statement], None]
"""Writes a row change with the job's records: durably before the site's next step runs."""


@dataclass
class UpdateContext:
    """What a site's update needs besides the site: the board, the config, the work, a clock,
    and where its row's changes go (by default, each in its own transaction)."""

    board: Board
    settings: RolloutSettings
    work: SiteWork
    clock: Callable[[], datetime]
    save: Save | None = None
    engine_free: Callable[[], None] | None = None
    """Told once the site's steps left in this run use no Docker engine (its report alone):
    the scheduler then gives its slot to the next site."""

    def record(self, ident: store.SiteId, **values: object) -> None:
        """Write these fields of the site's row."""
        if self.save is not None:
            self.save(store.update_of(ident, self.clock(), **values))
        else:
            store.update(self.board.engine, ident, self.clock(), **values)

    def record_facts(self, key: str, **facts: object) -> None:
        """Record facts about the ticket's work (they never go to Jira)."""
        if self.save is not None:
            self.save(changes.facts_of(key, **facts))
        else:
            changes.record_facts(self.board.engine, key, **facts)


def update_site(
    context: UpdateContext, row: RolloutSite, site: Site, advisory: Advisory, reporter: Reporter
) -> str:
    """Run the site's steps after its last finished one; its one-line outcome.

    Writes the site's state as it ends: tested, waiting (for its production window),
    deployed, no-fix (returns), or failed (raises).
    """
    ident = (row.advisory_id, row.package, row.site)
    key = row.ticket_key or ""
    if not key or key.startswith("NEW-"):
        raise UpdateFailed(
            f"the ticket of {site.id} has not reached Jira yet: run `triage push`, then resume"
        )
    run = _Run(context, row, site, advisory, reporter, key)
    first = STEPS.index(row.step) + 1 if row.step in STEPS else 0
    ended = False
    try:
        for name in STEPS[first:]:
            if name == "prod" and row.stage != "prod":
                break
            if name == "prod" and row.prod_after and row.prod_after > context.clock():
                context.record(ident, state=RolloutState.WAITING)
                return (
                    f"{site.id}: on its test site; production after {row.prod_after:%F %H:%M} UTC"
                )
            reporter.check_cancelled()
            if name == "report" and context.engine_free and not _prod_follows(context, row, site):
                context.engine_free()
            with reporter.step(name):
                getattr(run, "step_" + name)()
            row.step = name
            # One write per step: its end, what it learnt, and the state it leaves the site in.
            values: dict[str, object] = {"step": name, **run.written}
            run.written = {}
            if name == "report" and row.stage == "prod":
                window = timedelta(hours=context.settings.stage(site.package).window_hours)
                row.prod_after = values["prod_after"] = context.clock() + window
                if row.prod_after > context.clock():
                    context.record(ident, state=RolloutState.WAITING, **values)
                    return (
                        f"{site.id}: {run.new_version} on its test site; production after "
                        f"{row.prod_after:%F %H:%M} UTC"
                    )
            elif name in ("report", "prod"):
                values.update(state=_final(row), reason="")
                ended = True
            context.record(ident, **values)
    except NoFix as no_fix:
        context.record(ident, state=RolloutState.NO_FIX, reason=str(no_fix), **run.written)
        reporter.log(f"no secure version installable: {no_fix}")
        run.comment_once(f"No secure version of {advisory.package} is installable on "
                         f"{site.id}: {no_fix}")  # fmt: skip
        return f"{site.id}: no secure version installable: {no_fix}"
    except Exception as error:
        reason = str(error) or type(error).__name__
        context.record(ident, state=RolloutState.FAILED, reason=reason, **run.written)
        raise
    final = _final(row)
    if not ended:  # resumed after its last step, whose write did not set the state
        context.record(ident, state=final, reason="")
    where = "production" if final is RolloutState.DEPLOYED else "its test site"
    return f"{site.id}: {advisory.package} {row.new_version or run.new_version} on {where}"


def _prod_follows(context: UpdateContext, row: RolloutSite, site: Site) -> bool:
    """Whether production follows the report in the same run (no window to wait for)."""
    return row.stage == "prod" and context.settings.stage(site.package).window_hours == 0


def _final(row: RolloutSite) -> RolloutState:
    """Where a site ends once its last step is done."""
    return RolloutState.DEPLOYED if row.step == "prod" else RolloutState.TESTED


class _Run:
    """The steps of one run, sharing what they learn (written to the row with each step)."""

    def __init__(self, context: UpdateContext, row: RolloutSite, site: Site,
                 advisory: Advisory, reporter: Reporter, key: str) -> None:  # fmt: skip
        self.context, self.row, self.site, self.advisory = context, row, site, advisory
        self.reporter, self.key = reporter, key
        self.branch = row.branch or branch_for(key, advisory.id)
        self.new_version = row.new_version
        self.written: dict[str, object] = {}
        self.results: list[str] = []

    def step_branch(self) -> None:
        self.context.work.open_branch(self.site, self.branch, self.reporter)
        self.context.record_facts(self.key, branch=self.branch)
        self.written["branch"] = self.branch

    def step_update(self) -> None:
        package = self.advisory.package
        files = self.context.work.composer_update(self.site, self.branch, [package], self.reporter)
        self.new_version = self._check_lock(files.get("composer.lock", ""))
        self.written["new_version"] = self.new_version
        message = f"{self.key}: update {package} to {self.new_version} ({self.advisory.id})"
        self.context.work.commit(self.site, self.branch, files, message, self.reporter)

    def _check_lock(self, text: str) -> str:
        """The package's version in the new lock; NoFix if it is still affected or uncovered."""
        package = self.advisory.package
        try:
            locked = {entry.name: entry for entry in parse_lock(text)}
        except LockfileError as error:
            raise UpdateFailed(f"composer update left no readable composer.lock: {error}") from None
        entry = locked.get(package)
        if entry is None:
            raise NoFix(f"{package} is no longer in composer.lock after the update: check "
                        "composer.json on the branch")  # fmt: skip
        if entry.coverage and entry.coverage not in ("covered", ""):
            raise NoFix(
                f"{package} {entry.drupal_version or entry.version} is {entry.coverage} by "
                "Drupal's security team: move the site to a supported branch by hand"
            )
        try:
            still = satisfies(entry.version, self.advisory.affected)
        except VersionError:
            still = False
        if still:
            raise NoFix(
                f"Composer kept {package} at {entry.version}, which {self.advisory.affected} "
                "still covers: composer.json allows no secure version; widen its constraint "
                "(e.g. the next minor) on the branch by hand"
            )
        self.reporter.log(f"{package}: {self.row.version or '?'} → {entry.version}")
        return entry.version

    def step_audit(self) -> None:
        audit = self.context.work.audit(self.site, self.reporter)
        named = [self.advisory.id, self.advisory.cve]
        if any(name and name in audit.output for name in named):
            raise UpdateFailed(
                f"composer audit still reports {self.advisory.id} after the update: see the "
                "job's log"
            )
        self.results.append("composer audit: clean for this advisory")

    def step_push(self) -> None:
        sha = self.context.work.push(self.site, self.branch, self.reporter)
        self.reporter.log(f"pushed {self.branch} at {sha}")

    def step_clone(self) -> None:
        self.context.work.clone_prod(self.site, TEST, self.reporter)

    def step_deploy(self) -> None:
        self.results.extend(self.context.work.deploy_test(self.site, self.branch, self.reporter))

    def step_report(self) -> None:
        site = self.site
        url = site.envs[TEST].url if TEST in site.envs else ""
        checks = "; ".join(self.results) if self.results else "smoke checks and tests passed"
        head = (
            f"Security update for {self.advisory.id}: {self.advisory.package} "
            f"{self.row.version or '?'} → {self.new_version} on branch {self.branch}.\n"
        )
        body = f"{head}Test site: {url or '(no URL set for test)'} — {checks}."
        # The fact, the comment and the move in one transaction: all on record, or none.
        with self.context.board.changes(self.key) as change:
            change.facts(test_site_passed=True)
            # A run resumed after the deploy no longer has its results: the head names it.
            self._comment_once(change, body, head)
            column = change.ticket.column
            if column is not None and column.position < BoardColumn.PO_REVIEW.position:
                self._move(change, BoardColumn.PO_REVIEW, "")

    def step_prod(self) -> None:
        with self.context.board.changes(self.key) as change:
            ticket = change.ticket
            if ticket.column is BoardColumn.DONE and ticket.prod_deploy_passed:
                # Released by a run that was killed before its progress was written: the
                # ticket (written with the release's end) says so, and no second deploy runs.
                self.reporter.log(f"{self.key} is Done after its production deploy: not again")
                return
            if change.ticket.column is BoardColumn.PO_REVIEW:
                why = "The client's agreed window for security updates has passed."
                self._move(change, BoardColumn.READY_TO_DEPLOY, why)
            column = change.ticket.column
        if column is not BoardColumn.READY_TO_DEPLOY:
            where = column.value if column else "no column"
            raise UpdateFailed(
                f"{self.key} is in {where}, not Ready To Deploy: production waits until it "
                "is there (move it, then retry the site)"
            )
        done = self.context.work.release(self.site, self.branch, self.key, self.reporter)
        with self.context.board.changes(self.key) as change:
            change.facts(prod_deploy_passed=True)
            self._move(change, BoardColumn.DONE, done)

    def comment_once(self, body: str) -> None:
        """Comment unless the ticket already has this very text."""
        with self.context.board.changes(self.key) as change:
            self._comment_once(change, body)

    @staticmethod
    def _comment_once(change: BoardChanges, body: str, head: str = "") -> None:
        """Comment unless the ticket has this text (or one starting with `head`)."""
        if not change.has_comment(head or body, prefix=bool(head)):
            change.comment(body)

    def _move(self, change: BoardChanges, column: BoardColumn, comment: str) -> None:
        try:
            change.move(column, comment=comment or None)
        except MoveRefused as refused:  # refused before it wrote anything
            self.reporter.log(f"{self.key} not moved to {column.value}: {refused}")
