"""Drupal's own status, asked in the environment's web container through the Docker adapter.

`drush core:requirements --format=json` lists the status report's requirements; each one
of severity Error is a critical finding. `drush state:get system.cron_last` says when cron
last ran: older than a day is a warning, older than three days critical. What the site says
is data: control characters are stripped before it is kept or shown.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import docker.errors
import requests

from triage.core.health.checks import Finding
from triage.core.health.state import CRITICAL, WARN
from triage.core.jobs.reporting import ListReporter
from triage.core.sites.containers import exec_in
from triage.core.sites.environments import Engines
from triage.core.sites.inventory import Site
from triage.storage.errors import TriageError

CRON_WARN = timedelta(days=1)
CRON_CRITICAL = timedelta(days=3)
_UNAVAILABLE = (TriageError, OSError, docker.errors.DockerException, requests.RequestException)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain(text: object, limit: int = 300) -> str:
    """Outside text made safe to keep and print: no control characters, one line, bounded."""
    return _CONTROL.sub("", " ".join(str(text).split()))[:limit]


def requirement_errors(report: Any) -> list[str]:
    """The titles (and values) of the requirements Drupal reports as errors."""
    items = (
        report.values() if isinstance(report, dict) else report if isinstance(report, list) else []
    )
    errors: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        severity = str(item.get("severity", "")).casefold()
        if severity == "error" or str(item.get("sid", "")) == "2":
            title = plain(item.get("title") or "requirement", 80)
            value = plain(item.get("value") or "", 120)
            errors.append(f"{title}: {value}" if value else title)
    return errors


def cron_finding(last_run: datetime | None, now: datetime) -> Finding | None:
    """A finding when cron has not run for too long (or never)."""
    if last_run is None:
        return Finding(CRITICAL, "cron", "cron has never run")
    age = now - last_run
    if age <= CRON_WARN:
        return None
    level = CRITICAL if age > CRON_CRITICAL else WARN
    hours = int(age.total_seconds() // 3600)
    when = f"{hours // 24} days" if hours >= 48 else f"{hours} hours"
    return Finding(level, "cron", f"cron last ran {when} ago")


def drupal_findings(engines: Engines, site: Site, env: str, now: datetime) -> list[Finding]:
    """Ask Drupal in the web container; a warning when it cannot be asked."""
    web_name = site.env(env).web_container
    reporter = ListReporter()
    try:
        web = engines.client(site, env).containers.get(web_name)
        raw = exec_in(web, ["drush", "core:requirements", "--format=json"], reporter, echo=False)
        stamp = exec_in(web, ["drush", "state:get", "system.cron_last"], reporter, echo=False)
    except _UNAVAILABLE as error:
        return [Finding(WARN, "drupal", f"Drupal status unavailable ({plain(error, 160)})")]
    findings: list[Finding] = []
    try:
        errors = requirement_errors(json.loads(raw or "{}"))
    except ValueError:
        errors = []
        findings.append(Finding(WARN, "drupal", "drush core:requirements did not answer JSON"))
    if errors:
        findings.append(Finding(CRITICAL, "drupal", "Drupal: " + "; ".join(errors)[:400]))
    try:
        last: datetime | None = datetime.fromtimestamp(int(stamp.strip()), UTC)
    except ValueError:
        last = None
    cron = cron_finding(last, now)
    if cron is not None:
        findings.append(cron)
    return findings
