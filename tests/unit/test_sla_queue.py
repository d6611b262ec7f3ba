"""The queue over a real cache: packages and severities filled in, first response, Jira's SLAs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from triage.core.board.filters import parse_filter
from triage.core.board.service import Board
from triage.core.config import Settings, load_settings
from triage.core.errors import ConfigError, NotFound
from triage.core.sla.queue import Queue, iso
from triage.storage import queries
from triage.storage.columns import BoardColumn
from triage.storage.models import OutboxEntry

TicketRow = Callable[..., dict[str, Any]]

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # a Friday
NOW = T0 + timedelta(hours=3)
HOUR = 3600


def settings(tmp_path: Path, **overrides: Any) -> Settings:
    return load_settings(tmp_path / "absent.toml", me="Mia Me", **overrides)


def store(
    engine: Engine,
    tickets: list[dict[str, Any]],
    comments: tuple[Any, ...] | list[Any] = (),
    moves: tuple[Any, ...] | list[Any] = (),
) -> None:
    with engine.begin() as connection:
        queries.upsert_tickets(connection, tickets)
        queries.upsert_comments(
            connection,
            [
                {"ticket_key": k, "remote_id": f"c{i}", "author": who, "body": "", "created": at}
                for i, (k, who, at) in enumerate(comments)
            ],
        )
        queries.upsert_status_changes(
            connection,
            [
                {
                    "ticket_key": k,
                    "remote_id": f"m{i}",
                    "from_status": None,
                    "to_status": to,
                    "author": who,
                    "at": at,
                    "source": "jira",
                }
                for i, (k, to, who, at) in enumerate(moves)
            ],
        )


def queue(engine: Engine, tmp_path: Path, **overrides: Any) -> Queue:
    sites = overrides.pop("site_packages", {"acme-www": "Silver"})
    return Queue(engine, settings(tmp_path, **overrides), lambda: NOW, site_packages=sites)


def test_the_queue_fills_in_package_and_severity_and_says_so(
    engine: Engine, ticket_row: TicketRow, tmp_path: Path
) -> None:
    store(
        engine,
        [
            ticket_row("SUP-1", package="Gold", severity="Highest", column=BoardColumn.TODO),
            ticket_row("SUP-2", site="acme-www", severity="High", column=BoardColumn.TODO),
            ticket_row("SUP-3", severity="Blocker", column=BoardColumn.TODO),
            ticket_row("SUP-4", package="Gold", column=BoardColumn.DONE),
        ],
    )

    items = {item.key: item for item in queue(engine, tmp_path).items()}

    assert set(items) == {"SUP-1", "SUP-2", "SUP-3"}
    assert (items["SUP-1"].package, items["SUP-1"].defaults) == ("Gold", ())
    assert (items["SUP-2"].package, items["SUP-2"].defaults) == ("Silver", ())
    assert (items["SUP-3"].package, items["SUP-3"].severity) == ("Bronze", "Medium")
    assert items["SUP-3"].defaults == ("package", "severity")
    assert items["SUP-3"].why.endswith("default package Bronze and severity Medium used")


def test_only_the_teams_first_comment_or_move_is_a_first_response(
    engine: Engine, ticket_row: TicketRow, tmp_path: Path
) -> None:
    # Gold, Highest: 1 h to respond, 8 h to resolve, around the clock.
    store(
        engine,
        [
            ticket_row("SUP-1", package="Gold", severity="Highest", column=BoardColumn.TODO),
            ticket_row("SUP-2", package="Gold", severity="Highest", column=BoardColumn.TODO),
            ticket_row("SUP-3", package="Gold", severity="Highest", column=BoardColumn.IN_PROGRESS),
        ],
        comments=[
            ("SUP-1", "Rita Reporter", T0 + timedelta(minutes=10)),  # the reporter: no answer
            ("SUP-2", "Rita Reporter", T0 + timedelta(minutes=10)),
            ("SUP-2", "Tom Team", T0 + timedelta(minutes=40)),
        ],
        moves=[("SUP-3", "In Progress", "Tom Team", T0 + timedelta(minutes=20))],
    )

    items = {item.key: item for item in queue(engine, tmp_path).items()}

    unanswered = items["SUP-1"]
    assert unanswered.state == "breached"
    assert unanswered.clock is not None and unanswered.clock.kind == "response"
    assert iso(unanswered.due) == (T0 + timedelta(hours=1)).isoformat()
    assert unanswered.why == "breached: response 2h overdue (Gold, 24/7)"
    answered = items["SUP-2"]
    assert answered.clock is not None and answered.clock.kind == "resolution"
    assert answered.clock.left == 5 * HOUR
    assert items["SUP-3"].clock is not None and items["SUP-3"].clock.kind == "resolution"
    assert [item.key for item in queue(engine, tmp_path).items()][0] == "SUP-1"

    # With the team named, only its members answer.
    named = queue(engine, tmp_path, queue={"team": ["Someone Else"]})
    assert {i.key: i.clock.kind for i in named.items() if i.clock} == {
        "SUP-1": "response",
        "SUP-2": "response",
        "SUP-3": "response",
    }


def test_jira_service_managements_breach_time_wins(
    engine: Engine, ticket_row: TicketRow, tmp_path: Path
) -> None:
    due = T0 + timedelta(hours=1, minutes=30)
    cycles = [
        {"name": "Time to resolution", "due": due.isoformat(), "breached": True,
         "paused": False, "met": False, "goal": 4 * HOUR, "elapsed": 5 * HOUR},
        {"name": "Time to first response", "due": None, "breached": False,
         "paused": False, "met": True, "goal": HOUR, "elapsed": 600.0},
    ]  # fmt: skip
    store(
        engine,
        [ticket_row("SUP-1", package="Gold", column=BoardColumn.TODO, service_desk_sla=cycles)],
    )

    [item] = queue(engine, tmp_path).items()

    assert item.state == "breached"
    assert iso(item.due) == due.isoformat()
    assert item.why == "breached: resolution 1h overdue (Gold, Jira SLA)"


def test_a_site_whose_package_has_no_policy_is_one_sentence(engine: Engine, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"site acme-www .* 'package' names 'Platinum'.*\[sla"):
        queue(engine, tmp_path, site_packages={"acme-www": "Platinum"})


def test_filter_keys_read_the_queue(engine: Engine, ticket_row: TicketRow, tmp_path: Path) -> None:
    store(
        engine,
        [
            ticket_row("SUP-1", package="Gold", severity="Highest", urgency="High",
                       column=BoardColumn.TODO),
            ticket_row("SUP-2", package="Bronze", severity="Low", urgency="Low",
                       column=BoardColumn.TODO),
        ],
    )  # fmt: skip
    ranking = queue(engine, tmp_path).ranking()
    board = Board(engine, settings(tmp_path), clock=lambda: NOW)
    cards = [c for cards in board.load().columns.values() for c in cards]

    def shown(text: str) -> list[str]:
        return sorted(c.key for c in parse_filter(text).apply(cards, "Mia Me", ranking.by_key))

    assert shown("sla:breached") == ["SUP-1"]
    assert shown("sla:ok") == ["SUP-2"]
    assert shown("package:gold") == ["SUP-1"]
    assert shown("urgency:Low") == ["SUP-2"]
    assert shown("severity:Highest package:Bronze") == []
    # Before the queue is ranked, its keys match nothing rather than everything.
    assert parse_filter("sla:breached").apply(cards, "Mia Me") == []


def test_take_next_assigns_the_top_free_ticket_and_moves_it_through_the_outbox(
    engine: Engine, ticket_row: TicketRow, tmp_path: Path
) -> None:
    store(
        engine,
        [
            ticket_row("SUP-1", package="Gold", severity="Highest", column=BoardColumn.TODO,
                       assignee="Ann Other"),
            ticket_row("SUP-2", package="Gold", severity="Highest", column=BoardColumn.QA),
            ticket_row("SUP-3", package="Silver", severity="High", column=BoardColumn.TODO),
            ticket_row("SUP-4", package="Bronze", severity="Low", column=BoardColumn.NEEDS_WORK),
        ],
    )  # fmt: skip
    board = Board(engine, settings(tmp_path), clock=lambda: NOW)
    sla = queue(engine, tmp_path)

    taken = sla.take_next(board)

    assert taken.item.key == "SUP-3"  # SUP-1 is held, SUP-2 is past the point of taking
    assert (taken.card.column, taken.card.assignee) == (BoardColumn.IN_PROGRESS, "Mia Me")
    with Session(engine) as session:
        waiting = session.exec(select(OutboxEntry).where(OutboxEntry.ticket_key == "SUP-3"))
        kinds = sorted((e.kind.value, e.state.value) for e in waiting)
    assert kinds == [("assign", "pending"), ("move", "pending")]
    assert sla.take_next(board).item.key == "SUP-4"
    with pytest.raises(NotFound, match="free to take"):
        sla.take_next(board)


def test_a_re_rank_after_changes_and_time_equals_a_fresh_ranking(
    engine: Engine, ticket_row: TicketRow, tmp_path: Path
) -> None:
    rows = [
        ticket_row(f"SUP-{n}", package=("Gold", "Silver", "Bronze")[n % 3],
                   severity=("Highest", "High", "Medium", "Low")[n % 4],
                   column=(BoardColumn.TODO, BoardColumn.IN_PROGRESS, BoardColumn.FEEDBACK)[n % 3],
                   created=T0 - timedelta(hours=5 * n))
        for n in range(1, 31)
    ]  # fmt: skip
    store(engine, rows)
    now = [NOW]
    config = settings(tmp_path)
    kept = Queue(engine, config, lambda: now[0], site_packages={})
    board = Board(engine, config, clock=lambda: now[0])

    def snapshot(queue: Queue) -> list[tuple[str, int, str, float | None]]:
        return [(i.key, i.rank, i.state, i.left) for i in queue.ranking().items]

    first = snapshot(kept)
    # Over the weekend (Silver and Bronze run on office hours), with changes made here.
    now[0] = NOW + timedelta(days=2, hours=7)
    board.comment("SUP-4", "Looking into it")
    board.move("SUP-7", BoardColumn.FEEDBACK, comment="Waiting for the client's DNS access")
    board.move("SUP-9", BoardColumn.DONE, override_reason="fixed in passing")
    later = snapshot(kept)

    assert later != first
    assert "SUP-9" not in {key for key, *_ in later}
    assert later == snapshot(Queue(engine, config, lambda: now[0], site_packages={}))
    # A ticket that leaves the cache leaves the queue too.
    with engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM ticket WHERE key = 'SUP-12'")
    assert "SUP-12" not in {key for key, *_ in snapshot(kept)}
