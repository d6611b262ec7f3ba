"""The actions a ticket offers per column, and what each records, with fake site operations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from triage.core.actions import ActionContext, SiteTools, catalogue, run_action
from triage.core.board.service import Board
from triage.core.config import Settings
from triage.core.jobs.reporting import Reporter
from triage.core.jobs.runner import JobRunner
from triage.core.sites.deploy_rules import DeployFailed, DeployRefused, DeployRequest, check_rules
from triage.core.sites.git import BranchStatus, branch_name
from triage.core.sites.inventory import Inventory, Site, load_inventory
from triage.storage.columns import BoardColumn
from triage.storage.db import session_scope
from triage.storage.errors import TriageError
from triage.storage.models import JobState, OutboxEntry, OutboxKind, Ticket

TicketRow = Callable[..., dict[str, Any]]
"""The `ticket_row` fixture of tests/conftest.py."""

WAIT_S = 20.0
SITES = """
[sites.acme]
name = "Acme main site"
client = "Acme Corp"
repo = "git@git.example:acme/www.git"
checkout = "/tmp/acme"

[sites.acme.envs.prod]
web_container = "acme-prod-web"
db_container = "acme-prod-db"
url = "https://www.acme.example"

[sites.acme.envs.test]
web_container = "acme-test-web"
db_container = "acme-test-db"
url = "https://test.acme.example"

[sites.acme.envs.dev]
web_container = "acme-dev-web"
db_container = "acme-dev-db"

[sites.bare]
name = "Prod only"
client = "Bare Ltd"
repo = "git@git.example:bare/www.git"
checkout = "/tmp/bare"

[sites.bare.envs.prod]
web_container = "bare-web"
db_container = "bare-db"
"""
SHA = "f" * 40
MERGED = "a" * 40

"""The `ticket_row` fixture (tests/conftest.py): a ticket's column values."""


@dataclass
class Fakes:
    """Fake git, engines, clone and deploy that note each call."""

    calls: list[tuple[Any, ...]] = field(default_factory=list)
    merged: set[str] = field(default_factory=set)
    fail_deploy: str | None = None
    refuse_release: str | None = None
    """What the engine check says before the merge (say, the engine is down)."""

    def tools(self) -> SiteTools:
        return SiteTools(
            git=lambda site, reporter: FakeGit(self, site, reporter),
            engines=FakeEngines,
            clone_prod=self.clone_prod,
            deploy=self.deploy,
            check_release=self.check_release,
        )

    def clone_prod(
        self, site: Site, target: str, reporter: Reporter, engines: Any, **kw: Any
    ) -> str:
        with reporter.step(f"clone prod into {target}"):
            reporter.log("importing")
        self.calls.append(("clone", site.id, target, kw.get("ref")))
        return "clone report"

    def check_release(
        self, request: DeployRequest, reporter: Reporter, engines: Any, git: Any
    ) -> None:
        self.calls.append(("check", request.site.id, request.branch, request.ticket_column))
        check_rules(request, git, merged=False)  # the real rules, on the fake checkout
        if self.refuse_release:
            raise DeployRefused(self.refuse_release)

    def deploy(self, request: DeployRequest, reporter: Reporter, engines: Any, git: Any) -> str:
        site, ref, env = request.site, request.ref, request.env
        check_rules(request, git, merged=True)  # as the real preflight
        with reporter.step(f"deploy {ref} to {env}"):
            reporter.log(f"$ drush deploy ({'dry run' if reporter.dry_run else 'run'})")
            if self.fail_deploy:
                raise DeployFailed(self.fail_deploy)
        self.calls.append(("deploy", site.id, ref, env, request.confirm, request.ticket_column))
        return "deploy report"


class FakeEngines:
    def close(self) -> None:
        pass


@dataclass
class FakeGit:
    fakes: Fakes
    site: Site
    reporter: Reporter

    def ensure_checkout(self) -> Path:
        return self.site.checkout_path

    def open_branch(self, key: str, summary: str) -> BranchStatus:
        name = branch_name(self.site, key, summary)
        self.fakes.calls.append(("open_branch", name))
        return BranchStatus(name, True, True, 2, 1, SHA)

    def diff(self, branch: str, stat: bool = False) -> str:
        if stat:
            return " web/index.php | 2 +-\n 1 file changed, 1 insertion(+), 1 deletion(-)\n"
        return "diff --git a/web/index.php b/web/index.php\n-old\n+new\n"

    def resolve(self, ref: str) -> str:
        return SHA

    def is_clean(self) -> bool:
        return True

    def is_merged(self, branch: str) -> bool:
        return branch in self.fakes.merged

    def check_mergeable(self, branch: str) -> None:
        self.fakes.calls.append(("mergeable", branch))

    def merge_to_main(self, branch: str, key: str) -> str:
        self.fakes.calls.append(("merge", branch, key))
        if self.reporter.dry_run:
            return ""
        self.fakes.merged.add(branch)
        return MERGED

    def tag(self, name: str, ref: str = "HEAD", message: str = "") -> None:
        self.fakes.calls.append(("tag", ref, message))


@pytest.fixture
def inventory(tmp_path: Path) -> Inventory:
    path = tmp_path / "sites.toml"
    path.write_text(SITES, encoding="utf-8")
    return load_inventory(path)


@pytest.fixture
def board(engine: Engine) -> Board:
    return Board(engine, Settings(me="Sam Senior"))


@pytest.fixture
def runner(engine: Engine) -> Iterator[JobRunner]:
    jobs = JobRunner(engine, max_jobs=2, actor="Sam Senior")
    try:
        yield jobs
    finally:
        jobs.close(timeout=WAIT_S)


def add_ticket(
    engine: Engine, ticket_row: TicketRow, key: str, column: BoardColumn, **facts: Any
) -> Ticket:
    site = facts.pop("site", "acme")
    ticket = Ticket(
        **ticket_row(key, column=column, site=site, summary="Fix the contact form"), **facts
    )
    with session_scope(engine) as session:
        session.add(ticket)
    return ticket


def ids(ticket: Ticket, inventory: Inventory) -> list[str]:
    return [action.id for action in catalogue(ticket, inventory).actions]


def make(key: str, column: BoardColumn | None, ticket_row: TicketRow, **facts: Any) -> Ticket:
    site = facts.pop("site", "acme")
    return Ticket(**ticket_row(key, column=column, site=site), **facts)


@pytest.mark.parametrize(
    ("column", "branch", "expected"),
    [
        (BoardColumn.TODO, None, ["open-branch", "clone-dev"]),
        (BoardColumn.NEEDS_WORK, "SUP-1-x", ["open-branch", "clone-dev", "show-diff"]),
        (BoardColumn.IN_PROGRESS, None, ["open-branch", "clone-dev"]),
        (BoardColumn.FEEDBACK, None, []),
        (BoardColumn.CODE_REVIEW, "SUP-1-x", ["show-diff"]),
        (BoardColumn.QA, "SUP-1-x", ["build-test", "show-diff"]),
        (BoardColumn.PO_REVIEW, "SUP-1-x", ["show-diff"]),
        (BoardColumn.READY_TO_DEPLOY, "SUP-1-x", ["deploy-prod", "show-diff"]),
        (BoardColumn.DONE, None, []),
    ],
)
def test_each_column_offers_its_actions(
    column: BoardColumn,
    branch: str | None,
    expected: list[str],
    ticket_row: TicketRow,
    inventory: Inventory,
) -> None:
    ticket = make("SUP-1", column, ticket_row, branch=branch)
    found = catalogue(ticket, inventory)
    assert [a.id for a in found.actions] == expected and found.note is None
    for action in found.actions:
        assert action.title and action.description.endswith(".")
        assert action.description.count(". ") == 0, "one sentence"
        assert action.blocked is None


def test_only_the_prod_deploy_is_dangerous_and_needs_a_confirm(
    ticket_row: TicketRow, inventory: Inventory
) -> None:
    deploy = catalogue(
        make("SUP-1", BoardColumn.READY_TO_DEPLOY, ticket_row, branch="b"), inventory
    )
    action = deploy.get("deploy-prod")
    assert action is not None and action.dangerous and action.needs_confirm
    build = catalogue(make("SUP-1", BoardColumn.QA, ticket_row, branch="b"), inventory).get(
        "build-test"
    )
    assert build is not None and not build.dangerous and not build.needs_confirm
    assert build.then_offer is BoardColumn.PO_REVIEW


def test_actions_without_a_branch_say_what_to_do_first(
    ticket_row: TicketRow, inventory: Inventory
) -> None:
    for column, action_id in [
        (BoardColumn.QA, "build-test"),
        (BoardColumn.READY_TO_DEPLOY, "deploy-prod"),
        (BoardColumn.CODE_REVIEW, "show-diff"),
    ]:
        action = catalogue(make("SUP-1", column, ticket_row), inventory).get(action_id)
        assert action is not None and action.blocked is not None
        assert "open its branch first" in action.blocked


def test_environments_the_site_lacks_are_not_offered(
    ticket_row: TicketRow, inventory: Inventory
) -> None:
    assert ids(make("SUP-1", BoardColumn.IN_PROGRESS, ticket_row, site="bare"), inventory) == [
        "open-branch"
    ]
    assert ids(make("SUP-1", BoardColumn.QA, ticket_row, site="bare", branch="b"), inventory) == [
        "show-diff"
    ]


def test_a_ticket_without_a_site_offers_nothing_and_says_how_to_set_it(
    ticket_row: TicketRow, inventory: Inventory
) -> None:
    found = catalogue(
        make("SUP-1", BoardColumn.IN_PROGRESS, ticket_row, site=None), inventory, "Client site"
    )
    assert found.actions == ()
    assert found.note is not None and '"Client site"' in found.note and "site:<id>" in found.note
    unknown = catalogue(make("SUP-1", BoardColumn.IN_PROGRESS, ticket_row, site="nope"), inventory)
    assert unknown.actions == () and unknown.note is not None and "'nope'" in unknown.note


def context(
    board: Board, runner: JobRunner, inventory: Inventory, fakes: Fakes, key: str, **kw: Any
) -> ActionContext:
    return ActionContext(key, board, runner, inventory, fakes.tools(), **kw)


def test_open_branch_records_the_branch_on_the_ticket(
    engine: Engine, board: Board, runner: JobRunner, inventory: Inventory, ticket_row: TicketRow
) -> None:
    add_ticket(engine, ticket_row, "SUP-7", BoardColumn.IN_PROGRESS)
    fakes = Fakes()
    job_id = run_action("open-branch", context(board, runner, inventory, fakes, "SUP-7"))
    job = runner.wait(job_id, WAIT_S)
    assert job.state is JobState.SUCCEEDED, job.error
    assert (job.kind, job.site, job.ticket_key, job.ref) == (
        "open-branch", "acme", "SUP-7", "SUP-7-fix-the-contact-form"
    )  # fmt: skip
    ticket = board.ticket("SUP-7")
    assert (ticket.branch, ticket.branch_ahead) == ("SUP-7-fix-the-contact-form", 2)
    assert board.check("SUP-7", BoardColumn.CODE_REVIEW).allowed


def test_build_test_site_records_the_pass_and_comments_the_url(
    engine: Engine, board: Board, runner: JobRunner, inventory: Inventory, ticket_row: TicketRow
) -> None:
    add_ticket(engine, ticket_row, "SUP-8", BoardColumn.QA, branch="SUP-8-x")
    fakes = Fakes()
    job = runner.wait(
        run_action("build-test", context(board, runner, inventory, fakes, "SUP-8")), WAIT_S
    )
    assert job.state is JobState.SUCCEEDED, job.error
    assert fakes.calls == [
        ("clone", "acme", "test", None),
        ("deploy", "acme", "origin/SUP-8-x", "test", None, "QA"),
    ]
    assert board.ticket("SUP-8").test_site_passed
    assert board.check("SUP-8", BoardColumn.PO_REVIEW).allowed
    with Session(engine) as session:
        [comment] = session.exec(select(OutboxEntry).where(OutboxEntry.kind == OutboxKind.COMMENT))
    assert "https://test.acme.example" in comment.payload["body"]
    job_id = job.id or 0
    assert [s.name for s in runner.steps(job_id)] == [
        "clone prod into test",
        "deploy origin/SUP-8-x to test",
    ]
    assert "importing" in [entry.line for entry in runner.log(job_id)]


def test_a_failed_test_site_records_nothing(
    engine: Engine, board: Board, runner: JobRunner, inventory: Inventory, ticket_row: TicketRow
) -> None:
    add_ticket(engine, ticket_row, "SUP-8", BoardColumn.QA, branch="SUP-8-x")
    fakes = Fakes(fail_deploy="smoke check failed (/ answered 500): look at the site and its logs")
    job = runner.wait(
        run_action("build-test", context(board, runner, inventory, fakes, "SUP-8")), WAIT_S
    )
    assert job.state is JobState.FAILED and job.error == fakes.fail_deploy
    assert not board.ticket("SUP-8").test_site_passed
    with Session(engine) as session:
        assert list(session.exec(select(OutboxEntry))) == []


def test_deploy_to_prod_needs_the_site_id_typed(
    engine: Engine, board: Board, runner: JobRunner, inventory: Inventory, ticket_row: TicketRow
) -> None:
    add_ticket(engine, ticket_row, "SUP-9", BoardColumn.READY_TO_DEPLOY, branch="SUP-9-x")
    fakes = Fakes()
    for typed in (None, "", "ACME", "bare"):
        with pytest.raises(TriageError, match="type the site id 'acme'"):
            run_action(
                "deploy-prod", context(board, runner, inventory, fakes, "SUP-9", confirm=typed)
            )
    assert runner.jobs() == [] and fakes.calls == []


def test_deploy_to_prod_merges_tags_and_moves_the_ticket_to_done(
    engine: Engine, board: Board, runner: JobRunner, inventory: Inventory, ticket_row: TicketRow
) -> None:
    add_ticket(engine, ticket_row, "SUP-9", BoardColumn.READY_TO_DEPLOY, branch="SUP-9-x")
    fakes = Fakes()
    ctx = context(board, runner, inventory, fakes, "SUP-9", confirm="acme")
    job = runner.wait(run_action("deploy-prod", ctx), WAIT_S)
    assert job.state is JobState.SUCCEEDED, job.error
    assert fakes.calls[:3] == [
        ("check", "acme", "SUP-9-x", "Ready To Deploy"),
        ("mergeable", "SUP-9-x"),
        ("merge", "SUP-9-x", "SUP-9"),
    ]
    assert fakes.calls[3] == ("deploy", "acme", MERGED, "prod", "acme", "Ready To Deploy")
    assert fakes.calls[4][:2] == ("tag", MERGED)
    ticket = board.ticket("SUP-9")
    assert ticket.prod_deploy_passed and ticket.column is BoardColumn.DONE
    with Session(engine) as session:
        [move] = session.exec(select(OutboxEntry).order_by(col(OutboxEntry.id)))
    assert move.kind is OutboxKind.MOVE and move.payload["to"] == "Done"
    assert "merged into main" in move.payload["comment"] and "SUP-9-x" in move.payload["comment"]
    assert job.summary == move.payload["comment"]


def test_a_failed_prod_deploy_leaves_the_ticket_where_it_was(
    engine: Engine, board: Board, runner: JobRunner, inventory: Inventory, ticket_row: TicketRow
) -> None:
    add_ticket(engine, ticket_row, "SUP-9", BoardColumn.READY_TO_DEPLOY, branch="SUP-9-x")
    fakes = Fakes(fail_deploy="the deploy failed at smoke and was rolled back: fix the cause")
    ctx = context(board, runner, inventory, fakes, "SUP-9", confirm="acme")
    job = runner.wait(run_action("deploy-prod", ctx), WAIT_S)
    assert job.state is JobState.FAILED and job.error is not None
    assert job.error.startswith(fakes.fail_deploy or "?")
    # The merge stays on main: the job says so, and how to take it back.
    assert f"main of acme still holds the merge of SUP-9-x ({MERGED[:10]})" in job.error
    assert f"git revert -m 1 {MERGED[:10]}" in job.error
    assert [call[0] for call in fakes.calls] == ["check", "mergeable", "merge"]
    ticket = board.ticket("SUP-9")
    assert not ticket.prod_deploy_passed and ticket.column is BoardColumn.READY_TO_DEPLOY
    with Session(engine) as session:
        assert list(session.exec(select(OutboxEntry))) == []


def test_a_dry_run_deploy_changes_nothing(
    engine: Engine, board: Board, runner: JobRunner, inventory: Inventory, ticket_row: TicketRow
) -> None:
    add_ticket(engine, ticket_row, "SUP-9", BoardColumn.READY_TO_DEPLOY, branch="SUP-9-x")
    fakes = Fakes()
    ctx = context(board, runner, inventory, fakes, "SUP-9", confirm="acme", dry_run=True)
    job = runner.wait(run_action("deploy-prod", ctx), WAIT_S)
    assert job.state is JobState.SUCCEEDED and job.dry_run
    assert "$ drush deploy (dry run)" in [entry.line for entry in runner.log(job.id or 0)]
    assert [call[0] for call in fakes.calls] == ["check", "mergeable", "merge", "deploy", "tag"]
    assert fakes.calls[3][2] == "SUP-9-x" and fakes.merged == set()
    ticket = board.ticket("SUP-9")
    assert not ticket.prod_deploy_passed and ticket.column is BoardColumn.READY_TO_DEPLOY
    with Session(engine) as session:
        assert list(session.exec(select(OutboxEntry))) == []


def test_a_refused_prod_deploy_merges_nothing(
    engine: Engine, board: Board, runner: JobRunner, inventory: Inventory, ticket_row: TicketRow
) -> None:
    add_ticket(engine, ticket_row, "SUP-9", BoardColumn.READY_TO_DEPLOY, branch="SUP-9-x")
    fakes = Fakes(refuse_release="the Docker engine of prod does not answer: start it")
    ctx = context(board, runner, inventory, fakes, "SUP-9", confirm="acme")
    job = runner.wait(run_action("deploy-prod", ctx), WAIT_S)
    assert job.state is JobState.FAILED and job.error == fakes.refuse_release
    assert [call[0] for call in fakes.calls] == ["check"]
    assert fakes.merged == set()
    ticket = board.ticket("SUP-9")
    assert not ticket.prod_deploy_passed and ticket.column is BoardColumn.READY_TO_DEPLOY


def test_show_diff_logs_the_diff(
    engine: Engine, board: Board, runner: JobRunner, inventory: Inventory, ticket_row: TicketRow
) -> None:
    add_ticket(engine, ticket_row, "SUP-5", BoardColumn.CODE_REVIEW, branch="SUP-5-x")
    job = runner.wait(
        run_action("show-diff", context(board, runner, inventory, Fakes(), "SUP-5")), WAIT_S
    )
    assert job.summary == "SUP-5-x against main: 1 file changed, 1 insertion(+), 1 deletion(-)"
    assert "+new" in [entry.line for entry in runner.log(job.id or 0)]


def test_an_action_the_column_does_not_offer_is_refused(
    engine: Engine, board: Board, runner: JobRunner, inventory: Inventory, ticket_row: TicketRow
) -> None:
    add_ticket(engine, ticket_row, "SUP-3", BoardColumn.FEEDBACK)
    add_ticket(engine, ticket_row, "SUP-4", BoardColumn.IN_PROGRESS, site=None)
    with pytest.raises(TriageError, match="does not offer 'deploy-prod'"):
        run_action(
            "deploy-prod", context(board, runner, inventory, Fakes(), "SUP-3", confirm="acme")
        )
    with pytest.raises(TriageError, match="site:<id>"):
        run_action("open-branch", context(board, runner, inventory, Fakes(), "SUP-4"))
    assert runner.jobs() == []
