"""Budget: one round of health checks of 500 URLs in at most 2 s; one frame per key meanwhile.

A loopback HTTP server (its own process) answers 500 site URLs: most at once, a fifth after
200 ms, and a few never (they time out after `--timeout` seconds). Part one times one round
(each URL once, results written to a SQLite cache) with the concurrency bound, and with a
smaller bound as the baseline. Part two drives the real app headless (Textual's pilot) on
the health screen of those 500 sites, moving the cursor while rounds of checks run in the
app's worker, and prints the key-to-frame p95 against the same keys with no round running.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import textual._compositor as compositor
from common import median_ms, p95_ms

from triage.core.board.service import Board
from triage.core.config import Settings, load_settings
from triage.core.demo import load_demo
from triage.core.health.monitor import HealthMonitor
from triage.core.sites.inventory import load_inventory
from triage.sandbox.agency import build_agency
from triage.storage.db import open_cache
from triage.tui.app import make_app
from triage.tui.screens.health import HealthScreen

SLOW_S = 0.2
FRAMES: list[float] = []


async def serve(port: int) -> None:
    """Answer /ok/N at once, /slow/N after 200 ms, /hang/N never; keep connections alive."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                path = request.split(b" ", 2)[1]
                if path.startswith(b"/hang"):
                    await asyncio.sleep(3600)
                if path.startswith(b"/slow"):
                    await asyncio.sleep(SLOW_S)
                body = b"<html>Welcome</html>"
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: "
                    + str(len(body)).encode()
                    + b"\r\n\r\n"
                    + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_listening(port: int) -> None:
    """Until the server process accepts connections (at most 30 s)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def write_sites(path: Path, port: int, count: int, hanging: int) -> None:
    """sites.toml with `count` sites: a fifth slow, `hanging` that never answer."""
    lines = []
    for index in range(count):
        kind = "hang" if index < hanging else "slow" if index % 5 == 0 else "ok"
        site = f"site-{index:03d}"
        lines += [
            f"[sites.{site}]",
            f'name = "Site {index}"\nclient = "Client {index % 40}"\npackage = "Gold"',
            'repo = "/nowhere.git"\ncheckout = "/nowhere"',
            f"[sites.{site}.envs.prod]",
            'web_container = "w"\ndb_container = "d"',
            f'url = "http://127.0.0.1:{port}/{kind}/{index}"',
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def settings_for(data_dir: Path, sites: Path, concurrency: int, timeout: float) -> Settings:
    health = {"concurrency": concurrency, "timeout_seconds": timeout, "retry_seconds": 0.5}
    return load_settings(
        data_dir / "absent.toml", data_dir=str(data_dir), sites_file=str(sites), health=health
    )


CPU: list[float] = []
"""Processor seconds of each timed round (this process: the checks and the cache writes)."""


def one_round(settings: Settings) -> float:
    engine = open_cache(settings.resolved_database_url())
    monitor = HealthMonitor(engine, settings.health, load_inventory(settings.resolved_sites_file()))
    start, cpu = time.perf_counter(), time.process_time()
    asyncio.run(monitor.round(confirm=False))
    took = time.perf_counter() - start
    CPU.append(time.process_time() - cpu)
    engine.dispose()
    return took


def record_frames() -> None:
    render = compositor.Compositor.render_update

    def timed(self: compositor.Compositor, *args: Any, **kwargs: Any) -> Any:
        result = render(self, *args, **kwargs)
        FRAMES.append(time.perf_counter())
        return result

    compositor.Compositor.render_update = timed  # type: ignore[method-assign]


async def keys_on_health_screen(board: Board, presses: int, rounds: bool) -> list[float]:
    """Key → painted frame on the health screen, with rounds running in the app or not."""
    app = make_app(board)
    samples: list[float] = []
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("O")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, HealthScreen) and app.screen.rows
        for index in range(presses):
            if rounds and not any(w.group == "health-check" for w in app.workers):
                app.check_sites()
            await pilot.pause()
            start = time.perf_counter()
            await pilot.press("jjkk"[index % 4].replace("j", "down").replace("k", "up"))
            await pilot.pause()
            painted = next((end for end in FRAMES if end > start), time.perf_counter())
            samples.append(painted - start)
        app.workers.cancel_all()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--urls", type=int, default=500)
    parser.add_argument("--hanging", type=int, default=10, help="URLs that never answer")
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--tickets", type=int, default=2000)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve))
        return
    port = free_port()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    try:
        wait_listening(port)
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            sites = root / "sites.toml"
            write_sites(sites, port, args.urls, args.hanging)
            bounded = settings_for(root / "a", sites, args.concurrency, args.timeout)
            small = settings_for(root / "b", sites, max(args.concurrency // 10, 1), args.timeout)
            runs = [one_round(bounded) for _ in range(3)]
            base = one_round(small)
            print(
                f"one round of {args.urls} URLs ({args.urls // 5} after {SLOW_S * 1000:.0f} ms, "
                f"{args.hanging} time out after {args.timeout:.1f} s), budget 2 s:"
            )
            print(
                f"  concurrency {args.concurrency}: median {median_ms(runs) / 1000:.2f} s "
                f"(runs {', '.join(f'{r:.2f}' for r in runs)})   | concurrency "
                f"{small.health.concurrency}: {base:.2f} s   | ratio {base / min(runs):.1f}x"
            )
            load = os.getloadavg()[0]
            print(
                f"  processor time of a round {median_ms(CPU[:3]) / 1000:.2f} s (median); "
                f"machine load average {load:.1f} on {os.cpu_count()} cores"
            )
            record_frames()
            data = root / "tui"
            settings = settings_for(data, sites, args.concurrency, args.timeout)
            engine = open_cache(settings.resolved_database_url())
            agency = build_agency(tickets=args.tickets, seed=1)
            load_demo(engine, settings, agency.issues, agency.fields, seed=1)
            asyncio.run(
                HealthMonitor(engine, settings.health, load_inventory(sites)).round(confirm=False)
            )
            board = Board(engine, settings)
            quiet = asyncio.run(keys_on_health_screen(board, args.presses, rounds=False))
            busy = asyncio.run(keys_on_health_screen(board, args.presses, rounds=True))
            print(
                f"health screen, {args.urls} sites at 160x48, {args.presses} cursor keys "
                "(budget one frame, 16 ms p95):"
            )
            print(
                f"  while rounds run: p50 {median_ms(busy):5.1f} ms  p95 {p95_ms(busy):5.1f} ms"
                f"   | no round: p50 {median_ms(quiet):5.1f} ms  p95 {p95_ms(quiet):5.1f} ms"
                f"   | ratio p95 {p95_ms(busy) / p95_ms(quiet):.2f}x"
            )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
