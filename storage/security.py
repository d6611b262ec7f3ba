"""Security data in the cache: what each site's composer.lock pins, and the advisories known.

A refresh replaces a site's packages at a ref in one transaction; a failed read keeps the
packages last read and records why (the lock row's `error`). Advisories are upserted by
(id, package); each feed's last poll time is a `meta` value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from triage.storage.models import Advisory, SiteLock, SitePackage, table_of
from triage.storage.queries import get_meta, set_meta

_POLLED = "security.polled."


def save_lock(session: Session, lock: SiteLock, packages: Sequence[SitePackage] | None) -> None:
    """Record one read of a lock: its packages replace the last ones; None keeps them."""
    found = session.get(SiteLock, (lock.site, lock.ref))
    if found is None:
        session.add(lock)
    else:
        found.role, found.read_at, found.error = lock.role, lock.read_at, lock.error
        if packages is not None:
            found.commit = lock.commit
    if packages is None:
        return
    table = table_of(SitePackage)
    session.connection().execute(
        sa.delete(table).where(table.c.site == lock.site, table.c.ref == lock.ref)
    )
    if packages:
        rows = [package.model_dump() for package in packages]
        session.connection().execute(sa.insert(table), rows)


def forget_other_refs(session: Session, site: str, refs: Sequence[str]) -> None:
    """Drop a site's locks and packages at refs it no longer reads (prod back on main)."""
    for model in (SiteLock, SitePackage):
        table = table_of(model)
        session.connection().execute(
            sa.delete(table).where(table.c.site == site, table.c.ref.not_in(list(refs)))
        )


def locks(engine: Engine) -> list[SiteLock]:
    """Every site's lock rows, by site and ref."""
    with Session(engine) as session:
        query = select(SiteLock).order_by(col(SiteLock.site), col(SiteLock.ref))
        return list(session.exec(query))


def packages(engine: Engine, names: Sequence[str] | None = None) -> list[SitePackage]:
    """The packages the sites pin, all or of these names, by name, site and ref."""
    with Session(engine) as session:
        query = select(SitePackage)
        if names is not None:
            query = query.where(col(SitePackage.name).in_(list(names)))
        query = query.order_by(col(SitePackage.name), col(SitePackage.site), col(SitePackage.ref))
        return list(session.exec(query))


def save_advisories(engine: Engine, advisories: Sequence[Advisory]) -> int:
    """Insert or update advisories by (id, package); how many were new."""
    new = 0
    with Session(engine, expire_on_commit=False) as session:
        for advisory in advisories:
            found = session.get(Advisory, (advisory.id, advisory.package))
            if found is None:
                new += 1
                session.add(advisory)
            else:
                for name, value in advisory.model_dump(exclude={"id", "package"}).items():
                    setattr(found, name, value)
        session.commit()
    return new


def advisories(engine: Engine) -> list[Advisory]:
    """Every advisory known, newest report first."""
    with Session(engine) as session:
        query = select(Advisory).order_by(
            col(Advisory.reported_at).desc().nulls_last(), col(Advisory.id), col(Advisory.package)
        )
        return list(session.exec(query))


def polled(engine: Engine, feed: str) -> datetime | None:
    """When a feed was last polled successfully, or None."""
    value = get_meta(engine, _POLLED + feed)
    return datetime.fromisoformat(value) if value else None


def set_polled(engine: Engine, feed: str, at: datetime) -> None:
    """Remember a successful poll of a feed."""
    with engine.begin() as connection:
        set_meta(connection, _POLLED + feed, at.isoformat())
