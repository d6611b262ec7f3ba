"""Budget: a key press to the updated screen in one frame (16 ms) at the 95th percentile.

Drives the real app headless (Textual's pilot) on a 20,000-ticket cache: focus moves
(j/k within a column, h/l across columns) and card moves (L/H between PO Review and
Ready To Deploy, each a committed cache write with its outbox row). Each sample is the
time from the key press until the screen has processed it and repainted. The baseline,
in the same process, is the same keys on a 200-ticket cache: the ratio shows what the
size of the cache costs. Beside the wall time, each sample's CPU time (the process's
`time.process_time()` from the press to that frame) is what the press cost the app itself,
steady on a busy machine; it leaves out waiting for the disk (a move's commit).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import textual._compositor as compositor
from common import demo_cache, median_ms, p95_ms

from triage.core.board.service import Board
from triage.storage.columns import BoardColumn
from triage.tui.app import make_app

FRAMES: list[tuple[float, float]] = []
"""When each frame finished painting (perf_counter, process_time), from the compositor."""


def record_frames() -> None:
    """Note the end of every painted frame; a sample ends at the first frame after its key."""
    render = compositor.Compositor.render_update

    def timed(self: compositor.Compositor, *args: Any, **kwargs: Any) -> Any:
        result = render(self, *args, **kwargs)
        FRAMES.append((time.perf_counter(), time.process_time()))
        return result

    compositor.Compositor.render_update = timed  # type: ignore[method-assign]


KINDS = ("card", "column", "move")


async def measure(board: Board, presses: int, width: int) -> dict[str, list[float]]:
    """Wall seconds per press under each kind, and CPU seconds under "<kind> cpu"."""
    app = make_app(board)
    samples: dict[str, list[float]] = {k: [] for kind in KINDS for k in (kind, f"{kind} cpu")}
    async with app.run_test(size=(width, 48)) as pilot:
        await pilot.pause()
        screen = app.board_screen
        assert screen is not None

        async def timed(kind: str, key: str) -> None:
            await pilot.pause()
            start, cpu = time.perf_counter(), time.process_time()
            await pilot.press(key)
            await app.workers.wait_for_complete()
            await pilot.pause()
            painted, painted_cpu = next(frame for frame in FRAMES if frame[0] > start)
            samples[kind].append(painted - start)
            samples[f"{kind} cpu"].append(painted_cpu - cpu)

        for index in range(presses):
            await timed("card", "jjkk"[index % 4])
        for index in range(presses):
            await timed("column", "lh"[index % 2])
        # Card moves: a PO Review card, back and forth; the demo's facts pass both guards.
        card = screen.data.columns[BoardColumn.PO_REVIEW][0]
        screen.jump_to(card.key)
        await pilot.pause()
        for index in range(presses):
            await timed("move", "LH"[index % 2])
        final = board.ticket(card.key).column
        assert final in (BoardColumn.PO_REVIEW, BoardColumn.READY_TO_DEPLOY)
    return samples


def main() -> None:
    record_frames()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--presses", type=int, default=100)
    parser.add_argument(
        "--width", type=int, nargs="+", default=[160], help="terminal columns (height 48)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as big, tempfile.TemporaryDirectory() as small:
        large_board, base_board = demo_cache(Path(big), args.tickets), demo_cache(Path(small), 200)
        for width in args.width:
            large = asyncio.run(measure(large_board, args.presses, width))
            base = asyncio.run(measure(base_board, args.presses, width))
            report(args.tickets, args.presses, width, large, base)


Samples = dict[str, list[float]]


def report(tickets: int, presses: int, width: int, large: Samples, base: Samples) -> None:
    """One line per kind of press: wall, then CPU; the large cache against 200 tickets."""
    print(f"key press to screen at {width}x48, {presses} presses of each kind (p95 ≤ 16 ms)")
    for kind in (*KINDS, *(f"{kind} cpu" for kind in KINDS)):
        print(
            f"  {kind:10} {tickets:,} tickets: p50 {median_ms(large[kind]):5.1f} ms  "
            f"p95 {p95_ms(large[kind]):5.1f} ms   | 200 tickets: p50 "
            f"{median_ms(base[kind]):5.1f} ms  p95 {p95_ms(base[kind]):5.1f} ms   "
            f"| ratio p95 {p95_ms(large[kind]) / p95_ms(base[kind]):.2f}x"
        )


if __name__ == "__main__":
    main()
