"""`triage review`, `triage approve` and `triage send-back` as a user runs them.

A demo cache (Marek Nowak is "me") whose Code Review tickets' sites share one real remote;
two of them have their branch pushed. Each command is a subprocess with a clean environment.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_support import clean_env, one_line_error, triage
from review_repos import hermetic_git, make_repos, small_change, write_sites
from sqlmodel import Session

from triage.core.board.service import Board
from triage.core.config import load_settings
from triage.core.demo import load_demo
from triage.sandbox.agency import build_agency
from triage.storage import changes
from triage.storage.columns import BoardColumn
from triage.storage.db import open_cache
from triage.storage.models import Ticket

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
PUSHED = ("SUP-62", "SUP-117")


def build(root: Path) -> Board:
    """The demo cache, sites.toml and the remote under `root`; the board on the cache."""
    (root / "config.toml").write_text(
        f'sites_file = "{root / "sites.toml"}"\n[jira]\nprojects = ["SUP"]\n', encoding="utf-8"
    )
    settings = load_settings(root / "config.toml", data_dir=str(root / "data"))
    engine = open_cache(settings.resolved_database_url())
    agency = build_agency(tickets=120, seed=3, now=NOW)
    load_demo(engine, settings, agency.issues, agency.fields, seed=3)
    board = Board(engine, settings, clock=lambda: NOW)
    repos = make_repos(root)
    in_review = board.load().columns[BoardColumn.CODE_REVIEW]
    write_sites(root / "sites.toml", sorted({c.site for c in in_review if c.site}), repos,
                root / "checkout")  # fmt: skip
    for key in PUSHED:
        found = board.ticket(key)
        repos.push_branch(str(found.branch), small_change(key), f"{key}: {found.summary}", 2)
    return board


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A workspace the read-only tests share."""
    root = tmp_path_factory.mktemp("review")
    with pytest.MonkeyPatch.context() as patch:
        hermetic_git(patch, root)
        build(root)
        yield clean_env(root)


@pytest.fixture
def own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Board, dict[str, str]]:
    """A workspace of this test's own, for the verdicts that change it."""
    hermetic_git(monkeypatch, tmp_path)
    return build(tmp_path), clean_env(tmp_path)


def stored(board: Board, key: str) -> Ticket:
    with Session(board.engine) as session:
        found = session.get(Ticket, key)
        assert found is not None
        return found


def test_review_json_lists_the_queue_oldest_first(shared: dict[str, str]) -> None:
    result = triage(shared, "review", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 8
    assert [r["in_review_since"] for r in rows] == sorted(r["in_review_since"] for r in rows)
    by_key = {r["key"]: r for r in rows}
    sized = {
        key: (row["ahead"], row["files"], row["added"], row["deleted"])
        for key, row in by_key.items()
        if row["problem"] is None
    }
    assert sized == {"SUP-62": (2, 2, 10, 1), "SUP-117": (2, 2, 10, 1)}
    assert len(by_key["SUP-62"]["head"]) == 40
    assert "is not pushed" in by_key["SUP-86"]["problem"]


def test_review_prints_one_line_per_ticket(shared: dict[str, str]) -> None:
    result = triage(shared, "review")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 8
    line = next(text for text in lines if text.startswith("SUP-62 "))
    assert "Lucia Ortega" in line and line.endswith("2 commits ahead, 2 files +10 −1")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("approve", "SUP-999"), "triage: ticket SUP-999 is not in the cache: check the key"),
        (("approve", "SUP-1"), "triage: SUP-1 is in "),
        (("approve", "SUP-86"), "triage: cannot approve SUP-86: the branch SUP-86-cron-failing"),
        (("send-back", "SUP-62", "--comment", "  "), "triage: sending SUP-62 back needs a"),
        (("send-back", "SUP-62"), "triage send-back: the following arguments are required"),
    ],
    ids=["unknown", "not-in-review", "not-pushed", "blank-comment", "no-comment"],
)
def test_bad_input_is_one_sentence_and_exit_2(
    shared: dict[str, str], args: tuple[str, ...], says: str
) -> None:
    assert one_line_error(triage(shared, *args)).startswith(says)


def test_approve_moves_to_qa_with_the_comment_waiting(own: tuple[Board, dict[str, str]]) -> None:
    board, env = own
    result = triage(env, "approve", "sup-117")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "SUP-117 approved and moved to QA; the comment waits for the next sync"
    )
    ticket = stored(board, "SUP-117")
    assert ticket.column is BoardColumn.QA and ticket.approved_by == "Marek Nowak"
    pending = board.detail("SUP-117").pending
    assert str(pending[0].payload["comment"]).startswith(
        f"Approved by Marek Nowak after review of {ticket.branch} at "
    )


def test_send_back_moves_to_needs_work(own: tuple[Board, dict[str, str]]) -> None:
    board, env = own
    result = triage(env, "send-back", "SUP-62", "--comment", "site_fix.module:12: add a test")
    assert result.returncode == 0, result.stderr
    assert stored(board, "SUP-62").column is BoardColumn.NEEDS_WORK
    assert board.detail("SUP-62").pending[0].payload["comment"] == (
        "site_fix.module:12: add a test"
    )


def test_my_own_ticket_and_one_without_a_site_are_refused(
    own: tuple[Board, dict[str, str]],
) -> None:
    board, env = own
    me = board.me
    changes.record_assign(board.engine, "SUP-117", (me.name, me.account_id or ""), actor=me.name)
    said = one_line_error(triage(env, "approve", "SUP-117"))
    assert said.startswith("triage: SUP-117 is assigned to you: a teammate must review it")
    with Session(board.engine) as session:
        ticket = session.get(Ticket, "SUP-62")
        assert ticket is not None
        ticket.site = None
        session.add(ticket)
        session.commit()
    said = one_line_error(triage(env, "approve", "SUP-62"))
    assert said.startswith("triage: cannot approve SUP-62: SUP-62 has no site: fill the Jira")
    assert stored(board, "SUP-62").column is BoardColumn.CODE_REVIEW
