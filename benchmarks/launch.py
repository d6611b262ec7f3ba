"""Budget: launch to an interactive board with 20,000 cached tickets in under 1 s, no network.

Each run is a fresh process (imports included) that opens the cache, paints the board and
exits on the first frame. The baseline, run alongside, is a bare Textual app that paints
one line: the ratio is what Triage adds on top of Textual's own start. The child counts
socket connects made before the first paint; it must be 0.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import demo_cache, median_ms

CHILD = r"""
import socket, sys, time
import textual._compositor as compositor
connects = []
_real = socket.socket.connect
def _spy(self, address):
    connects.append(address)
    return _real(self, address)
socket.socket.connect = _spy
first_paint = []
_render = compositor.Compositor.render_update
def _timed(self, *args, **kwargs):
    result = _render(self, *args, **kwargs)
    if not first_paint and self.size.area:
        first_paint.append(time.time())
    return result
compositor.Compositor.render_update = _timed
sys.path.insert(0, {root!r})
if {baseline!r}:
    from textual.app import App
    from textual.widgets import Static
    class Bare(App):
        def compose(self):
            yield Static("hello")
        def on_mount(self):
            self.call_after_refresh(self.exit)
    Bare().run(headless=True, size=(160, 48))
else:
    from triage.core.board.service import Board
    from triage.core.config import load_settings
    from triage.storage.db import open_cache
    from triage.tui.app import make_app
    settings = load_settings(None, data_dir={data_dir!r})
    app = make_app(Board(open_cache(settings.resolved_database_url()), settings))
    def ready():
        screen = app.board_screen
        assert screen is not None and screen.data.total > 0
        app.exit()
    app.call_later(lambda: app.call_after_refresh(ready))
    app.run(headless=True, size=(160, 48))
print("first_paint", first_paint[0], "connects", len(connects))
"""


def run_child(data_dir: Path, baseline: bool) -> tuple[float, int]:
    """Seconds from spawning the process to its first painted frame, and its connects."""
    code = CHILD.format(
        root=str(Path(__file__).resolve().parents[1]), data_dir=str(data_dir), baseline=baseline
    )
    start = time.time()
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    words = result.stdout.split()
    return float(words[1]) - start, int(words[3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        board = demo_cache(data_dir, args.tickets)
        shown = board.load().total
        board.engine.dispose()
        triage, bare, connects = [], [], 0
        for _ in range(args.runs):
            elapsed, count = run_child(data_dir, baseline=False)
            triage.append(elapsed)
            connects += count
            bare.append(run_child(data_dir, baseline=True)[0])
    print(
        f"launch (process spawn) to first painted board, {args.tickets:,} cached tickets "
        f"({shown:,} on the board), median of {args.runs} fresh processes (budget 1000 ms)"
    )
    print(f"  triage board:          {median_ms(triage):7.1f} ms")
    print(f"  bare Textual baseline: {median_ms(bare):7.1f} ms")
    print(
        f"  ratio: {median_ms(triage) / median_ms(bare):.2f}x; "
        f"Triage's own share: {median_ms(triage) - median_ms(bare):.1f} ms"
    )
    print(f"  network connects before first paint: {connects}")


if __name__ == "__main__":
    main()
