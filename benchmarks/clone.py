"""Clone prod into dev: `clone_prod` against a plain `mysqldump | mariadb` pipe (aim ≤ 1.0×).

The site of tests/integration/site_fixtures.py (prod and dev as real containers on the engine of
tests/dockerd.py) gets a production database of about 200 MB, made inside its db container
with INSERT … SELECT from MariaDB's sequence tables: articles (the bulk: node__body), accounts,
and the big cache_* and watchdog tables that real sites have. Then, in the same run,
alternately: the plain pipe between the same two containers (`docker exec prod-db mysqldump
--single-transaction --quick | docker exec -i dev-db mariadb`, nothing skipped or sanitized),
and `clone_prod(site, "dev", …)` with every step (backup of dev, which then holds the full copy
the pipe made, import, sanitize, verify, files, code, post-clone, smoke). Printed: each run,
the median of each step, the scan for addresses on its own (the verify's query, run again on
the clone), and the ratio of the medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT, ROOT / "tests", ROOT / "tests" / "integration"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from dockerd import ensure_docker  # noqa: E402
from site_fixtures import World, build_world  # noqa: E402

from triage.core.jobs.reporting import ListReporter  # noqa: E402
from triage.core.sites.clone import clone_prod  # noqa: E402
from triage.core.sites.environments import Engines  # noqa: E402
from triage.core.sites.sanitize import find_addresses, text_columns  # noqa: E402
from triage.core.sites.site_env import SiteEnv  # noqa: E402
from triage.sandbox.images import ensure_images  # noqa: E402

GROW = [
    # Content: 60,000 articles of about 1 kB.
    "INSERT INTO node_field_data SELECT seq, seq, 'article', 'en', 1, 1, CONCAT('Article ', seq),"
    " 1700000000 + seq, 1700000000 + seq, 0, 0, 1 FROM seq_100_to_60099",
    "INSERT INTO node__body SELECT 'article', 0, seq, seq, 'en', 0,"
    " CONCAT('<p>', REPEAT(MD5(seq), 30), '</p>'), '', 'basic_html' FROM seq_100_to_60099",
    # Accounts at the production domain.
    "INSERT INTO users (uid, uuid, langcode) SELECT seq, UUID(), 'en' FROM seq_1000_to_50999",
    "INSERT INTO users_field_data (uid, langcode, name, pass, mail, status, created, access,"
    " init, default_langcode) SELECT seq, 'en', CONCAT('member', seq), CONCAT('$2y$10$',"
    " MD5(seq), MD5(seq + 1)), CONCAT('member', seq, '@acme.example'), 1, 1700000000, 0,"
    " CONCAT('member', seq, '@acme.example'), 1 FROM seq_1000_to_50999",
    # Render cache and log, as big as they get on a busy site.
    "INSERT INTO cache_render (cid, data, expire, created, serialized, tags, checksum)"
    " SELECT CONCAT('entity_view:node:', seq), REPEAT(SHA2(seq, 256), 24), -1, 1795711320, 1,"
    " 'node_view rendered', '0' FROM seq_1_to_40000",
    "INSERT INTO cache_data (cid, data, expire, created, serialized, tags, checksum)"
    " SELECT CONCAT('data:', seq), REPEAT(MD5(seq), 16), -1, 1795711320, 1, '', '0'"
    " FROM seq_1_to_20000",
    "INSERT INTO watchdog (uid, type, message, variables, severity, location, referer, hostname,"
    " timestamp) SELECT seq % 50000, 'page not found', '@uri', CONCAT('a:1:{s:4:\"@uri\";s:32:\"',"
    " MD5(seq), '\";}'), 4, CONCAT('https://www.acme.example/', MD5(seq)),"
    " 'https://www.acme.example/', '203.0.113.7', 1795711320 FROM seq_1_to_150000",
]


def grow_prod(world: World) -> float:
    """Fill prod's database; its size in MB (data and indexes)."""
    for statement in GROW:
        world.sql("prod", statement)
    tables = world.sql("prod", "SHOW TABLES").split()
    world.sql("prod", f"ANALYZE TABLE {', '.join(tables)}")
    size = world.sql(
        "prod",
        "SELECT ROUND(SUM(data_length + index_length) / 1e6) FROM information_schema.tables"
        " WHERE table_schema = 'drupal'",
    )
    return float(size)


def plain_pipe(world: World, scratch: Path) -> tuple[float, int]:
    """The plain pipe between the two db containers; (seconds, bytes of SQL)."""
    prod, dev = world.site.env("prod").db_container, world.site.env("dev").db_container
    script = (
        f"set -o pipefail; docker exec {prod} mysqldump --single-transaction --quick drupal"
        f" | tee >(wc -c > {scratch / 'bytes'}) | docker exec -i {dev} mariadb drupal"
    )
    started = time.perf_counter()
    subprocess.run(["bash", "-c", script], check=True)
    seconds = time.perf_counter() - started
    return seconds, int((scratch / "bytes").read_text().split()[0])


def scan(world: World) -> tuple[float, int]:
    """The verify's scan of dev on its own: (seconds, text columns scanned)."""
    dev = SiteEnv(world.engines, world.site, "dev", ListReporter())
    started = time.perf_counter()
    columns = text_columns(dev)
    found = find_addresses(dev, columns)
    assert not found, found
    return time.perf_counter() - started, sum(len(names) for names in columns.values())


def relay_clone(world: World) -> dict[str, float]:
    """clone_prod with dev named by another address of the engine: the relay's path; times."""
    site = world.site.model_copy(deep=True)
    site.envs["dev"].docker_host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    engines = Engines({"": world.client})
    started = time.perf_counter()
    try:
        report = clone_prod(site, "dev", ListReporter(), engines)
    finally:
        engines.close()
    times = {step.name: step.seconds for step in report.steps}
    return {"total": time.perf_counter() - started, "import": times["import"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="pairs of runs (default 3)")
    parser.add_argument(
        "--relay", action="store_true",
        help="also clone through the relay (as between two engines) in each run",
    )  # fmt: skip
    args = parser.parse_args()
    client = ensure_docker()
    ensure_images(client)
    steps: dict[str, list[float]] = defaultdict(list)
    plain: list[float] = []
    clone: list[float] = []
    scans: list[float] = []
    relayed: dict[str, list[float]] = defaultdict(list)
    columns = 0
    with tempfile.TemporaryDirectory() as tmp, build_world(client, Path(tmp), ("prod", "dev")) as w:
        started = time.perf_counter()
        size = grow_prod(w)
        print(f"prod database: {size:.0f} MB (data + indexes), made in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        for run in range(args.repeat):
            seconds, sql_bytes = plain_pipe(w, Path(tmp))
            plain.append(seconds)
            started = time.perf_counter()
            report = clone_prod(w.site, "dev", ListReporter(), w.engines)
            clone.append(time.perf_counter() - started)
            for step in report.steps:
                steps[step.name].append(step.seconds)
            seconds_scan, columns = scan(w)
            scans.append(seconds_scan)
            print(f"run {run + 1}: plain pipe {seconds:.2f} s ({sql_bytes / 1e6:.0f} MB of SQL), "
                  f"clone_prod {clone[-1]:.2f} s ({report.bytes_imported / 1e6:.0f} MB of SQL, "
                  f"skipped data of {', '.join(report.skipped_tables)})")  # fmt: skip
            if args.relay:
                for name, value in relay_clone(w).items():
                    relayed[name].append(value)
    print("clone_prod steps (median s):")
    for name, samples in steps.items():
        print(f"  {name:<12} {statistics.median(samples):7.2f}")
    scan_s = statistics.median(scans)
    print(f"scan for addresses ({columns} text columns, in the verify): {scan_s:.2f} s, "
          f"{scan_s / statistics.median(clone):.0%} of the clone")  # fmt: skip
    if relayed:
        print(f"clone_prod through the relay: {statistics.median(relayed['total']):.2f} s, "
              f"import {statistics.median(relayed['import']):.2f} s (median)")  # fmt: skip
    ratio = statistics.median(clone) / statistics.median(plain)
    print(f"plain mysqldump | mariadb: {statistics.median(plain):.2f} s (median)")
    print(f"clone_prod:                {statistics.median(clone):.2f} s (median)")
    print(f"ratio: {ratio:.2f}x (aim <= 1.0x)")


if __name__ == "__main__":
    main()
