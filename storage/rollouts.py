"""The rollouts of security advisories: one row per advisory, one per site, and their tickets.

Starting a rollout writes the rollout, its sites and the creation of their tickets (outbox)
in one transaction, so a crash leaves all of it or none; starting it again adds only the
sites it did not have. A site is claimed for a run by one conditional UPDATE (queued →
running), so two processes never run the same site; its last finished step is written as
it finishes, which is where a resume continues.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from triage.storage.db import session_scope
from triage.storage.models import (
    AuditEntry,
    OutboxEntry,
    Rollout,
    RolloutSite,
    RolloutState,
    Ticket,
    table_of,
    utcnow,
)
from triage.storage.prepared import Prepared

SITE = table_of(RolloutSite)
IssueRows = tuple[Ticket, OutboxEntry, AuditEntry]
SiteId = tuple[str, str, str]
"""(advisory id, package, site)."""


def start(
    engine: Engine,
    rollout: Rollout,
    parent: IssueRows | None,
    sites: Sequence[tuple[RolloutSite, IssueRows | None]],
) -> tuple[Rollout, list[RolloutSite]]:
    """Record the rollout and those of its sites it does not have yet, with their tickets.

    `parent` is used only when the rollout is new. What was there is kept as it is.
    """
    with session_scope(engine) as session:
        found = session.get(Rollout, (rollout.advisory_id, rollout.package))
        if found is None:
            if parent is not None:
                rollout.ticket_key = parent[0].key
                session.add_all(parent)
            session.add(rollout)
            found = rollout
        known = {
            row.site
            for row in session.exec(
                select(RolloutSite).where(
                    RolloutSite.advisory_id == rollout.advisory_id,
                    RolloutSite.package == rollout.package,
                )
            )
        }
        for row, issue in sites:
            if row.site in known:
                continue
            if issue is not None:
                row.ticket_key = issue[0].key
                session.add_all(issue)
            session.add(row)
        session.flush()
        session.expunge_all()
    return found, site_rows(engine, rollout.advisory_id, rollout.package)


def rollouts(engine: Engine) -> list[Rollout]:
    """Every rollout, newest first."""
    with Session(engine) as session:
        query = select(Rollout).order_by(col(Rollout.started).desc(), col(Rollout.advisory_id))
        return list(session.exec(query))


def rollout(engine: Engine, advisory_id: str, package: str) -> Rollout | None:
    """One rollout, or None."""
    with Session(engine) as session:
        return session.get(Rollout, (advisory_id, package))


def site_rows(
    engine: Engine,
    advisory_id: str | None = None,
    package: str | None = None,
    *,
    since: datetime | None = None,
) -> list[RolloutSite]:
    """The sites of one rollout (or of all), in the order they are served; with `since`,
    only those changed at or after it."""
    with Session(engine) as session:
        query = select(RolloutSite)
        if advisory_id is not None:
            query = query.where(RolloutSite.advisory_id == advisory_id)
        if package is not None:
            query = query.where(RolloutSite.package == package)
        if since is not None:
            query = query.where(RolloutSite.updated >= since)
        query = query.order_by(
            col(RolloutSite.advisory_id), col(RolloutSite.rank), col(RolloutSite.site)
        )
        return list(session.exec(query))


@dataclass(frozen=True, slots=True)
class SiteView:
    """A rollout site's row as a screen shows it: plain values, read without the ORM (a
    screen reads the rows every second while sites run)."""

    advisory_id: str
    package: str
    site: str
    state: RolloutState
    ticket_key: str | None = None
    rank: int = 0
    engine: str = ""
    stage: str = "test"
    version: str = ""
    new_version: str = ""
    branch: str = ""
    step: str = ""
    job_id: int | None = None
    attempts: int = 0
    reason: str = ""
    prod_after: datetime | None = None
    updated: datetime | None = None


_VIEW = (
    sa.select(*(SITE.c[field.name] for field in fields(SiteView)))
    .where(SITE.c.advisory_id == sa.bindparam("b_advisory"),
           SITE.c.package == sa.bindparam("b_package"))
    .order_by(SITE.c.rank, SITE.c.site)
)  # fmt: skip
_VIEW_SINCE = _VIEW.where(SITE.c.updated >= sa.bindparam("b_since"))


def site_views(
    engine: Engine, advisory_id: str, package: str, *, since: datetime | None = None
) -> list[SiteView]:
    """The sites of one rollout as `site_rows` reads them, as plain values (`SiteView`)."""
    params: dict[str, object] = {"b_advisory": advisory_id, "b_package": package}
    if since is not None:
        params["b_since"] = since
    with engine.connect() as connection:
        found = connection.execute(_VIEW if since is None else _VIEW_SINCE, params)
        return [SiteView(*row) for row in found]


_UNFINISHED = sa.select(sa.func.count()).where(
    SITE.c.advisory_id == sa.bindparam("b_advisory"),
    SITE.c.package == sa.bindparam("b_package"),
    SITE.c.state.in_([RolloutState.QUEUED.value, RolloutState.RUNNING.value,
                      RolloutState.WAITING.value]),
)  # fmt: skip


def unfinished(engine: Engine, advisory_id: str, package: str) -> int:
    """How many sites of a rollout are still queued, running or waiting (one COUNT)."""
    with engine.connect() as connection:
        params = {"b_advisory": advisory_id, "b_package": package}
        return int(connection.execute(_UNFINISHED, params).scalar_one())


def site_row(engine: Engine, ident: SiteId) -> RolloutSite | None:
    """One site of a rollout, or None."""
    with Session(engine) as session:
        return session.get(RolloutSite, ident)


def _where(ident: SiteId) -> sa.ColumnElement[bool]:
    advisory_id, package, site = ident
    return sa.and_(SITE.c.advisory_id == advisory_id, SITE.c.package == package,
                   SITE.c.site == site)  # fmt: skip


_CLAIM = (
    sa.update(SITE)
    .where(
        SITE.c.advisory_id == sa.bindparam("k_advisory_id"),
        SITE.c.package == sa.bindparam("k_package"),
        SITE.c.site == sa.bindparam("k_site"),
        SITE.c.state.in_([RolloutState.QUEUED.value, RolloutState.WAITING.value]),
    )
    .values(
        state=RolloutState.RUNNING.value,
        job_id=sa.bindparam("v_job_id"),
        attempts=SITE.c.attempts + 1,
        updated=sa.bindparam("v_updated"),
    )
    .returning(*SITE.c)
)


class SiteClaim:
    """The claim of a site for a job (`storage.jobs.add_claimed` calls it in the transaction
    that records the job): queued (or due waiting) → running by that job, in one conditional
    UPDATE. `row` is then the site as the claim left it (None if it was not free)."""

    def __init__(self, ident: SiteId, now: datetime) -> None:
        self.ident, self.now = ident, now
        self.row: RolloutSite | None = None

    def __call__(self, connection: sa.Connection, job_id: int) -> bool:
        params = {"k_advisory_id": self.ident[0], "k_package": self.ident[1],
                  "k_site": self.ident[2], "v_job_id": job_id, "v_updated": self.now}  # fmt: skip
        found = connection.execute(_CLAIM, params).first()
        self.row = RolloutSite(**found._mapping) if found is not None else None
        return self.row is not None


@functools.cache
def _update_of(names: tuple[str, ...]) -> Prepared:
    """The UPDATE of these fields of one site, built once (a run writes the same few sets at
    every step of every site: it runs on the driver's cursor)."""
    key = [SITE.c[name] == sa.bindparam(f"k_{name}") for name in ("advisory_id", "package", "site")]
    values: dict[str, Any] = {name: sa.bindparam(f"v_{name}") for name in names}
    return Prepared(sa.update(SITE).where(*key).values(values))


def update(engine: Engine, ident: SiteId, now: datetime | None = None, **values: object) -> None:
    """Write some of a site's fields (its step, state, reason, …)."""
    statement, params = update_of(ident, now, **values)
    with engine.begin() as connection:
        statement.run(connection, [params])


def update_of(
    ident: SiteId, now: datetime | None = None, **values: object
) -> tuple[Prepared, dict[str, object]]:
    """The UPDATE that `update` runs, and its parameters (for a job to write with its records)."""
    values["updated"] = now or utcnow()
    params = {
        f"v_{name}": value.value if isinstance(value, RolloutState) else value
        for name, value in values.items()
    }
    params.update(k_advisory_id=ident[0], k_package=ident[1], k_site=ident[2])
    return _update_of(tuple(sorted(values))), params


def requeue(
    engine: Engine,
    ident: SiteId,
    from_states: Sequence[RolloutState],
    now: datetime,
    *,
    reason: str = "",
    from_step: str | None = None,
) -> bool:
    """Put a site back in the queue (a retry, or a run whose process died); False if not."""
    values: dict[str, object] = {"state": RolloutState.QUEUED.value, "reason": reason,
                                 "updated": now}  # fmt: skip
    if from_step is not None:
        values["step"] = from_step
    with engine.begin() as connection:
        done = connection.execute(
            sa.update(SITE)
            .where(_where(ident), SITE.c.state.in_([s.value for s in from_states]))
            .values(**values)
        )
        return done.rowcount == 1


def skip(engine: Engine, ident: SiteId, reason: str, actor: str, now: datetime) -> bool:
    """Take a site out of the rollout with a reason, audited; False if it is running or gone."""
    with session_scope(engine) as session:
        connection = session.connection()
        done = connection.execute(
            sa.update(SITE)
            .where(_where(ident), SITE.c.state != RolloutState.RUNNING.value)
            .values(state=RolloutState.SKIPPED.value, reason=reason, updated=now)
        )
        if done.rowcount != 1:
            return False
        row = session.get(RolloutSite, ident)
        session.add(
            AuditEntry(
                at=now,
                actor=actor,
                action="rollout-skip",
                ticket_key=row.ticket_key if row else None,
                site=ident[2],
                detail=f"{ident[0]} {ident[1]}: {reason}",
            )
        )
    return True
