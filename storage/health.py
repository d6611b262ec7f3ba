"""Site health in the cache: each check's result, where each site stands, and pruning.

Results are history (one row per check); `SiteHealth` is one row per checked environment,
changed by the state machine in `core.health.state` inside the session these functions take.
On PostgreSQL the row is locked while it changes, so two watchers on a shared cache never
lose each other's counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from storage.models import (
    HealthResult,
    Job,
    JobState,
    JobStep,
    SiteHealth,
    Ticket,
    table_of,
)

MAINTENANCE_STEP = "maintenance on"
"""The deploy step after which a site answers 503 on purpose, until the deploy ends."""


def states_for_update(
    session: Session, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], SiteHealth]:
    """The health rows of these (site, env), locked for this transaction; new ones if none yet."""
    wanted = set(pairs)
    sites = sorted({site for site, _ in wanted})
    query = select(SiteHealth).where(col(SiteHealth.site).in_(sites)).with_for_update()
    found = {(h.site, h.env): h for h in session.exec(query) if (h.site, h.env) in wanted}
    for site, env in wanted - set(found):
        found[(site, env)] = SiteHealth(site=site, env=env)
        session.add(found[(site, env)])
    return found


def save_results(session: Session, results: Sequence[HealthResult]) -> None:
    """Keep results, in one statement."""
    if results:
        rows = [r.model_dump(exclude={"id"}) for r in results]
        session.connection().execute(sa.insert(table_of(HealthResult)), rows)


def states(engine: Engine) -> list[SiteHealth]:
    """Every checked environment's health row."""
    with Session(engine) as session:
        return list(session.exec(select(SiteHealth)))


def down_count(engine: Engine) -> int:
    """How many checked environments are down now."""
    with Session(engine) as session:
        query = select(sa.func.count()).select_from(SiteHealth).where(SiteHealth.state == "down")
        return int(session.exec(query).one())


def history(
    engine: Engine, pairs: Iterable[tuple[str, str]], limit: int
) -> dict[tuple[str, str], list[HealthResult]]:
    """The last `limit` results of each (site, env), oldest first."""
    found: dict[tuple[str, str], list[HealthResult]] = {}
    with Session(engine) as session:
        for site, env in pairs:
            query = (
                select(HealthResult)
                .where(HealthResult.site == site, HealthResult.env == env)
                .order_by(col(HealthResult.at).desc(), col(HealthResult.id).desc())
                .limit(limit)
            )
            found[(site, env)] = list(reversed(session.exec(query).all()))
    return found


def prune(engine: Engine, before: datetime, keep_per_site: int) -> int:
    """Delete results older than `before`, and all but the newest `keep_per_site` of each."""
    table = table_of(HealthResult)
    newest = (
        sa.select(
            table.c.id,
            sa.func.row_number()
            .over(partition_by=(table.c.site, table.c.env), order_by=table.c.id.desc())
            .label("rank"),
        )
        .where(table.c.at >= before)
        .subquery()
    )
    beyond = sa.select(newest.c.id).where(newest.c.rank > keep_per_site)
    with engine.begin() as connection:
        removed = connection.execute(sa.delete(table).where(table.c.at < before)).rowcount
        removed += connection.execute(sa.delete(table).where(table.c.id.in_(beyond))).rowcount
    return int(removed)


def in_maintenance(engine: Engine) -> dict[tuple[str, str], int]:
    """(site, env) → deploy job id, for every running deploy that switched maintenance on."""
    with Session(engine) as session:
        query = (
            select(Job.site, Job.env, Job.id)
            .join(JobStep, col(JobStep.job_id) == col(Job.id))
            .where(
                Job.kind == "deploy",
                Job.state == JobState.RUNNING,
                col(Job.dry_run).is_(False),
                JobStep.name == MAINTENANCE_STEP,
            )
        )
        return {
            (str(site), str(env)): int(job_id or 0) for site, env, job_id in session.exec(query)
        }


def last_deploy(engine: Engine, site: str) -> Job | None:
    """The latest real deploy of a site, to any environment."""
    with Session(engine) as session:
        query = (
            select(Job)
            .where(Job.kind == "deploy", Job.site == site, col(Job.dry_run).is_(False))
            .order_by(col(Job.created).desc(), col(Job.id).desc())
            .limit(1)
        )
        return session.exec(query).first()


def open_incident(
    engine: Engine, site: str, issue_type: str, label: str, closed: Sequence[str]
) -> Ticket | None:
    """The newest ticket of `issue_type` for `site` (by field or label) not in a closed column."""
    with Session(engine) as session:
        query = (
            select(Ticket)
            .where(Ticket.issue_type == issue_type)
            .where(sa.or_(col(Ticket.column).is_(None), col(Ticket.column).not_in(closed)))
            .order_by(col(Ticket.created).desc())
        )
        for ticket in session.exec(query):
            if ticket.site == site or label in (ticket.labels or []):
                return ticket
    return None
