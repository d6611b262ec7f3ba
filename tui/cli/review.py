"""`triage review`, `triage approve` and `triage send-back`: the code-review queue for scripts.

The verdicts change the cache and queue their comment and move for Jira, like the board's
keys; `triage sync` (or the open board) sends them. Bad input is one sentence, exit 2.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from triage.tui import safe_text
from triage.tui.cli.common import Subparsers

if TYPE_CHECKING:  # the parser imports this module: heavy imports live in the commands
    from triage.core.config import Settings
    from triage.core.review.service import Reviews
    from triage.core.sites.inventory import Inventory


def add_parsers(sub: Subparsers) -> None:
    """The review commands."""
    review = sub.add_parser(
        "review", help="list the tickets in Code Review you may review, oldest first"
    )
    review.add_argument("--json", action="store_true", help="print JSON for scripts")
    approve = sub.add_parser(
        "approve", help="approve a ticket's review: comment it in Jira and move it to QA"
    )
    approve.add_argument("key", metavar="KEY")
    back = sub.add_parser("send-back", help="send a ticket in review back to Needs Work")
    back.add_argument("key", metavar="KEY")
    back.add_argument(
        "--comment", required=True, metavar="TEXT", help="what to change (may quote file:line)"
    )


def _inventory(settings: Settings) -> Inventory | None:
    from triage.core.sites.inventory import load_inventory

    path = settings.resolved_sites_file()
    return load_inventory(path) if path.exists() else None


def _reviews(settings: Settings) -> Reviews:
    from triage.core.board.service import Board
    from triage.core.review.service import Reviews
    from triage.storage.db import open_cache

    board = Board(open_cache(settings.resolved_database_url()), settings)
    return Reviews(board, _inventory(settings))


def run_review(args: argparse.Namespace, settings: Settings) -> int:
    """Print the review queue, as lines or JSON."""
    from triage.tui.safe_text import line

    items = _reviews(settings).queue()
    if args.json:
        print(safe_text.json_dumps([item.as_json() for item in items]))
        return 0
    if not items:
        print("nothing waits for your review")
        return 0
    for item in items:
        since = item.entered.strftime("%Y-%m-%d %H:%M")
        print(
            f"{line(item.key):<10} {since}  {line(item.assignee) or '-':<18} "
            f"{line(item.summary)[:50]:<50}  {line(item.size())}"
        )
    return 0


def run_approve(args: argparse.Namespace, settings: Settings) -> int:
    """Approve the review of KEY."""
    from triage.tui.safe_text import line

    card = _reviews(settings).approve(args.key)
    print(f"{line(card.key)} approved and moved to QA; the comment waits for the next sync")
    return 0


def run_send_back(args: argparse.Namespace, settings: Settings) -> int:
    """Send KEY back to Needs Work with a comment."""
    from triage.tui.safe_text import line

    card = _reviews(settings).send_back(args.key, args.comment)
    print(f"{line(card.key)} sent back to Needs Work; the comment waits for the next sync")
    return 0


COMMANDS = {"review": run_review, "approve": run_approve, "send-back": run_send_back}
