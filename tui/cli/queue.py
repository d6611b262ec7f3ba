"""`triage queue`: the SLA queue in rank order, for people, scripts and chat bots."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from triage.tui.cli.common import Subparsers

if TYPE_CHECKING:  # the parser imports this module: heavy imports live in the commands
    from triage.core.config import Settings
    from triage.core.sla.ranking import QueueItem

STATE_WORDS = {"breached": "BREACHED", "risk": "at risk", "ok": "", "paused": "paused", "none": ""}


def add_parsers(sub: Subparsers) -> None:
    """The queue's command."""
    queue = sub.add_parser("queue", help="open tickets ranked by their SLA clocks, top first")
    queue.add_argument("--json", action="store_true", help="print JSON for scripts")
    queue.add_argument("--mine", action="store_true", help="only tickets assigned to me")
    queue.add_argument("--limit", type=int, default=0, metavar="N", help="only the first N")


def run_queue(args: argparse.Namespace, settings: Settings) -> int:
    """Print the ranked queue."""
    from triage.core.board.service import Board
    from triage.core.sla.queue import Queue
    from triage.storage.db import open_cache

    engine = open_cache(settings.resolved_database_url())
    items = Queue(engine, settings).items()
    if args.mine:
        me = Board(engine, settings).me.name.casefold()
        items = [item for item in items if (item.assignee or "").casefold() == me]
    if args.limit > 0:
        items = items[: args.limit]
    if args.json:
        print(json.dumps([as_json(item) for item in items], indent=2))
        return 0
    for item in items:
        print(line(item))
    if not items:
        print("no open tickets" + (" assigned to you" if args.mine else ""))
    return 0


def as_json(item: QueueItem) -> dict[str, object]:
    """One queue entry as scripts get it."""
    from triage.core.sla.queue import iso

    return {
        "rank": item.rank,
        "key": item.key,
        "package": item.package,
        "severity": item.severity,
        "due": iso(item.due),
        "breached": item.state == "breached",
        "state": item.state,
        "time_left_s": None if item.left is None else round(item.left),
        "assignee": item.assignee,
        "column": item.column.value if item.column else None,
        "defaults": list(item.defaults),
        "why": item.why,
    }


def line(item: QueueItem) -> str:
    """One queue entry as a line of a terminal table."""
    from triage.core.sla.ranking import span

    left = "—" if item.left is None else span(item.left)
    if item.left is not None and item.left < 0:
        left = "-" + span(-item.left)
    due = "" if item.due is None else datetime.fromtimestamp(item.due, UTC).strftime("%d %b %H:%M")
    state = STATE_WORDS[item.state]
    who = item.assignee or "nobody"
    return (
        f"{item.rank:>4}  {item.key:<10} {item.package:<8} {item.severity:<8} "
        f"{left:>8} {state:<9} {due:<13} {who:<18} {item.why}"
    )


COMMANDS = {"queue": run_queue}
