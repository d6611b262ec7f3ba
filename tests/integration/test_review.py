"""The review queue on real git: a bare remote with the tickets' branches, a demo cache.

The demo has eight tickets in Code Review, none of them mine (Marek Nowak's). Three get a
pushed branch; the rest say their branch is not pushed. What the verdicts change is read
back from the cache: the ticket's column, its approval, and the outbox row for Jira.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from review_repos import Repos, big_change, git, hermetic_git, make_repos, small_change, write_sites
from sqlmodel import Session, select

from triage.core.board.service import Board
from triage.core.config import load_settings
from triage.core.demo import load_demo
from triage.core.review.items import ReviewRefused
from triage.core.review.service import Reviews
from triage.core.sites.inventory import load_inventory
from triage.core.tracker.approvals import approval_comment
from triage.sandbox.agency import build_agency
from triage.storage import changes
from triage.storage.columns import BoardColumn
from triage.storage.db import open_cache
from triage.storage.models import OutboxEntry, OutboxKind, Ticket

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
PUSHED = ("SUP-110", "SUP-117", "SUP-62")


@pytest.fixture(autouse=True)
def _git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    hermetic_git(monkeypatch, tmp_path)


def ticket(board: Board, key: str) -> Ticket:
    return board.ticket(key)


@pytest.fixture
def repos(tmp_path: Path) -> Repos:
    return make_repos(tmp_path)


@pytest.fixture
def board(tmp_path: Path, repos: Repos) -> Board:
    settings = load_settings(
        tmp_path / "absent.toml",
        data_dir=str(tmp_path / "data"),
        jira={"projects": ["SUP"]},
        sites_file=str(tmp_path / "sites.toml"),
    )
    engine = open_cache(settings.resolved_database_url())
    agency = build_agency(tickets=120, seed=3, now=NOW)
    load_demo(engine, settings, agency.issues, agency.fields, seed=3)
    board = Board(engine, settings, clock=lambda: NOW)
    in_review = board.load().columns[BoardColumn.CODE_REVIEW]
    sites = sorted({card.site for card in in_review if card.site})
    write_sites(tmp_path / "sites.toml", sites, repos, tmp_path / "checkout")
    for key in PUSHED:
        found = board.ticket(key)
        assert found.branch is not None
        repos.push_branch(found.branch, small_change(key), f"{key}: {found.summary}", commits=2)
    return board


def reviews(board: Board) -> Reviews:
    return Reviews(board, load_inventory(board.settings.resolved_sites_file()))


def test_the_queue_is_oldest_first_with_each_branch_size(board: Board) -> None:
    items = reviews(board).queue()
    assert len(items) == 8
    assert [i.entered for i in items] == sorted(i.entered for i in items)
    sized = {i.key: i for i in items if i.problem is None}
    assert set(sized) == set(PUSHED)
    for item in sized.values():
        assert (item.ahead, item.files, item.added, item.deleted) == (2, 2, 10, 1)
        assert item.head == git(board.settings.resolved_sites_file().parent / "work", "rev-parse",
                                item.branch or "")  # fmt: skip
    waiting = next(i for i in items if i.key == "SUP-86")
    assert waiting.problem == (
        "the branch SUP-86-cron-failing-on-northwind-nl is not pushed to northwind-nl's "
        "remote: ask Priya Raman to push it"
    )


def test_my_own_tickets_are_not_in_my_queue(board: Board) -> None:
    changes.record_assign(board.engine, "SUP-117", (board.me.name, board.me.account_id or ""),
                         actor=board.me.name)  # fmt: skip
    keys = [item.key for item in reviews(board).queue()]
    assert "SUP-117" not in keys and len(keys) == 7


def test_the_diff_has_commits_files_and_line_numbers(board: Board) -> None:
    service = reviews(board)
    diff = service.open("SUP-62")
    assert [c.subject for c in diff.commits] == [
        "SUP-62: Add redirects for old URLs on kestrel-press, follow-up 2",
        "SUP-62: Add redirects for old URLs on kestrel-press",
    ]
    assert [(f.path, f.added, f.deleted) for f in diff.files] == [
        ("web/modules/custom/site_fix/site_fix.module", 8, 0),
        ("web/themes/site/style.css", 2, 1),
    ]
    lines = service.file_diff(diff, diff.files[0])
    added = [line for line in lines if line.kind == "add"]
    assert added[0].new_line == 11 and added[-1].text == "+// follow-up 2"
    assert [line.kind for line in lines].count("hunk") == 1


def test_a_huge_branch_with_a_binary_file_and_a_rename(board: Board, repos: Repos) -> None:
    branch = str(ticket(board, "SUP-110").branch)
    change = big_change(10_000)
    repos.push_branch(branch, change, "SUP-110: a big change")
    git(repos.work, "mv", "web/themes/site/style.css", "web/themes/site/main.css")
    git(repos.work, "commit", "-q", "-m", "rename")
    git(repos.work, "push", "-q", "origin", branch)
    service = reviews(board)
    diff = service.open("SUP-110")
    by_path = {f.path: f for f in diff.files}
    assert by_path["web/themes/site/logo.png"].binary
    assert by_path["web/themes/site/main.css"].old_path == "web/themes/site/style.css"
    assert sum(f.added or 0 for f in diff.files) == 10_000
    part = service.file_diff(diff, by_path["web/modules/custom/big/src/Part00.php"])
    assert len([line for line in part if line.kind == "add"]) == 1000
    assert service.file_diff(diff, by_path["web/themes/site/main.css"])[0].kind == "meta"


def test_approve_records_it_comments_and_moves_to_qa(board: Board) -> None:
    item = next(i for i in reviews(board).queue() if i.key == "SUP-117")
    card = reviews(board).approve("SUP-117")
    assert card.column is BoardColumn.QA
    found = ticket(board, "SUP-117")
    assert found.approved_by == "Marek Nowak"
    with Session(board.engine) as session:
        entry = session.exec(select(OutboxEntry).where(OutboxEntry.ticket_key == "SUP-117")).one()
    assert entry.kind is OutboxKind.MOVE and entry.payload["to"] == "QA"
    assert entry.payload["comment"] == approval_comment(
        "Marek Nowak", str(item.branch), str(item.head)
    )
    assert str(entry.payload["comment"]).startswith("Approved by Marek Nowak after review of ")


def test_send_back_moves_to_needs_work_with_the_comment(board: Board) -> None:
    card = reviews(board).send_back("SUP-62", "site_fix.module:14: log at info, not notice")
    assert card.column is BoardColumn.NEEDS_WORK
    with Session(board.engine) as session:
        entry = session.exec(select(OutboxEntry).where(OutboxEntry.ticket_key == "SUP-62")).one()
    assert entry.payload["comment"] == "site_fix.module:14: log at info, not notice"
    assert ticket(board, "SUP-62").approved_by is None


@pytest.mark.parametrize(
    ("key", "verdict", "message"),
    [
        ("SUP-86", "approve", "cannot approve SUP-86: the branch SUP-86-cron-failing-on-"),
        ("SUP-1", "approve", "SUP-1 is in "),
        ("SUP-999", "approve", "ticket SUP-999 is not in the cache"),
        ("SUP-62", "send-back", "sending SUP-62 back needs a comment"),
        ("SUP-117", "mine", "SUP-117 is assigned to you: a teammate must review it"),
    ],
)
def test_verdicts_that_cannot_be_given_say_why(
    board: Board, key: str, verdict: str, message: str
) -> None:
    service = reviews(board)
    if verdict == "mine":
        changes.record_assign(board.engine, key, (board.me.name, board.me.account_id or ""),
                             actor=board.me.name)  # fmt: skip
    with pytest.raises(Exception) as caught:
        if verdict == "send-back":
            service.send_back(key, "  ")
        else:
            service.approve(key)
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, ReviewRefused) or "not in the cache" in message


def test_a_ticket_without_a_site_says_so(board: Board) -> None:
    changes.record_facts(board.engine, "SUP-91")
    with Session(board.engine) as session:
        found = session.get(Ticket, "SUP-91")
        assert found is not None
        found.site = None
        session.add(found)
        session.commit()
    item = next(i for i in reviews(board).queue() if i.key == "SUP-91")
    assert item.problem is not None and item.problem.startswith("SUP-91 has no site: fill the")
    with pytest.raises(ReviewRefused, match="has no site"):
        reviews(board).approve("SUP-91")
