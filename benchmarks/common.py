"""Shared pieces of the benchmarks: a demo cache of N tickets and median/percentile helpers."""

from __future__ import annotations

import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from triage.core.board.service import Board  # noqa: E402
from triage.core.config import Settings, load_settings  # noqa: E402
from triage.core.demo import load_demo  # noqa: E402
from triage.sandbox.agency import build_agency  # noqa: E402
from triage.storage.db import open_cache  # noqa: E402

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def settings_for(data_dir: Path) -> Settings:
    """Settings with no config file, the cache in `data_dir`."""
    return load_settings(data_dir / "absent.toml", data_dir=str(data_dir))


def demo_cache(data_dir: Path, tickets: int, seed: int = 0) -> Board:
    """A demo cache of `tickets` tickets in `data_dir`, and a board on it (clock frozen)."""
    settings = settings_for(data_dir)
    engine = open_cache(settings.resolved_database_url())
    agency = build_agency(tickets=tickets, seed=seed, now=NOW)
    load_demo(engine, settings, agency.issues, agency.fields, seed=seed)
    return Board(engine, settings, clock=lambda: NOW)


def median_ms(samples: list[float]) -> float:
    """Median of samples in seconds, as milliseconds."""
    return statistics.median(samples) * 1000


def p95_ms(samples: list[float]) -> float:
    """95th percentile of samples in seconds, as milliseconds."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))] * 1000
