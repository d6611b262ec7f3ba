"""Which site runs an affected version of which advisory.

Per advisory and site: `affected` when a version the site's lock pins (on main, or what
prod runs) satisfies the advisory's constraint; `patched` when the site has the package and
no pinned version does; `unknown` when no lock of the site could be read yet, or the
advisory is a PSA (a warning without versions). Sites without the package are not listed.
Once an advisory's rollout started, a site in it can show its rollout state instead.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.engine import Engine

from triage.core.security.constraints import Constraint, parse
from triage.core.security.versions import VersionError, normalize
from triage.storage import rollouts
from triage.storage import security as rows
from triage.storage.models import Advisory, RolloutSite, SiteLock, SitePackage

AFFECTED, PATCHED, UNKNOWN = "affected", "patched", "unknown"
_SEVERITY_ORDER = {"critical": 0, "high": 1, "moderate": 2, "medium": 2, "low": 3}
_STATE_ORDER = {AFFECTED: 0, UNKNOWN: 1, PATCHED: 2}


@dataclass(frozen=True)
class SiteMatch:
    """One site's standing against one advisory."""

    site: str
    package: str
    version: str
    state: str
    ref: str = ""
    ticket: str = ""
    """The site's ticket in the advisory's rollout, once it started."""

    def as_json(self) -> dict[str, str]:
        """The JSON object `triage security --json` prints for a site."""
        return {"site": self.site, "package": self.package, "version": self.version,
                "state": self.state, "ref": self.ref, "ticket": self.ticket}  # fmt: skip


@dataclass
class AdvisoryMatch:
    """One advisory and the sites it concerns, affected first."""

    advisory: Advisory
    sites: list[SiteMatch] = field(default_factory=list)

    def count(self, state: str) -> int:
        """How many sites are in this state."""
        return sum(1 for site in self.sites if site.state == state)

    def counts(self) -> list[tuple[str, int]]:
        """Each state its sites are in, with how many, in the order the sites are listed."""
        states = list(dict.fromkeys(site.state for site in self.sites))
        return [(state, self.count(state)) for state in states]

    def as_json(self) -> dict[str, Any]:
        """The JSON object `triage security --json` prints for an advisory."""
        a = self.advisory
        return {
            "id": a.id, "package": a.package, "severity": a.severity, "kind": a.kind,
            "title": a.title, "link": a.link, "cve": a.cve, "affected": a.affected,
            "source": a.source,
            "reported_at": a.reported_at.isoformat() if a.reported_at else None,
            "sites": [site.as_json() for site in self.sites],
        }  # fmt: skip


def _is_affected(constraint: Constraint | None, version: str) -> bool | None:
    if constraint is None:
        return None
    try:
        return constraint.matches(normalize(version))
    except VersionError:
        return None


def match(
    advisories: list[Advisory], locks: list[SiteLock], packages: list[SitePackage]
) -> list[AdvisoryMatch]:
    """Every advisory with the sites it concerns; the most severe, most affecting first."""
    pinned: dict[tuple[str, str], list[SitePackage]] = defaultdict(list)
    for package in packages:
        pinned[(package.name, package.site)].append(package)
    main_first = {(lock.site, lock.ref): lock.role != "main" for lock in locks}
    for pins in pinned.values():
        pins.sort(key=lambda pin: (main_first.get((pin.site, pin.ref), True), pin.ref))
    sites = sorted({lock.site for lock in locks})
    unread = set(sites) - {lock.site for lock in locks if lock.commit}
    found: list[AdvisoryMatch] = []
    for advisory in advisories:
        try:
            constraint = parse(advisory.affected) if advisory.affected else None
        except VersionError:
            constraint = None
        entry = AdvisoryMatch(advisory)
        for site in sites:
            if site in unread:
                entry.sites.append(SiteMatch(site, advisory.package, "", UNKNOWN))
                continue
            entry.sites.extend(_site(advisory, constraint, pinned.get((advisory.package, site))))
        entry.sites.sort(key=lambda s: (_STATE_ORDER[s.state], s.site, s.ref))
        found.append(entry)
    found.sort(
        key=lambda m: (
            _SEVERITY_ORDER.get(m.advisory.severity, 4),
            -m.count(AFFECTED),
            m.advisory.id,
            m.advisory.package,
        )
    )
    return found


def _site(
    advisory: Advisory, constraint: Constraint | None, pins: list[SitePackage] | None
) -> list[SiteMatch]:
    """The site's one line for an advisory: the worst of its refs."""
    if not pins:
        return []
    results = [(_is_affected(constraint, pin.version), pin) for pin in pins]
    for verdict, state in ((True, AFFECTED), (None, UNKNOWN), (False, PATCHED)):
        for result, pin in results:
            if result is verdict:
                return [SiteMatch(pin.site, advisory.package, pin.version, state, pin.ref)]
    return []


def security_report(engine: Engine, *, with_rollouts: bool = False) -> list[AdvisoryMatch]:
    """Every known advisory matched against what the sites run, from the cache.

    `with_rollouts`: a site in an advisory's rollout shows its state there (queued, tested,
    failed, …) and its ticket instead of affected.
    """
    advisories = rows.advisories(engine)
    names = sorted({advisory.package for advisory in advisories})
    found = match(advisories, rows.locks(engine), rows.packages(engine, names))
    if with_rollouts:
        rolled = {(r.advisory_id, r.package, r.site): r for r in rollouts.site_rows(engine)}
        for entry in found:
            a = entry.advisory
            entry.sites = [
                _in_rollout(site, rolled.get((a.id, a.package, site.site))) for site in entry.sites
            ]
    return found


def _in_rollout(site: SiteMatch, row: RolloutSite | None) -> SiteMatch:
    if row is None:
        return site
    return replace(site, state=row.state.value, ticket=row.ticket_key or "")
