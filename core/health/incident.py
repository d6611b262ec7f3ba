"""An incident in one key: a Jira ticket for a failing site, through the outbox, exactly once.

The ticket says which site, client and package, the failing check with its last results,
and the last deploy from the job log; it has the highest priority, the site's label, and is
assigned to me. When the site already has an open incident, a comment with the latest
results goes on it instead. Both are durable on return and reach Jira with the next push.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from triage.core.board.service import Board
from triage.core.errors import ConfigError, NotFound
from triage.core.health.report import SiteRow
from triage.core.sites.inventory import Inventory
from triage.core.tracker.mapping import PRIORITY_RANK, site_label
from triage.storage import health as store
from triage.storage import outbox
from triage.storage.columns import BoardColumn
from triage.storage.models import HealthResult, Job

INCIDENT_LABEL = "incident"
RESULTS_SHOWN = 5


@dataclass(frozen=True)
class Incident:
    """What the key did: the ticket, and whether it is new or got a comment."""

    key: str
    created: bool
    summary: str


def _when(moment: datetime, now: datetime) -> str:
    if moment.date() == now.date():
        return moment.strftime("%H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _what(row: SiteRow) -> str:
    h = row.health
    if h.check == "http" and h.status is not None:
        return f"HTTP {h.status}"
    return h.reason.split(";")[0].strip() or h.check or "failing"


def summary(row: SiteRow, package: str, client: str, now: datetime) -> str:
    """`[Gold] Acme: www.acme.example down, HTTP 503 since 14:02 UTC`."""
    host = urlsplit(row.health.url).hostname or row.health.url
    tag = f"[{package}] " if package else ""
    return f"{tag}{client}: {host} {row.state}, {_what(row)} since {_when(row.health.since, now)}"


def _result_line(result: HealthResult) -> str:
    status = f"HTTP {result.status}" if result.status is not None else "no answer"
    ms = f"{result.ms} ms" if result.ms is not None else "-"
    tail = f"  {result.reason}" if result.reason else ""
    return f"  {result.at:%Y-%m-%d %H:%M:%S}  {result.level:<8} {status:<9} {ms:>8}{tail}"


def _deploy_line(job: Job | None) -> str:
    if job is None:
        return "Last deploy: none recorded by Triage."
    when = job.finished or job.started or job.created
    ticket = f" for {job.ticket_key}" if job.ticket_key else ""
    return (
        f"Last deploy: job #{job.id}, {job.ref or '?'} to {job.env}{ticket}, {job.state.value} "
        f"at {when:%Y-%m-%d %H:%M UTC}, by {job.actor or 'someone'}."
    )


def results_text(row: SiteRow) -> str:
    """The failing check and the last results, one per line, newest last."""
    h = row.health
    lines = [f"Failing check: {h.check or '-'}: {h.reason or row.state}", "Last results:"]
    lines += [_result_line(r) for r in row.recent[-RESULTS_SHOWN:]] or ["  (none kept)"]
    return "\n".join(lines)


def description(row: SiteRow, name: str, client: str, package: str, deploy: Job | None) -> str:
    """The incident ticket's description."""
    h = row.health
    head = [
        f"Site: {name} ({h.site}), environment {h.env}: {h.url}",
        f"Client: {client}, support package {package or '-'}",
        f"State: {row.state} since {h.since:%Y-%m-%d %H:%M UTC} ({h.fails} failures in a row)",
    ]
    tail = [_deploy_line(deploy), "Opened from Triage's health screen."]
    return "\n\n".join(["\n".join(head), results_text(row), "\n".join(tail)])


def open_incident(board: Board, inventory: Inventory, row: SiteRow) -> Incident:
    """Queue an incident ticket for a failing site, or a comment on its open incident."""
    if not row.failing:
        raise NotFound(f"{row.health.site} is {row.state}: an incident is for a failing site")
    settings = board.settings.health
    site = inventory.site(row.health.site)
    now = board.clock()
    title = summary(row, site.package, site.client, now)
    label = site_label(site.id)
    closed = [BoardColumn.DONE]
    existing = store.open_incident(board.engine, site.id, settings.incident_type, label, closed)
    if existing is not None:
        note = f"Still {row.state} at {_when(now, now)}: {title}\n\n{results_text(row)}"
        board.comment(existing.key, note)
        return Incident(existing.key, created=False, summary=existing.summary)
    projects = board.settings.jira.projects
    project = settings.incident_project or (projects[0] if projects else "")
    if not project:
        raise ConfigError(
            "no Jira project for incidents: set health.incident_project or jira.projects"
        )
    me = board.me
    ticket = outbox.record_create_issue(
        board.engine,
        project=project,
        issue_type=settings.incident_type,
        summary=title,
        description=description(
            row, site.name, site.client, site.package, store.last_deploy(board.engine, site.id)
        ),
        priority=settings.incident_priority,
        severity_rank=PRIORITY_RANK.get(settings.incident_priority.casefold(), 1),
        labels=[INCIDENT_LABEL, label],
        assignee=(me.name, me.account_id),
        actor=me.name,
        author_id=me.author_id,
        site=site.id,
        client=site.client,
        at=now,
    )
    return Incident(ticket.key, created=True, summary=title)
