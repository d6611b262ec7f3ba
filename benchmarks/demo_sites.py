"""How long `triage demo --sites N` takes to start its sites, and to remove them.

Builds the demo sites (triage.sandbox.demo_sites) on the local Docker engine, N = 1 first
(the baseline, measured in the same run) and then each N asked for; prints the wall time of
the start and of the removal, and the start per site against the baseline (a ratio below 1:
sites made in parallel cost less than one at a time). The images must exist (run the demo
or the Docker tests once). Run: `python -m benchmarks.demo_sites --sites 2 6`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import docker  # noqa: E402

from triage.sandbox.demo_sites import demo_sites  # noqa: E402
from triage.sandbox.images import images_current  # noqa: E402


def measure(client: docker.DockerClient, home: Path, count: int) -> tuple[float, float]:
    """(seconds to start `count` sites, seconds to remove them)."""
    started = time.monotonic()
    ended: list[float] = []
    with demo_sites(client, home, count, lambda _line: None, f"bench{count:04d}") as made:
        ready = time.monotonic() - started
        assert len(made.inventory.sites) == count
        ended.append(time.monotonic())
    return ready, time.monotonic() - ended[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, nargs="+", default=[3], help="site counts")
    args = parser.parse_args()
    client = docker.from_env(timeout=600)
    if not images_current(client):
        print("the sandbox images are missing or stale: run `triage demo --sites 1` once")
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        base, base_rm = measure(client, Path(scratch) / "one", 1)
        print(f"1 site (baseline): start {base:6.1f} s, removal {base_rm:5.1f} s")
        for count in args.sites:
            ready, removal = measure(client, Path(scratch) / f"n{count}", count)
            ratio = ready / count / base
            print(f"{count} sites: start {ready:6.1f} s ({ready / count:5.1f} s a site, "
                  f"{ratio:.2f} × the baseline), removal {removal:5.1f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
