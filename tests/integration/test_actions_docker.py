"""The site actions end to end, as the TUI and the CLI run them: through the job runner.

A real SQLite cache holds the tickets (written as a sync writes them); the actions run with
the real git, clone and deploy on the site of site_fixtures: prod, dev and test containers
on the real Docker engine and a bare git remote. The tests follow one ticket across the
board (open its branch, build the test site in QA, deploy to prod from Ready To Deploy),
then a production deploy whose deploy command fails. Each test puts its ticket where it
needs it, so it also runs alone. This module's world is its own: it changes production.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import site_fixtures
from site_fixtures import BRANCH_BROKEN, BROKEN_TITLE, PROD_DOMAIN, World, git
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from triage.core.actions import ActionContext, catalogue, run_action
from triage.core.board.service import Board
from triage.core.config import Settings
from triage.core.jobs.runner import JobRunner
from triage.core.sites.git import branch_name
from triage.core.sites.inventory import Inventory
from triage.storage import changes
from triage.storage.columns import BoardColumn
from triage.storage.db import open_cache, sqlite_url
from triage.storage.errors import TriageError
from triage.storage.models import (
    JIRA_TICKET_FIELDS,
    AuditEntry,
    Job,
    JobState,
    OutboxEntry,
    OutboxKind,
    utcnow,
)
from triage.storage.queries import upsert_tickets

pytestmark = [pytest.mark.docker, pytest.mark.timeout(900)]

docker_client = site_fixtures.docker_client
images = site_fixtures.images
world = site_fixtures.world

JOB_WAIT_S = 600.0
ME = "Rita Reviewer"
DEVELOPER = "Dana Developer"
KEY, SUMMARY = "ACME-101", "Spring news page"
BROKEN_KEY = "ACME-102"
STALE_KEY, STALE_SUMMARY = "ACME-103", "Footer phone number"
NEWS = "<h1>Spring news</h1><p>Shipped with ACME-101</p>\n"
TITLE = "SELECT title FROM node_field_data WHERE nid = 1"
USERS = "SELECT COUNT(*) FROM users_field_data WHERE uid > 0"
PROD_ADDRESSES = (
    f"SELECT (SELECT COUNT(*) FROM users_field_data WHERE mail LIKE '%{PROD_DOMAIN}%'"
    f" OR init LIKE '%{PROD_DOMAIN}%') + (SELECT COUNT(*) FROM contact_message"
    f" WHERE mail LIKE '%{PROD_DOMAIN}%' OR message LIKE '%{PROD_DOMAIN}%')"
)
DEPLOY_STEPS = [
    "preflight", "backup", "maintenance on", "code", "deploy commands", "maintenance off", "smoke"
]  # fmt: skip


# -- fixtures ---------------------------------------------------------------------------------


def _row(key: str, summary: str, column: BoardColumn, site: str) -> dict[str, Any]:
    """A ticket's row as the sync writes it: Jira's fields only."""
    now = utcnow()
    row: dict[str, Any] = {
        "key": key, "jira_id": key.split("-")[1], "project": "ACME", "summary": summary,
        "description": "", "issue_type": "Task", "severity": "Medium", "severity_rank": 3,
        "urgency": None, "jira_status": column.value, "column": column,
        "assignee": DEVELOPER, "assignee_id": "dana-1", "reporter": "Carl Client",
        "site": site, "client": "Acme Corp", "labels": [], "created": now, "updated": now,
        "resolved": None, "synced_at": now, "package": None, "service_desk_sla": None,
    }  # fmt: skip
    assert set(row) == set(JIRA_TICKET_FIELDS)
    return row


@pytest.fixture(scope="module")
def cache(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """The cache with this module's tickets on the world's site; Triage's checkout set up."""
    # The checkout is the Triage user's own: it has a git identity (merges, tags).
    git(world.checkout, "config", "user.name", ME)
    git(world.checkout, "config", "user.email", "rita@agency.example")
    engine = open_cache(sqlite_url(tmp_path_factory.mktemp("cache") / "triage.db"))
    site = world.site.id
    with engine.begin() as connection:
        upsert_tickets(
            connection,
            [
                _row(KEY, SUMMARY, BoardColumn.IN_PROGRESS, site),
                _row(BROKEN_KEY, "Broken deploy hook", BoardColumn.READY_TO_DEPLOY, site),
                _row(STALE_KEY, STALE_SUMMARY, BoardColumn.IN_PROGRESS, site),
            ],
        )
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def board(cache: Engine) -> Board:
    return Board(cache, Settings(me=ME))


@pytest.fixture
def runner(cache: Engine, board: Board) -> Iterator[JobRunner]:
    jobs = JobRunner(cache, max_jobs=2, actor=board.me.name)
    try:
        yield jobs
    finally:
        jobs.close(timeout=JOB_WAIT_S)


@pytest.fixture
def inventory(world: World) -> Inventory:
    return Inventory(sites={world.site.id: world.site})


# -- helpers ----------------------------------------------------------------------------------


def _context(
    board: Board, runner: JobRunner, inventory: Inventory, key: str, **kw: Any
) -> ActionContext:
    return ActionContext(key, board, runner, inventory, **kw)


def _run(action: str, context: ActionContext) -> Job:
    """Run the action as the TUI does and wait (bounded) for its job to end."""
    job_id = run_action(action, context)
    return context.runner.wait(job_id, JOB_WAIT_S)


def _ok(job: Job, runner: JobRunner) -> Job:
    """The job, which must have succeeded (else the test fails, with the job's log)."""
    if job.state is not JobState.SUCCEEDED or job.id is None:
        log = "\n".join(entry.line for entry in runner.log(job.id or 0))
        pytest.fail(f"job {job.id} {job.kind} {job.state.value}: {job.error}\n{log}")
    return job


def _remote_sha(world: World, ref: str) -> str | None:
    out = git(world.remote, "for-each-ref", "--format=%(objectname)", ref)
    return out or None


def _remote_file(world: World, ref: str, path: str) -> str | None:
    listed = git(world.remote, "ls-tree", "--name-only", ref, "--", path)
    return git(world.remote, "show", f"{ref}:{path}") + "\n" if listed else None


def _developer_clone(world: World, tmp_path: Path, branch: str) -> Path:
    """A clone of the remote as a developer has it on their own machine, on `branch`."""
    clone = tmp_path / f"dev-{branch}"
    git(tmp_path, "clone", "-q", str(world.remote), str(clone))
    git(clone, "switch", "-q", branch)
    return clone


def _push_commit(repo: Path, branch: str, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo / name).write_text(text)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    git(repo, "push", "-q", "origin", f"HEAD:refs/heads/{branch}")
    return git(repo, "rev-parse", "HEAD")


def _audit(engine: Engine, action: str, key: str) -> list[AuditEntry]:
    query = (
        select(AuditEntry)
        .where(AuditEntry.action == action, AuditEntry.ticket_key == key)
        .order_by(col(AuditEntry.id))
    )
    with Session(engine) as session:
        return list(session.exec(query))


def _outbox(engine: Engine, key: str, kind: OutboxKind) -> list[OutboxEntry]:
    query = (
        select(OutboxEntry)
        .where(OutboxEntry.ticket_key == key, OutboxEntry.kind == kind)
        .order_by(col(OutboxEntry.id))
    )
    with Session(engine) as session:
        return list(session.exec(query))


def _deploy_tags(world: World) -> list[str]:
    return git(world.remote, "tag", "--list", "deploy-*").split()


def _maintenance(world: World, env: str) -> bool:
    flag = world.container(env, "web").exec_run(["test", "-e", "/var/www/site/files/.maintenance"])
    return bool(flag.exit_code == 0)


def _news_branch(world: World, board: Board, runner: JobRunner, inventory: Inventory) -> str:
    """KEY's branch opened by the action, with the news page committed and pushed on it.

    The Triage user is the ticket's developer here: the commit is made in the site's
    checkout, on the branch open-branch switched it to. Opening the branch again records
    how far it is ahead, as the Code Review guard asks.
    """
    branch = branch_name(world.site, KEY, SUMMARY)
    context = _context(board, runner, inventory, KEY)
    if board.ticket(KEY).branch != branch:
        _ok(_run("open-branch", context), runner)
    if _remote_file(world, f"refs/heads/{branch}", "news.html") is None:
        git(world.checkout, "switch", "-q", branch)
        _push_commit(world.checkout, branch, {"news.html": NEWS}, f"{KEY}: spring news page")
    if not board.ticket(KEY).branch_ahead:
        _ok(_run("open-branch", context), runner)
    return branch


# -- the tests --------------------------------------------------------------------------------


def test_open_branch_pushes_the_tickets_branch_and_records_it(
    world: World, cache: Engine, board: Board, runner: JobRunner, inventory: Inventory
) -> None:
    branch = branch_name(world.site, KEY, SUMMARY)
    assert branch == "ACME-101-spring-news-page"
    assert _remote_sha(world, f"refs/heads/{branch}") is None
    ticket = board.ticket(KEY)
    assert ticket.column is BoardColumn.IN_PROGRESS and ticket.branch is None
    assert [a.id for a in catalogue(ticket, inventory).actions] == ["open-branch", "clone-dev"]

    job = _ok(_run("open-branch", _context(board, runner, inventory, KEY)), runner)

    assert (job.kind, job.site, job.env, job.ticket_key, job.ref, job.actor) == (
        "open-branch", world.site.id, None, KEY, branch, ME
    )  # fmt: skip
    assert job.summary == f"branch {branch} pushed, 0 ahead and 0 behind main"
    main = _remote_sha(world, "refs/heads/main")
    assert main is not None and _remote_sha(world, f"refs/heads/{branch}") == main
    assert git(world.checkout, "branch", "--show-current") == branch
    ticket = board.ticket(KEY)
    assert (ticket.branch, ticket.branch_ahead) == (branch, 0)
    # Nothing committed yet: the workflow keeps it out of Code Review.
    assert not board.check(KEY, BoardColumn.CODE_REVIEW).allowed
    [audit] = _audit(cache, "open-branch", KEY)
    assert (audit.result, audit.actor, audit.site, audit.ref) == (
        "succeeded", ME, world.site.id, branch
    )  # fmt: skip


def test_build_test_serves_the_branch_on_a_sanitized_test_site(
    world: World, cache: Engine, board: Board, runner: JobRunner, inventory: Inventory
) -> None:
    branch = _news_branch(world, board, runner, inventory)
    ticket = board.ticket(KEY)
    assert ticket.branch == branch and ticket.branch_ahead == 1
    # Through review into QA as the workflow wants it: a reviewer's move records the approval.
    board.move(KEY, BoardColumn.CODE_REVIEW)
    board.move(KEY, BoardColumn.QA)
    ticket = board.ticket(KEY)
    assert ticket.column is BoardColumn.QA and ticket.approved_by == ME != ticket.assignee
    assert not board.check(KEY, BoardColumn.PO_REVIEW).allowed
    world.reset("test")
    assert world.get("test", "/news.html").status_code == 404
    comments_before = len(_outbox(cache, KEY, OutboxKind.COMMENT))

    job = _ok(_run("build-test", _context(board, runner, inventory, KEY)), runner)

    assert (job.kind, job.env, job.ref) == ("build-test", "test", branch)
    assert job.id is not None
    steps = runner.steps(job.id)
    assert all(step.state is JobState.SUCCEEDED for step in steps)
    names = [step.name for step in steps]
    assert names[:2] == ["preflight", "backup"] and names.count("smoke") == 2
    # The test site runs the branch's commit, and shows its change.
    assert world.head("test") == world.sha(branch)
    news = world.get("test", "/news.html")
    assert news.status_code == 200 and news.text == NEWS
    home = world.get("test", "/")
    assert home.status_code == 200 and "Acme Corporation" in home.text
    # With production's data, sanitized.
    assert world.sql("test", USERS) == world.sql("prod", USERS)
    assert int(world.sql("prod", PROD_ADDRESSES)) > 0
    assert int(world.sql("test", PROD_ADDRESSES)) == 0
    # Recorded on the ticket, and the URL commented for the client, by the outbox.
    url = world.site.env("test").url
    assert url.startswith("http://127.0.0.1:")
    assert board.ticket(KEY).test_site_passed
    comments = _outbox(cache, KEY, OutboxKind.COMMENT)
    assert len(comments) == comments_before + 1
    body = comments[-1].payload["body"]
    assert url in body and branch in body and comments[-1].state.value == "pending"
    # QA → PO Review is allowed now, and the move goes through.
    assert board.check(KEY, BoardColumn.PO_REVIEW).allowed
    board.move(KEY, BoardColumn.PO_REVIEW)
    assert board.ticket(KEY).column is BoardColumn.PO_REVIEW


def test_deploy_prod_needs_the_site_id_then_merges_deploys_tags_and_closes(
    world: World, cache: Engine, board: Board, runner: JobRunner, inventory: Inventory
) -> None:
    branch = _news_branch(world, board, runner, inventory)
    if board.ticket(KEY).column is not BoardColumn.READY_TO_DEPLOY:
        board.move(KEY, BoardColumn.READY_TO_DEPLOY)
    site = world.site.id
    prod_head, main = world.head("prod"), _remote_sha(world, "refs/heads/main")
    jobs, tags = len(runner.jobs()), _deploy_tags(world)
    moves = len(_outbox(cache, KEY, OutboxKind.MOVE))
    assert world.get("prod", "/news.html").status_code == 404

    # Without the site id typed (or with another), nothing runs and nothing changes.
    for confirm in (None, "", "wrong-site", site.upper()):
        context = _context(board, runner, inventory, KEY, confirm=confirm)
        with pytest.raises(TriageError, match=re.escape(f"type the site id {site!r}")):
            run_action("deploy-prod", context)
    assert len(runner.jobs()) == jobs and _audit(cache, "deploy-prod", KEY) == []
    assert world.head("prod") == prod_head and _remote_sha(world, "refs/heads/main") == main
    assert _deploy_tags(world) == tags and board.ticket(KEY).column is BoardColumn.READY_TO_DEPLOY

    job = _ok(_run("deploy-prod", _context(board, runner, inventory, KEY, confirm=site)), runner)

    assert (job.kind, job.site, job.env, job.ticket_key, job.ref) == (
        "deploy-prod", site, "prod", KEY, branch
    )  # fmt: skip
    # main has a merge commit (--no-ff) of the branch, named with the key.
    merged = _remote_sha(world, "refs/heads/main")
    assert merged is not None and merged != main
    parents = git(world.remote, "log", "-1", "--format=%P", merged).split()
    assert parents == [main, world.sha(branch)]
    assert git(world.remote, "log", "-1", "--format=%s", merged) == f"{KEY}: merge {branch}"
    # A deploy tag on the merge, on the remote.
    [tag] = sorted(set(_deploy_tags(world)) - set(tags))
    assert re.fullmatch(r"deploy-ACME-101-\d{8}-\d{6}", tag)
    assert git(world.remote, "rev-parse", f"{tag}^{{commit}}") == merged
    assert git(world.remote, "cat-file", "-t", tag) == "tag"  # annotated
    assert tag in job.summary and merged[:10] in job.summary
    # Production runs the merge and serves the change; its smoke checks passed.
    assert world.head("prod") == merged
    news = world.get("prod", "/news.html")
    assert news.status_code == 200 and news.text == NEWS
    assert not _maintenance(world, "prod") and world.get("prod", "/").status_code == 200
    assert job.id is not None
    steps = runner.steps(job.id)
    assert [s.name for s in steps] == DEPLOY_STEPS
    assert all(s.state is JobState.SUCCEEDED for s in steps)
    smoke = [e.line for e in runner.log(job.id) if e.step == "smoke" and e.line.startswith("ok")]
    assert len(smoke) == 2
    # The ticket: deployed, in Done, with the summary on its way to Jira with the move.
    ticket = board.ticket(KEY)
    assert ticket.prod_deploy_passed and ticket.column is BoardColumn.DONE
    new_moves = _outbox(cache, KEY, OutboxKind.MOVE)[moves:]
    assert [(m.payload["to"], m.payload["comment"]) for m in new_moves] == [("Done", job.summary)]
    assert f"Deployed {branch} to production of {site}" in job.summary
    # One audit entry says who deployed what, where, and how it went.
    [audit] = _audit(cache, "deploy-prod", KEY)
    assert (audit.actor, audit.site, audit.env, audit.ref, audit.result) == (
        ME, site, "prod", branch, "succeeded"
    )  # fmt: skip
    assert audit.duration_ms is not None and audit.duration_ms > 0
    assert audit.duration_ms == job.duration_ms and audit.detail == job.summary


def test_build_test_builds_what_was_pushed_last(
    world: World,
    cache: Engine,
    board: Board,
    runner: JobRunner,
    inventory: Inventory,
    tmp_path: Path,
) -> None:
    """QA sent the ticket back; the developer pushed a fix from their own clone; QA again."""
    branch = branch_name(world.site, STALE_KEY, STALE_SUMMARY)
    context = _context(board, runner, inventory, STALE_KEY)
    _ok(_run("open-branch", context), runner)
    clone = _developer_clone(world, tmp_path, branch)
    _push_commit(clone, branch, {"phone.txt": "call 555-0100\n"}, f"{STALE_KEY}: phone")
    _ok(_run("open-branch", context), runner)  # records it ahead, as Code Review wants
    board.move(STALE_KEY, BoardColumn.CODE_REVIEW)
    board.move(STALE_KEY, BoardColumn.QA)
    board.move(STALE_KEY, BoardColumn.NEEDS_WORK, comment="the number is wrong")
    fixed = _push_commit(clone, branch, {"phone.txt": "call 555-0199\n"}, f"{STALE_KEY}: fix")
    for column in (BoardColumn.IN_PROGRESS, BoardColumn.CODE_REVIEW, BoardColumn.QA):
        board.move(STALE_KEY, column)
    if _remote_sha(world, f"refs/heads/{branch}") != fixed:
        pytest.fail("the fix did not reach the remote")

    _ok(_run("build-test", context), runner)  # not the bug: it succeeds, on the wrong commit

    assert world.get("test", "/phone.txt").text == "call 555-0199\n"
    assert world.head("test") == fixed


def test_a_failing_prod_deploy_is_rolled_back_and_the_ticket_stays(
    world: World, cache: Engine, board: Board, runner: JobRunner, inventory: Inventory
) -> None:
    # A branch whose deploy hook changes the database, then fails (site_fixtures).
    changes.record_facts(cache, BROKEN_KEY, branch=BRANCH_BROKEN, branch_ahead=1)
    ticket = board.ticket(BROKEN_KEY)
    assert ticket.column is BoardColumn.READY_TO_DEPLOY
    site = world.site.id
    before = {
        "head": world.head("prod"),
        "title": world.sql("prod", TITLE),
        "users": world.sql("prod", USERS),
        "nodes": world.sql("prod", "CHECKSUM TABLE node_field_data"),
        "version": world.get("prod", "/version.txt").text,
    }
    assert before["title"] != BROKEN_TITLE
    tags = _deploy_tags(world)

    context = _context(board, runner, inventory, BROKEN_KEY, confirm=site)
    job = _run("deploy-prod", context)

    assert job.state is JobState.FAILED and job.id is not None
    error = job.error or ""
    assert "failed at deploy commands" in error and "module acme_shop is missing" in error
    assert "was rolled back (database from /var/backups/triage/" in error
    assert f"code at {before['head'][:10]}, maintenance off)" in error
    # The merge stays on main, which the next deploy would ship: the job says how to undo it.
    merge = _remote_sha(world, "refs/heads/main") or ""
    assert f"main of {site} still holds the merge of {BRANCH_BROKEN} ({merge[:10]})" in error
    assert f"git revert -m 1 {merge[:10]}" in error
    assert error.endswith("fix the cause and deploy again")
    steps = [(s.name, s.state) for s in runner.steps(job.id)]
    assert ("deploy commands", JobState.FAILED) in steps
    assert "smoke" not in [name for name, _ in steps]
    assert [name for name, _ in steps][-3:] == [
        "rollback: restore database", "rollback: restore code", "rollback: maintenance off"
    ]  # fmt: skip
    assert all(state is JobState.SUCCEEDED for name, state in steps if name.startswith("rollback"))
    # Production as before: database, code, maintenance off.
    after = {
        "head": world.head("prod"),
        "title": world.sql("prod", TITLE),
        "users": world.sql("prod", USERS),
        "nodes": world.sql("prod", "CHECKSUM TABLE node_field_data"),
        "version": world.get("prod", "/version.txt").text,
    }
    assert after == before
    assert not _maintenance(world, "prod") and world.get("prod", "/").status_code == 200
    # The ticket did not move, nothing was said to the client, no deploy tag was made.
    ticket = board.ticket(BROKEN_KEY)
    assert ticket.column is BoardColumn.READY_TO_DEPLOY and not ticket.prod_deploy_passed
    assert _outbox(cache, BROKEN_KEY, OutboxKind.MOVE) == []
    assert _outbox(cache, BROKEN_KEY, OutboxKind.COMMENT) == []
    assert _deploy_tags(world) == tags
    [audit] = _audit(cache, "deploy-prod", BROKEN_KEY)
    assert (audit.actor, audit.site, audit.env, audit.ref, audit.result) == (
        ME, site, "prod", BRANCH_BROKEN, "failed"
    )  # fmt: skip
    assert audit.detail == error and audit.duration_ms is not None and audit.duration_ms > 0
