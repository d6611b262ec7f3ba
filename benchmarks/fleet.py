"""What each site runs, at fleet scale: refresh 120 site repositories, match 50 advisories.

Prints medians: a cold refresh (no mirrors yet: init + full fetch + read per site), a warm
refresh (mirrors there: fetch of what changed + read), and matching 50 advisories against
what 120 sites run, from the cache. The baseline, measured in the same run, is one
`git ls-remote` of one site repository: the least a refresh of one site can cost.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from triage.core.security.demo import demo_inventory
from triage.core.security.feeds import parse_advisories
from triage.core.security.fleet import refresh
from triage.core.security.matching import security_report
from triage.sandbox.agency import build_agency
from triage.sandbox.agency_fleet import make_repository, site_packages
from triage.storage import security as rows
from triage.storage.db import open_cache, sqlite_url


def median_ms(samples: list[float]) -> float:
    """Median of samples in seconds, as milliseconds."""
    return statistics.median(samples) * 1000


def make_fleet(root: Path, count: int) -> list[tuple[str, Path, str]]:
    sites = [s for s in build_agency(tickets=10, seed=1).sites if not s.drupal_version[0] == "7"]
    made = []
    for index in range(count):
        site = sites[index % len(sites)]
        main = site_packages(site.drupal_version, index)
        live = {**main, "drupal/core": "10.4.7"} if index % 4 == 0 else None
        repo = make_repository(root / f"site{index:03}.git", main, live)
        made.append((f"site{index:03}", repo, "live" if live else ""))
    return made


def advisories(count: int) -> dict[str, object]:
    entries = [
        {
            "advisoryId": f"SA-BENCH-{n:03}",
            "packageName": "drupal/core" if n % 2 else "drupal/token",
            "affectedVersions": f">= 10.{n % 6}.0 <10.{n % 6}.{n % 9 + 1} || 11.{n % 3}.*",
            "severity": "critical",
        }
        for n in range(count)
    ]
    return {"advisories": {"bench": entries}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=120)
    parser.add_argument("--advisories", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        fleet = make_fleet(root / "remotes", args.sites)
        inventory = demo_inventory(fleet, root / "checkouts")
        engine = open_cache(sqlite_url(root / "cache.db"))
        ls_remote, cold, warm, matching = [], [], [], []
        for _ in range(args.runs):
            start = time.perf_counter()
            subprocess.run(["git", "ls-remote", str(fleet[0][1])], check=True, capture_output=True)
            ls_remote.append(time.perf_counter() - start)
        for run in range(args.runs):
            data = root / f"data{run}"
            start = time.perf_counter()
            reads = refresh(engine, inventory, data, concurrency=args.concurrency)
            cold.append(time.perf_counter() - start)
            assert not any(read.error for read in reads), [r.error for r in reads if r.error]
            start = time.perf_counter()
            refresh(engine, inventory, data, concurrency=args.concurrency)
            warm.append(time.perf_counter() - start)
            shutil.rmtree(data)
        rows.save_advisories(engine, parse_advisories(advisories(args.advisories), "b").advisories)
        for _ in range(args.runs):
            start = time.perf_counter()
            report = security_report(engine)
            matching.append(time.perf_counter() - start)
        affected = sum(entry.count("affected") for entry in report)
        base = median_ms(ls_remote)
        print(f"baseline: git ls-remote of one repository   {base:8.1f} ms")
        for name, samples in (("cold refresh", cold), ("warm refresh", warm)):
            ms = median_ms(samples)
            print(
                f"{name} of {args.sites} sites (x{args.concurrency}) {ms:8.1f} ms "
                f"= {ms / base:5.1f} x baseline, {ms / args.sites:.1f} ms per site, "
                f"{ms / (base * args.sites):.2f} x {args.sites} ls-remotes one after another"
            )
        print(
            f"matching {args.advisories} advisories x {args.sites} sites "
            f"{median_ms(matching):8.1f} ms ({affected} affected site lines)"
        )


if __name__ == "__main__":
    main()
