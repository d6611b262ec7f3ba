"""The cache that `open_cache` makes holds the rollout's tables."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from triage.storage import rollouts as store
from triage.storage.db import open_cache, sqlite_url


def test_open_cache_creates_the_rollout_tables(tmp_path: Path) -> None:
    engine = open_cache(sqlite_url(tmp_path / "cache.db"))
    try:
        tables = set(sa.inspect(engine).get_table_names())
        assert {"rollout", "rollout_site"} <= tables
        assert store.rollouts(engine) == [] and store.site_rows(engine) == []
    finally:
        engine.dispose()
