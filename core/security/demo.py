"""The demo's fleet in the cache: its sites' locks read through the real refresh, and advisories.

The demo's site repositories are local bare repositories (made by the sandbox); they go
through the same `fleet.refresh` and feed parsing as a real agency's. With `--sites`, the
demo's sites on containers are read the same way, from their own sites.toml.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from triage.core.security import fleet
from triage.core.security.feeds import parse_advisories
from triage.core.sites.inventory import Environment, Inventory, Site
from triage.storage import security as rows

DEMO_FEED = "demo"


def demo_inventory(sites: Iterable[tuple[str, Path, str]], checkouts: Path) -> Inventory:
    """An inventory of (id, bare repository, prod ref) with placeholder environments."""
    found: dict[str, Site] = {}
    for site_id, repo, prod_ref in sites:
        prod = Environment(web_container=f"{site_id}-web", db_container=f"{site_id}-db")
        found[site_id] = Site(
            id=site_id,
            name=site_id,
            client=site_id.split("-")[0],
            repo=str(repo),
            prod_ref=prod_ref,
            checkout=str(checkouts / site_id),
            envs={"prod": prod},
        )
    return Inventory(sites=found)


def load_demo_fleet(
    engine: Engine,
    data_dir: Path,
    sites: Iterable[tuple[str, Path, str]],
    advisories: Any,
) -> tuple[int, int]:
    """Refresh the demo sites' locks and keep the demo advisories; (sites read, advisories)."""
    inventory = demo_inventory(sites, data_dir / "demo-checkouts")
    reads = fleet.refresh(engine, inventory, data_dir, concurrency=4, timeout=30.0)
    read = parse_advisories(advisories, DEMO_FEED)
    rows.save_advisories(engine, read.advisories)
    return len({r.site for r in reads if not r.error}), len(read.advisories)


def load_sites_fleet(
    engine: Engine, data_dir: Path, inventory: Inventory, advisories: Any
) -> tuple[int, int]:
    """Read the demo sites' locks (sites on containers) and keep their advisory; as above."""
    reads = fleet.refresh(engine, inventory, data_dir, concurrency=4, timeout=60.0)
    read = parse_advisories(advisories, DEMO_FEED)
    rows.save_advisories(engine, read.advisories)
    return len({r.site for r in reads if not r.error}), len(read.advisories)
