"""The demo workspace: an agency's Jira issues loaded into the cache through the real mapping.

The facts Triage would have recorded while the team worked (branches, reviews, test sites,
deploys) are filled in to match each ticket's column, so the workflow rules behave as in
a workspace that has been in use.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Engine

from triage.core.config import Settings
from triage.core.tracker.ingest import map_issues, store_in
from triage.core.tracker.mapping import StatusMapper, resolve_fields, user_id, user_name
from triage.storage import demo_cache
from triage.storage.columns import BoardColumn
from triage.storage.errors import TriageError
from triage.storage.queries import get_meta, set_meta, ticket_count

_AFTER_REVIEW = {
    BoardColumn.QA,
    BoardColumn.PO_REVIEW,
    BoardColumn.READY_TO_DEPLOY,
    BoardColumn.DONE,
}


def load_demo(
    engine: Engine,
    settings: Settings,
    issues: Sequence[Mapping[str, Any]],
    fields: Sequence[Mapping[str, Any]],
    seed: int = 0,
) -> int:
    """Load the demo's issues into the cache and record who "me" is; returns the count."""
    me = busiest_assignee(issues)
    ids = resolve_fields(fields, settings.jira.fields)
    mapped = map_issues(issues, ids, StatusMapper(settings.jira.status_map))
    rng = random.Random(seed)
    reviewers = sorted({m.ticket["assignee"] for m in mapped if m.ticket["assignee"]})
    facts = [_facts(item.ticket, rng, reviewers) for item in mapped]
    # One transaction: a demo killed half-way leaves the previous cache, never half of one.
    with engine.begin() as connection:
        demo_cache.clear(connection)
        count = store_in(connection, mapped)
        demo_cache.write_facts(connection, facts)
        set_meta(connection, "me_name", me[0])
        set_meta(connection, "me_id", me[1])
        set_meta(connection, "workspace", "demo")
    return count


def clear_demo(engine: Engine, keep_open: bool = False) -> None:
    """Empty the demo cache before a rebuild through the sandbox and the sync.

    With `keep_open`, changes Jira has not taken (in conflict or failed) stay in the outbox:
    the sync puts them back on their tickets, where the user settles them.
    """
    with engine.begin() as connection:
        demo_cache.clear(connection, keep_open)
        demo_cache.forget_meta(
            connection, ("sync_watermark", "synced_at", "deleted_scan_at", "field_ids")
        )


def seed_demo_facts(engine: Engine, seed: int = 0, me: tuple[str, str] | None = None) -> None:
    """Record the facts the team's work would have left, for the tickets now in the cache.

    `me` (name, account id) is the demo's user, which commands run while no demo runs take
    as "me" (core.tracker.identity).
    """
    with engine.begin() as connection:
        rows = demo_cache.tickets_for_facts(connection)
        rng = random.Random(seed)
        reviewers = sorted({row["assignee"] for row in rows if row["assignee"]})
        demo_cache.write_facts(connection, [_facts(row, rng, reviewers) for row in rows])
        set_meta(connection, "workspace", "demo")
        if me is not None:
            set_meta(connection, "me_name", me[0])
            set_meta(connection, "me_id", me[1])


def busiest_assignee(issues: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """The demo's "me": whoever has the most tickets in progress, so `@me` shows work."""
    counts: dict[tuple[str, str], int] = {}
    for issue in issues:
        fields = issue["fields"]
        assignee = fields.get("assignee")
        if assignee and fields["status"]["name"] == BoardColumn.IN_PROGRESS.value:
            person = (user_name(assignee) or "", user_id(assignee) or "")
            counts[person] = counts.get(person, 0) + 1
    if not counts:
        return ("me", "")
    return max(sorted(counts), key=lambda person: counts[person])


def _facts(ticket: Mapping[str, Any], rng: random.Random, reviewers: list[str]) -> dict[str, Any]:
    column = ticket["column"]
    position = column.position if column else 0
    facts: dict[str, Any] = {"key": ticket["key"], "branch": None, "branch_ahead": None}
    started = position >= BoardColumn.CODE_REVIEW.position or (
        column is BoardColumn.IN_PROGRESS and rng.random() < 0.6
    )
    if started:
        slug = "-".join(ticket["summary"].lower().split()[:4])
        facts["branch"] = f"{ticket['key']}-{''.join(c for c in slug if c.isalnum() or c == '-')}"
        facts["branch_ahead"] = rng.randint(1, 9)
    if column in _AFTER_REVIEW:
        others = [r for r in reviewers if r != ticket["assignee"]] or ["Reviewer"]
        facts["approved_by"] = rng.choice(others)
    facts["approved_by"] = facts.get("approved_by")
    facts["test_site_passed"] = position >= BoardColumn.PO_REVIEW.position
    facts["prod_deploy_passed"] = column is BoardColumn.DONE
    return facts


def ensure_demo_cache(engine: Engine) -> None:
    """Refuse to overwrite a cache that mirrors a real Jira workspace."""
    workspace = get_meta(engine, "workspace")
    if workspace not in (None, "demo") or (workspace is None and ticket_count(engine) > 0):
        raise TriageError(
            "the cache in this data directory mirrors a Jira workspace, not the demo: "
            "set TRIAGE_DATA_DIR to another directory to run the demo"
        )
