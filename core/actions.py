"""The site actions a ticket offers in its column, and each one's operation, run as a job.

A ticket belongs to a site through its cached `site` (the configured Jira field, or a
`site:<id>` label); without one it offers no site actions, and the catalogue says how to
set it. What an action learns is recorded on the ticket as facts (its branch, a passed test
site, a production deploy), which the workflow's guards read; what it says to the client
goes through the board, so it reaches Jira by the outbox.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from triage.core.board.changes import MoveRefused
from triage.core.board.service import Board
from triage.core.jobs.reporting import Reporter
from triage.core.jobs.runner import JobRunner, Operation
from triage.core.sites.deploy_rules import DeployRequest
from triage.core.sites.git import BranchStatus, Git, branch_name
from triage.core.sites.inventory import PROD, Inventory, Site
from triage.core.sites.release import ReleaseSteps, release
from triage.storage.columns import BoardColumn
from triage.storage.errors import TriageError
from triage.storage.models import Ticket

DEV, TEST = "dev", "test"
WORK_COLUMNS = frozenset({BoardColumn.TODO, BoardColumn.NEEDS_WORK, BoardColumn.IN_PROGRESS})


@dataclass(frozen=True)
class Action:
    """One thing a ticket can have done to its site, as the menu shows it."""

    id: str
    title: str
    description: str
    """What it will do, in one sentence."""
    dangerous: bool = False
    needs_confirm: bool = False
    """Whether it runs only once the user typed the site's id."""
    blocked: str | None = None
    """Why it cannot run now (the menu shows it greyed out with this sentence)."""
    then_offer: BoardColumn | None = None
    """The move worth offering once the job succeeded."""


@dataclass(frozen=True)
class Catalogue:
    """The actions of one ticket; `note` says why there are none when there are none."""

    actions: tuple[Action, ...] = ()
    note: str | None = None

    def get(self, action_id: str) -> Action | None:
        """The action with that id, if the ticket offers it."""
        return next((a for a in self.actions if a.id == action_id), None)


class GitOps(Protocol):
    """What the actions (and the deploy's preflight) use of `core.git.Git`."""

    def ensure_checkout(self) -> Any: ...
    def open_branch(self, key: str, summary: str) -> BranchStatus: ...
    def diff(self, branch: str, stat: bool = False) -> str: ...
    def resolve(self, ref: str) -> str: ...
    def is_clean(self) -> bool: ...
    def is_merged(self, branch: str) -> bool: ...
    def merge_to_main(self, branch: str, key: str) -> str: ...
    def check_mergeable(self, branch: str) -> None: ...
    def tag(self, name: str, ref: str = "HEAD", message: str = "") -> None: ...


class EngineSet(Protocol):
    """What the actions do with `core.environments.Engines` themselves: close it."""

    def close(self) -> None: ...


def _real_git(site: Site, reporter: Reporter) -> GitOps:
    return Git(site, reporter)


# The Docker SDK loads only when an action runs: the board must open fast.
def _real_engines() -> EngineSet:
    from triage.core.sites.environments import Engines

    return Engines()


def _real_clone(*args: Any, **kwargs: Any) -> Any:
    from triage.core.sites.clone import clone_prod

    return clone_prod(*args, **kwargs)


def _real_deploy(*args: Any) -> Any:
    from triage.core.sites.deploy import deploy

    return deploy(*args)


def _real_check_release(*args: Any) -> Any:
    from triage.core.sites.deploy import check_release

    return check_release(*args)


@dataclass(frozen=True)
class SiteTools:
    """The site operations the actions call: the real ones, or fakes in tests."""

    git: Callable[[Site, Reporter], GitOps] = _real_git
    engines: Callable[[], EngineSet] = _real_engines
    clone_prod: Callable[..., Any] = _real_clone
    """`core.clone.clone_prod(site, target, reporter, engines, *, ref, skip_files)`."""
    deploy: Callable[..., Any] = _real_deploy
    """`core.deploy.deploy(request, reporter, engines, git)`."""
    check_release: Callable[..., Any] = _real_check_release
    """`core.deploy.check_release(request, reporter, engines, git)`."""

    @contextmanager
    def docker(self) -> Iterator[EngineSet]:
        """The Docker engines for one operation, closed after it."""
        engines = self.engines()
        try:
            yield engines
        finally:
            engines.close()


@dataclass
class ActionContext:
    """What running an action needs: the ticket, the board, the runner and the sites."""

    key: str
    board: Board
    runner: JobRunner
    inventory: Inventory | None
    tools: SiteTools = field(default_factory=SiteTools)
    confirm: str | None = None
    """The site id the user typed, for actions that need a confirm."""
    dry_run: bool = False


def no_site_note(site_field: str) -> str:
    """How to give a ticket its site."""
    return (
        f'this ticket has no site: fill the Jira field "{site_field}" '
        "or add the label site:<id>, then sync"
    )


def catalogue(ticket: Ticket, inventory: Inventory | None, site_field: str = "Site") -> Catalogue:
    """The actions `ticket` offers in its column, on its site."""
    if not ticket.site:
        return Catalogue(note=no_site_note(site_field))
    if inventory is None:
        return Catalogue(note="no sites inventory is loaded: set sites_file in the config")
    site = inventory.sites.get(ticket.site)
    if site is None:
        return Catalogue(
            note=f"site {ticket.site!r} is not in the sites inventory: add it to sites.toml "
            "or correct the ticket's site"
        )
    column, branch = ticket.column, ticket.branch
    no_branch = "no branch is recorded for this ticket: open its branch first"
    actions: list[Action] = []
    if column in WORK_COLUMNS:
        try:
            name, bad_pattern = branch_name(site, ticket.key, ticket.summary), None
        except TriageError as error:
            name, bad_pattern = "the ticket's branch", str(error)
        actions.append(
            Action(
                "open-branch",
                "Open branch",
                f"Create {name} from {site.main_branch} (or switch to it), push it, "
                "and record how far it is ahead.",
                blocked=bad_pattern,
            )
        )
        if DEV in site.envs:
            actions.append(
                Action(
                    "clone-dev",
                    "Clone prod → dev",
                    f"Copy {site.id}'s production database (sanitized) and files into dev"
                    + (f", then check out {branch}." if branch else "."),
                )
            )
    if column is BoardColumn.QA and TEST in site.envs:
        actions.append(
            Action(
                "build-test",
                "Build test site",
                f"Clone prod into test, deploy {branch or 'the branch'} there, run the smoke "
                "checks, and comment the test URL on the ticket.",
                blocked=None if branch else no_branch,
                then_offer=BoardColumn.PO_REVIEW,
            )
        )
    if column is BoardColumn.READY_TO_DEPLOY:
        actions.append(
            Action(
                "deploy-prod",
                "Deploy to prod",
                f"Merge {branch or 'the branch'} into {site.main_branch}, deploy it to "
                f"{site.id}'s production, tag the release and move the ticket to Done.",
                dangerous=True,
                needs_confirm=True,
                blocked=None if branch else no_branch,
            )
        )
    if branch or column is BoardColumn.CODE_REVIEW:
        actions.append(
            Action(
                "show-diff",
                "Show branch diff",
                f"Show what {branch or 'the branch'} changes against {site.main_branch}.",
                blocked=None if branch else no_branch,
            )
        )
    return Catalogue(tuple(actions))


def actions_for(context: ActionContext) -> Catalogue:
    """The catalogue of the context's ticket."""
    ticket = context.board.ticket(context.key)
    return catalogue(ticket, context.inventory, context.board.settings.jira.fields.site)


def run_action(action_id: str, context: ActionContext) -> int:
    """Submit the action's operation to the runner; the job's id. TriageError if it may not run."""
    ticket = context.board.ticket(context.key)
    found = catalogue(ticket, context.inventory, context.board.settings.jira.fields.site)
    action = found.get(action_id)
    if action is None:
        column = ticket.column.value if ticket.column else "no column"
        raise TriageError(
            found.note
            or f"{ticket.key} in {column} does not offer {action_id!r}: offered are "
            + (", ".join(a.id for a in found.actions) or "none")
        )
    if action.blocked:
        raise TriageError(action.blocked)
    assert context.inventory is not None and ticket.site is not None
    site = context.inventory.site(ticket.site)
    if action.needs_confirm and (context.confirm or "").strip() != site.id:
        raise TriageError(f"{action.title} needs a confirm: type the site id {site.id!r}")
    build = _OPERATIONS[action_id]
    env, ref, operation = build(context, ticket, site)
    return context.runner.submit(
        action_id, site.id, env, ticket.key, ref, context.dry_run, operation
    )


Built = tuple[str | None, str | None, Operation]


def _open_branch(context: ActionContext, ticket: Ticket, site: Site) -> Built:
    def operation(reporter: Reporter) -> str:
        status = context.tools.git(site, reporter).open_branch(ticket.key, ticket.summary)
        if reporter.dry_run:
            return f"dry run: would open {status.branch}"
        with context.board.changes(ticket.key) as change:
            change.facts(branch=status.branch, branch_ahead=status.ahead)
        pushed = "pushed" if status.pushed else "not pushed"
        return (
            f"branch {status.branch} {pushed}, {status.ahead} ahead and "
            f"{status.behind} behind {site.main_branch}"
        )

    return None, branch_name(site, ticket.key, ticket.summary), operation


def _clone_dev(context: ActionContext, ticket: Ticket, site: Site) -> Built:
    def operation(reporter: Reporter) -> str:
        tools = context.tools
        with tools.docker() as engines:
            tools.clone_prod(site, DEV, reporter, engines, ref=ticket.branch)
        at = f" at {ticket.branch}" if ticket.branch else ""
        return f"prod of {site.id} cloned into dev{at}: {site.envs[DEV].url or 'no URL set'}"

    return DEV, ticket.branch, operation


def _build_test(context: ActionContext, ticket: Ticket, site: Site) -> Built:
    branch = ticket.branch or ""
    column = ticket.column.value if ticket.column else None

    def operation(reporter: Reporter) -> str:
        tools = context.tools
        git = tools.git(site, reporter)
        # QA tests what was pushed, not what this machine's checkout last saw.
        git.ensure_checkout()
        pushed = f"origin/{branch}"
        with tools.docker() as engines:
            tools.clone_prod(site, TEST, reporter, engines)
            request = DeployRequest(site, pushed, TEST, ticket_column=column, branch=branch)
            tools.deploy(request, reporter, engines, git)
        url = site.envs[TEST].url or "(no URL set for test)"
        if reporter.dry_run:
            return f"dry run: would build the test site {url} from {branch}"
        with context.board.changes(ticket.key) as change:
            change.facts(test_site_passed=True)
            change.comment(f"Test site built from {branch} and its smoke checks passed: {url}")
        return f"test site {url} built from {branch}; {ticket.key} can move to PO Review"

    return TEST, branch, operation


def _deploy_prod(context: ActionContext, ticket: Ticket, site: Site) -> Built:
    branch = ticket.branch or ""
    request = DeployRequest(
        site,
        branch,
        PROD,
        confirm=context.confirm,
        ticket_column=ticket.column.value if ticket.column else None,
        branch=branch,
    )

    def operation(reporter: Reporter) -> str:
        tools = context.tools
        git = tools.git(site, reporter)
        steps = ReleaseSteps(check=tools.check_release, deploy=tools.deploy)
        with tools.docker() as engines:
            done = release(
                request, ticket.key, reporter, git, engines, steps, context.runner.clock()
            )
        if reporter.dry_run:
            return f"dry run: would merge {branch}, deploy it to prod of {site.id}, tag {done.tag}"
        summary = (
            f"Deployed {branch} to production of {site.id} "
            f"({site.envs[PROD].url or 'no URL set'}): merged into {site.main_branch} "
            f"as {done.merged[:10]}, tagged {done.tag}."
        )
        with context.board.changes(ticket.key) as change:
            change.facts(prod_deploy_passed=True)
            try:
                change.move(BoardColumn.DONE, comment=summary)
            except MoveRefused as refused:  # refused before it wrote anything
                reporter.log(f"not moved to Done: {refused}")
                change.comment(summary)
        return summary

    return PROD, branch, operation


def _show_diff(context: ActionContext, ticket: Ticket, site: Site) -> Built:
    branch = ticket.branch or ""

    def operation(reporter: Reporter) -> str:
        git = context.tools.git(site, reporter)
        git.ensure_checkout()
        stat = git.diff(branch, stat=True)
        for line in stat.splitlines():
            reporter.log(line)
        for line in git.diff(branch).splitlines():
            reporter.log(line)
        totals = stat.strip().splitlines()
        return f"{branch} against {site.main_branch}: " + (
            totals[-1].strip() if totals else "no changes"
        )

    return None, branch, operation


_OPERATIONS: dict[str, Callable[[ActionContext, Ticket, Site], Built]] = {
    "open-branch": _open_branch,
    "clone-dev": _clone_dev,
    "build-test": _build_test,
    "deploy-prod": _deploy_prod,
    "show-diff": _show_diff,
}
