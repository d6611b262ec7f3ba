"""Where the launch goes: a pyinstrument profile of `triage` up to its first painted board.

Builds a demo cache, then profiles a fresh process (imports included) that loads the settings,
opens the cache and runs the app headless at 160×48 until the board's first frame is painted.
Prints pyinstrument's text report (or writes HTML with --html); `pip install -e .[dev]`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from common import demo_cache

CHILD = r"""
import sys, time
from pyinstrument import Profiler
profiler = Profiler(interval=0.0005)
profiler.start()
import textual._compositor as compositor
from triage.core.config import load_settings
from triage.core.board.service import Board
from triage.storage.db import open_cache
from triage.tui.app import make_app
painted = []
_render = compositor.Compositor.render_update
def _timed(self, *args, **kwargs):
    result = _render(self, *args, **kwargs)
    screen = app.board_screen
    if not painted and screen is not None and screen.is_current:
        painted.append(time.perf_counter())
        profiler.stop()
        app.exit()
    return result
compositor.Compositor.render_update = _timed
settings = load_settings(None, data_dir={data_dir!r})
app = make_app(Board(open_cache(settings.resolved_database_url()), settings))
app.run(headless=True, size=(160, 48))
if {html!r}:
    print(profiler.output_html())
else:
    print(profiler.output_text(unicode=True, show_all={show_all!r}, short_mode=False))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=364)
    parser.add_argument("--all", action="store_true", help="show library frames too")
    parser.add_argument("--html", action="store_true", help="print an HTML report instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        board = demo_cache(data_dir, args.tickets)
        board.engine.dispose()
        code = CHILD.format(data_dir=str(data_dir), html=args.html, show_all=args.all)
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
        )
    print(done.stdout)


if __name__ == "__main__":
    main()
