"""Starting the rollout of an advisory: its parent ticket, a ticket per affected site, the order.

`start_rollout` matches the advisory against what each site runs (core.security.matching)
and records, in one transaction, the rollout, its sites and the creation of their tickets
through the outbox. Each ticket carries a label that names its advisory and site, so the
push (a replay too) finds an issue it already made instead of making a second; starting the
same rollout again adds only sites that became affected since.

Sites are served by advisory risk, then by their client's support package (the order in
`security.rollout.package_order`), then by id.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from triage.core.board.service import Board
from triage.core.config import RolloutSettings
from triage.core.errors import ConfigError, NotFound
from triage.core.security.matching import AFFECTED, PATCHED, AdvisoryMatch, security_report
from triage.core.sites.inventory import Inventory, Site
from triage.core.tracker.mapping import PRIORITY_RANK, site_label
from triage.storage import outbox
from triage.storage import rollouts as store
from triage.storage.errors import TriageError
from triage.storage.models import Advisory, Rollout, RolloutSite, RolloutState

SECURITY_LABEL = "security-update"
SEVERITY_RANK = {"critical": 0, "high": 1, "moderate": 2, "medium": 2, "low": 3}
PRIORITY_OF = {"critical": "Highest", "high": "High", "moderate": "Medium", "medium": "Medium",
               "low": "Low"}  # fmt: skip
_PACKAGE_SLOT = 10_000
"""Ranks of one support package lie within this many of each other."""


@dataclass(frozen=True)
class Started:
    """A rollout as it stands after `start_rollout`: new sites added, if any."""

    rollout: Rollout
    sites: list[RolloutSite]
    added: int


def severity_rank(severity: str) -> int:
    """0 for critical, 4 for unknown: lower goes first."""
    return SEVERITY_RANK.get(severity.casefold(), 4)


def dedupe_label(advisory_id: str, package: str, site: str = "") -> str:
    """The Jira label naming one advisory's ticket for one site (or its parent, for none)."""
    slug = re.sub(r"[^a-z0-9]+", "-", f"{advisory_id} {site or 'fleet'}".lower()).strip("-")
    digest = hashlib.sha1(f"{advisory_id}\0{package}\0{site}".encode()).hexdigest()[:8]
    return f"triage-sa-{slug[:60]}-{digest}"


def branch_for(key: str, advisory_id: str) -> str:
    """The update branch of a site's ticket: `<KEY>-<advisory>`."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", advisory_id).strip("-.") or "advisory"
    return f"{key}-{safe}"


def engine_of(site: Site) -> str:
    """The Docker engine the site's update runs on (its dev and test environments)."""
    for name in ("dev", "test"):
        if name in site.envs:
            return site.envs[name].docker_host or "local"
    return site.envs["prod"].docker_host or "local"


def package_rank(settings: RolloutSettings, package: str) -> int:
    """Where a support package is served: its place in package_order, others after."""
    order = [name.casefold() for name in settings.package_order]
    return order.index(package.casefold()) if package.casefold() in order else len(order)


def find_advisory(board: Board, advisory_id: str, package: str | None) -> list[AdvisoryMatch]:
    """The matches of one advisory id (one per package, or the one package asked for)."""
    wanted = advisory_id.strip().casefold()
    found = [
        entry
        for entry in security_report(board.engine)
        if entry.advisory.id.casefold() == wanted
        and (package is None or entry.advisory.package == package.strip().lower())
    ]
    if not found:
        what = f"{advisory_id} for {package}" if package else advisory_id
        raise NotFound(
            f"no advisory {what} is known: check `triage security`, or add it with "
            "`triage advisories add`"
        )
    return found


def start_rollout(
    board: Board,
    inventory: Inventory,
    settings: RolloutSettings,
    advisory_id: str,
    package: str | None = None,
) -> list[Started]:
    """Start (or extend) the rollout of an advisory: tickets queued, sites in order."""
    started = []
    for entry in find_advisory(board, advisory_id, package):
        started.append(_start_one(board, inventory, settings, entry))
    return started


def _start_one(
    board: Board, inventory: Inventory, settings: RolloutSettings, entry: AdvisoryMatch
) -> Started:
    advisory = entry.advisory
    if advisory.kind == "psa" or not advisory.affected:
        raise TriageError(
            f"{advisory.id} is an early warning without affected versions: roll out the "
            "advisory once it is published, or add it by hand with `triage advisories add`"
        )
    project = settings.project or next(iter(board.settings.jira.projects), "")
    if not project:
        raise ConfigError(
            "no Jira project for security updates: set security.rollout.project or jira.projects"
        )
    now = board.clock()
    me = board.me
    priority = PRIORITY_OF.get(advisory.severity.casefold(), "High")

    def issue(summary: str, description: str, labels: list[str], dedupe: str,
              site: Site | None) -> store.IssueRows:  # fmt: skip
        return outbox.new_issue(
            project=project, issue_type=settings.issue_type, summary=summary,
            description=description, priority=priority,
            severity_rank=PRIORITY_RANK.get(priority.casefold(), 2),
            labels=[SECURITY_LABEL, *labels], assignee=None, actor=me.name,
            author_id=me.author_id, site=site.id if site else None,
            client=site.client if site else None, at=now, dedupe=dedupe,
        )  # fmt: skip

    rows: list[tuple[RolloutSite, store.IssueRows | None]] = []
    affected: list[str] = []
    for position, match in enumerate(entry.sites):
        site = inventory.sites.get(match.site)
        if site is None or match.state not in (AFFECTED, PATCHED):
            continue
        stage = settings.stage(site.package)
        row = RolloutSite(
            advisory_id=advisory.id, package=advisory.package, site=site.id,
            state=RolloutState.PATCHED if match.state == PATCHED else RolloutState.QUEUED,
            rank=package_rank(settings, site.package) * _PACKAGE_SLOT + position,
            engine=engine_of(site), stage=stage.to, version=match.version, updated=now,
        )  # fmt: skip
        if match.state == PATCHED:
            rows.append((row, None))
            continue
        affected.append(f"{site.id} ({match.version})")
        summary = f"{advisory.id}: update {advisory.package} on {site.name}"
        rows.append(
            (
                row,
                issue(
                    summary,
                    _site_description(advisory, site, match.version, stage.to),
                    [site_label(site.id)],
                    dedupe_label(advisory.id, advisory.package, site.id),
                    site,
                ),
            )  # fmt: skip
        )
    parent = issue(
        f"{advisory.id}: {advisory.package} security update across the fleet",
        _parent_description(advisory, affected),
        [],
        dedupe_label(advisory.id, advisory.package),
        None,
    )
    before = {row.site for row in store.site_rows(board.engine, advisory.id, advisory.package)}
    rollout = Rollout(advisory_id=advisory.id, package=advisory.package,
                      severity=advisory.severity, started=now, actor=me.name)  # fmt: skip
    saved, sites = store.start(board.engine, rollout, parent, rows)
    return Started(saved, sites, len({row.site for row in sites} - before))


def _parent_description(advisory: Advisory, affected: list[str]) -> str:
    lines = [
        f"Security advisory {advisory.id} ({advisory.severity or 'severity not given'}) for "
        f"{advisory.package}: versions {advisory.affected} are affected.",
    ]
    if advisory.title:
        lines.append(advisory.title)
    if advisory.link:
        lines.append(advisory.link)
    lines.append("")
    lines.append(f"Triage updates {len(affected)} affected sites, one ticket each:")
    lines.extend(f"- {site}" for site in affected)
    return "\n".join(lines)


def _site_description(advisory: Advisory, site: Site, version: str, stage: str) -> str:
    how_far = (
        "then production once the client's agreed window has passed"
        if stage == "prod"
        else "then it waits for the client's go-ahead for production"
    )
    return "\n".join(
        [
            f"{site.name} ({site.id}, {site.client}) runs {advisory.package} {version}, "
            f"affected by {advisory.id} ({advisory.affected}).",
            f"Triage updates it on a branch, checks it with composer audit, deploys it to the "
            f"test site with the site's tests, {how_far}.",
            *([advisory.link] if advisory.link else []),
        ]
    )


def due_for_prod(row: RolloutSite, now: datetime) -> bool:
    """Whether a site waiting for its window may go to production now."""
    return row.state is RolloutState.WAITING and (row.prod_after is None or row.prod_after <= now)


def report_to_parent(board: Board, advisory_id: str, package: str) -> bool:
    """Once every site of a rollout has finished, say how each ended on the parent ticket.

    Written once (the same text is not commented twice); whether it commented now.
    """
    if store.unfinished(board.engine, advisory_id, package):
        return False  # the common case, as each site ends: one COUNT
    rollout = store.rollout(board.engine, advisory_id, package)
    sites = store.site_rows(board.engine, advisory_id, package)
    if rollout is None or not rollout.ticket_key or not sites:
        return False
    if not all(row.state.finished for row in sites):
        return False
    lines = [f"The rollout of {advisory_id} ({package}) has finished:"]
    for row in sites:
        versions = f"{row.version} → {row.new_version}" if row.new_version else row.version
        ticket = f" ({row.ticket_key})" if row.ticket_key else ""
        why = f": {row.reason}" if row.reason else ""
        lines.append(f"- {row.site}{ticket}: {row.state.value}, {versions}{why}")
    body = "\n".join(lines)
    with board.changes(rollout.ticket_key) as change:
        if change.has_comment(body):
            return False
        change.comment(body)
    return True
