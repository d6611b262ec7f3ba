"""Where each advisory's rollout stands: the matches, the rollout (if started) and its sites.

One read for the security screen (and anyone who wants the same picture): every advisory
as `security_report` matches it, joined with its rollout and the rollout's site rows.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from triage.core.security.matching import AFFECTED, PATCHED, AdvisoryMatch, security_report
from triage.storage import rollouts as store
from triage.storage.models import Advisory, Rollout, RolloutSite, RolloutState

ACTIVE = (RolloutState.QUEUED, RolloutState.RUNNING)
"""States of a site whose rollout still has work to do now."""


@dataclass(frozen=True)
class AdvisoryProgress:
    """One advisory: the sites it affects and, once started, its rollout's sites."""

    match: AdvisoryMatch
    rollout: Rollout | None = None
    sites: list[RolloutSite] = field(default_factory=list)

    @property
    def advisory(self) -> Advisory:
        """The advisory itself."""
        return self.match.advisory

    @property
    def affected(self) -> int:
        """How many sites run an affected version (by the last read of their locks)."""
        return self.match.count(AFFECTED)

    @property
    def patched(self) -> int:
        """How many sites have the package at a secure version already."""
        return self.match.count(PATCHED)

    def states(self) -> Counter[RolloutState]:
        """How many of the rollout's sites are in each state."""
        return Counter(row.state for row in self.sites)

    @property
    def total(self) -> int:
        """The rollout's sites that need an update (those already patched left out)."""
        return sum(1 for row in self.sites if row.state is not RolloutState.PATCHED)

    @property
    def finished(self) -> int:
        """Of those, how many need nothing more without a retry (done, failed, skipped…)."""
        return sum(
            1 for row in self.sites if row.state.finished and row.state is not RolloutState.PATCHED
        )

    @property
    def active(self) -> bool:
        """Whether any of its sites is queued or running."""
        return any(row.state in ACTIVE for row in self.sites)


class LiveSites:
    """One rollout's site rows for a screen that reads them every second or so while sites
    run: each read fetches only the rows changed lately, and all of them now and then.

    "Lately" is since the newest change already seen, less `MARGIN`: a change is committed
    within milliseconds of the time it carries, and one that comes later still (a process
    whose clock is behind) shows at the next full read, at most `FULL_EVERY` reads on.
    """

    MARGIN = timedelta(seconds=2)
    FULL_EVERY = 10

    def __init__(self, engine: Engine, advisory_id: str, package: str) -> None:
        self.engine, self.advisory_id, self.package = engine, advisory_id, package
        self._rows: dict[str, store.SiteView] = {}
        self._newest: datetime | None = None
        self._reads = 0
        self._order: list[str] = []
        """The sites in the order they are served, kept between reads."""
        self._lock = threading.Lock()

    def read(self) -> list[store.SiteView]:
        """Every site of the rollout as it is now, in the order they are served."""
        with self._lock:
            if self._newest is None or self._reads % self.FULL_EVERY == 0:
                rows = store.site_views(self.engine, self.advisory_id, self.package)
                self._rows = {row.site: row for row in rows}
                self._order = []
            else:
                since = self._newest - self.MARGIN
                rows = store.site_views(self.engine, self.advisory_id, self.package, since=since)
                if any(row.site not in self._rows for row in rows):
                    self._order = []  # a site new to this rollout: place it
                self._rows.update((row.site, row) for row in rows)
            self._reads += 1
            stamps = [row.updated for row in rows if row.updated is not None]
            if stamps:
                newest = max(stamps)
                self._newest = max(newest, self._newest) if self._newest else newest
            if not self._order:  # a site's place (rank, id) does not change as it runs
                found = sorted(self._rows.values(), key=lambda row: (row.rank, row.site))
                self._order = [row.site for row in found]
            return [self._rows[site] for site in self._order]


def rollout_progress(engine: Engine) -> list[AdvisoryProgress]:
    """Every advisory (most severe first), with its rollout and site rows when started."""
    started = {(r.advisory_id, r.package): r for r in store.rollouts(engine)}
    sites: dict[tuple[str, str], list[RolloutSite]] = defaultdict(list)
    for row in store.site_rows(engine):
        sites[(row.advisory_id, row.package)].append(row)
    found = []
    for entry in security_report(engine):
        key = (entry.advisory.id, entry.advisory.package)
        found.append(AdvisoryProgress(entry, started.get(key), sites.get(key, [])))
    return found
