"""Tickets that came in by e-mail carry a ✉ on their board card, for the on-call to triage.

The app runs headless in a child process started in the repository root, so it is this
checkout's `tui` that draws the board (in the test process, `tests/tui` takes that name).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CHILD = r"""
import asyncio, json, sys
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, select

from triage.core.board.service import Board
from triage.core.config import load_settings
from triage.core.demo import load_demo
from triage.sandbox.agency import build_agency
from triage.storage.db import open_cache
from triage.storage.columns import BoardColumn
from triage.storage.models import Ticket
from triage.tui.app import make_app
from triage.tui.widgets.card_list import CARD_HEIGHT

now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
data = Path(sys.argv[1])
settings = load_settings(data / "absent.toml", data_dir=str(data))
engine = open_cache(settings.resolved_database_url())
agency = build_agency(tickets=60, seed=3, now=now)
load_demo(engine, settings, agency.issues, agency.fields, seed=3)
with Session(engine) as session:
    todo = list(session.exec(select(Ticket).where(Ticket.column == BoardColumn.TODO)))
    mailed, plain = todo[0], todo[1]
    mailed.labels = [*mailed.labels, "triage-email"]
    session.add(mailed)
    session.commit()
    keys = [mailed.key, plain.key]


async def main():
    app = make_app(Board(engine, settings, clock=lambda: now))
    async with app.run_test(size=(200, 50)) as pilot:
        await pilot.pause()
        cards = app.board_screen.board_view.view(BoardColumn.TODO).cards
        lines = {}
        for key in keys:
            cards.select_key(key)
            index = next(i for i, c in enumerate(cards.cards) if c.key == key)
            lines[key] = cards.render_line((index - cards.first) * CARD_HEIGHT).text
        print(json.dumps({"mailed": keys[0], "plain": keys[1], "lines": lines}))


asyncio.run(main())
"""


def test_a_card_from_email_shows_the_mark_and_others_do_not(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env["TRIAGE_CONFIG"] = str(tmp_path / "absent.toml")
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    found = json.loads(child.stdout.strip().splitlines()[-1])
    mailed, plain = found["mailed"], found["plain"]
    assert found["lines"][mailed].lstrip("▎▌").startswith(f"{mailed} ✉")
    assert "✉" not in found["lines"][plain]
