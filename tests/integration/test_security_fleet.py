"""The fleet refresh on real git: bare remotes with composer.lock files, one unreachable, one
whose prod runs another branch, one without a lock; matching against what was read."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sqlalchemy.engine import Engine

from triage.core.security.demo import demo_inventory
from triage.core.security.feeds import parse_advisories
from triage.core.security.fleet import mirror_path, refresh
from triage.core.security.matching import security_report
from triage.sandbox.agency_fleet import make_repository
from triage.storage import security as rows


def _inventory(tmp_path: Path) -> tuple[list[tuple[str, Path, str]], Path]:
    remotes = tmp_path / "remotes"
    old = make_repository(remotes / "old.git", {"drupal/core": "10.4.8", "drupal/token": "1.13.0"})
    new = make_repository(
        remotes / "new.git",
        {"drupal/core": "10.4.9", "drupal/token": "1.15.0"},
        live={"drupal/core": "10.4.7", "drupal/token": "1.15.0"},
    )
    empty = remotes / "empty.git"
    subprocess.run(["git", "init", "-q", "--bare", str(empty)], check=True)
    sites = [
        ("old", old, ""),
        ("new", new, "live"),
        ("gone", remotes / "missing.git", ""),
        ("empty", empty, ""),
    ]
    return sites, tmp_path / "data"


def test_refresh_reads_every_site_and_reports_the_unreachable(
    tmp_path: Path, engine: Engine
) -> None:
    sites, data = _inventory(tmp_path)
    reads = refresh(engine, demo_inventory(sites, tmp_path / "co"), data, concurrency=3)

    by = {(r.site, r.ref): r for r in reads}
    assert set(by) == {("old", "main"), ("new", "main"), ("new", "live"), ("gone", "main"),
                       ("empty", "main")}  # fmt: skip
    assert "cannot fetch the repository of gone" in by[("gone", "main")].error
    assert "no branch, tag or commit 'main'" in by[("empty", "main")].error
    assert not by[("old", "main")].error and len(by[("old", "main")].commit) == 40
    token = next(p for p in by[("old", "main")].packages if p.name == "drupal/token")
    assert (token.version, token.drupal_version, token.coverage) == (
        "1.13.0", "8.x-1.13", "covered"
    )  # fmt: skip
    # No working checkout: only bare mirrors under the data directory.
    assert (mirror_path(data, "old") / "HEAD").is_file()
    assert not (tmp_path / "co").exists()

    core = {(p.site, p.ref): p.version for p in rows.packages(engine, ["drupal/core"])}
    assert core == {("old", "main"): "10.4.8", ("new", "main"): "10.4.9",
                    ("new", "live"): "10.4.7"}  # fmt: skip


def test_a_failed_refresh_keeps_what_was_read_and_says_why(tmp_path: Path, engine: Engine) -> None:
    sites, data = _inventory(tmp_path)
    inventory = demo_inventory(sites[:1], tmp_path / "co")
    refresh(engine, inventory, data)
    (tmp_path / "remotes" / "old.git").rename(tmp_path / "remotes" / "moved.git")

    (read,) = refresh(engine, inventory, data)

    assert read.error.startswith("cannot fetch the repository of old")
    (lock,) = rows.locks(engine)
    assert lock.error == read.error and len(lock.commit) == 40
    assert [p.version for p in rows.packages(engine, ["drupal/core"])] == ["10.4.8"]


def test_matching_finds_affected_patched_and_unknown(tmp_path: Path, engine: Engine) -> None:
    sites, data = _inventory(tmp_path)
    refresh(engine, demo_inventory(sites, tmp_path / "co"), data)
    feed = {"advisories": {"drupal/core": [{
        "advisoryId": "SA-CORE-2025-001", "packageName": "drupal/core",
        "affectedVersions": ">= 8.0.0 <10.4.9", "severity": "critical",
    }]}}  # fmt: skip
    rows.save_advisories(engine, parse_advisories(feed, "test").advisories)

    (entry,) = security_report(engine)

    states = {(s.site, s.state, s.version, s.ref) for s in entry.sites}
    assert states == {
        ("old", "affected", "10.4.8", "main"),
        ("new", "affected", "10.4.7", "live"),  # main is patched, prod still runs 10.4.7
        ("gone", "unknown", "", ""),
        ("empty", "unknown", "", ""),
    }
    assert entry.as_json()["severity"] == "critical"
