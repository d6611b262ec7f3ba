"""The checks of one environment: HTTP status and text, response time, TLS certificate days.

The HTTP checks are the environment's smoke checks from sites.toml (path, status, text);
the first one is timed, and on https its certificate's days left are read from the
connection. Each finding has a level: ok, warn and critical (the site answers, but is
degraded) or fail (it does not answer as expected). Drupal's own status is in
`core.health.drupal`.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from triage.core.config import HealthSettings
from triage.core.health.state import CRITICAL, FAIL, OK, WARN
from triage.core.sites.inventory import Inventory, SmokeCheck
from triage.storage.models import HealthResult

TLS_WARN_DAYS = (21, 14, 7)
"""A certificate this close to its end is a warning; at the last one, critical."""
LEVELS = {OK: 0, WARN: 1, CRITICAL: 2, FAIL: 3}
SHARD_CONNECTIONS = 8
"""Connections per HTTP client of a `ClientPool`."""


@dataclass(frozen=True)
class Target:
    """One environment of a site to watch, with what it should answer."""

    site: str
    env: str
    url: str
    name: str
    checks: tuple[SmokeCheck, ...]
    interval: float
    slow_ms: int
    drupal: bool = False


@dataclass(frozen=True)
class Finding:
    """What one check found wrong (or `ok`)."""

    level: str
    check: str
    reason: str


def targets(inventory: Inventory, settings: HealthSettings) -> list[Target]:
    """Every environment to watch: those in health.envs unless sites.toml says otherwise."""
    found: list[Target] = []
    for site in sorted(inventory.sites.values(), key=lambda s: s.id):
        for name, env in sorted(site.envs.items()):
            enabled = env.health.enabled
            if enabled is None:
                enabled = name in settings.envs
            if not enabled or not env.url:
                continue
            found.append(
                Target(
                    site=site.id,
                    env=name,
                    url=env.url,
                    name=site.name,
                    checks=tuple(env.smoke) or (SmokeCheck(),),
                    interval=env.health.interval_seconds or settings.interval_seconds,
                    slow_ms=env.health.slow_ms or settings.slow_ms,
                    drupal=env.health.drupal,
                )
            )
    return found


def make_client(settings: HealthSettings, connections: int) -> httpx.AsyncClient:
    """An HTTP client of the checks: finite timeouts, system CAs plus health.ca_file."""
    context = ssl.create_default_context()
    if settings.ca_file is not None:
        context.load_verify_locations(cafile=str(Path(settings.ca_file).expanduser()))
    return httpx.AsyncClient(
        verify=context,
        timeout=httpx.Timeout(settings.timeout_seconds),
        follow_redirects=True,
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        headers={"User-Agent": "triage-health"},
    )


class ClientPool:
    """Several HTTP clients, each with a few connections, as one async context manager.

    httpcore looks at every connection of its pool on every request event, so one pool of
    hundreds of connections spends more time looking than checking; small pools do not.
    """

    def __init__(self, settings: HealthSettings, shard: int = SHARD_CONNECTIONS) -> None:
        count = max(1, -(-settings.concurrency // shard))
        per = max(1, -(-settings.concurrency // count))
        self.clients = [make_client(settings, per) for _ in range(count)]

    def pick(self, index: int) -> httpx.AsyncClient:
        """The client for the target at `index`: always the same one, so connections stay."""
        return self.clients[index % len(self.clients)]

    async def __aenter__(self) -> ClientPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for client in self.clients:
            await client.aclose()


def tls_finding(days: int) -> Finding:
    """How close a certificate is to its end, as a finding."""
    for threshold in reversed(TLS_WARN_DAYS):
        if days <= threshold:
            level = CRITICAL if threshold == TLS_WARN_DAYS[-1] else WARN
            return Finding(level, "tls", f"TLS certificate ends in {days} days")
    return Finding(OK, "tls", "")


def _cert_days(response: httpx.Response, now: datetime) -> int | None:
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    if ssl_object is None:
        return None
    cert = ssl_object.getpeercert()
    if not cert or "notAfter" not in cert:
        return None
    ends = datetime.fromtimestamp(ssl.cert_time_to_seconds(str(cert["notAfter"])), UTC)
    return int((ends - now).total_seconds() // 86400)


def _url(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


def _no_answer(error: httpx.HTTPError) -> str:
    text = str(error)
    if isinstance(error, httpx.TimeoutException):
        return "no answer in time (timeout)"
    if "CERTIFICATE_VERIFY_FAILED" in text or isinstance(error.__cause__, ssl.SSLError):
        return "TLS certificate not valid (" + (text.split("] ")[-1][:120] or "verify failed") + ")"
    if isinstance(error, httpx.ConnectError):
        return "no connection"
    return type(error).__name__


async def check_http(
    client: httpx.AsyncClient, target: Target, now: datetime
) -> tuple[HealthResult, list[Finding]]:
    """Request every smoke check of `target` once; the result and every finding."""
    result = HealthResult(site=target.site, env=target.env, url=target.url, at=now)
    findings: list[Finding] = []
    for index, check in enumerate(target.checks):
        url = _url(target.url, check.path)
        started = time.perf_counter()
        try:
            answer = await client.get(url)
        except httpx.HTTPError as error:
            findings.append(Finding(FAIL, "http", f"GET {check.path}: {_no_answer(error)}"))
            break
        if index == 0:
            result.ms = int((time.perf_counter() - started) * 1000)
            result.status = answer.status_code
            result.tls_days = _cert_days(answer, now)
        if answer.status_code != check.status:
            findings.append(Finding(FAIL, "http", f"HTTP {answer.status_code} on {check.path}"))
        elif check.contains and check.contains not in answer.text:
            findings.append(Finding(FAIL, "text", f"{check.path} lacks {check.contains!r}"))
    if result.ms is not None and result.ms > target.slow_ms:
        findings.append(
            Finding(WARN, "slow", f"answered in {result.ms} ms (over {target.slow_ms})")
        )
    if result.tls_days is not None:
        findings.append(tls_finding(result.tls_days))
    return result, findings


def conclude(result: HealthResult, findings: Sequence[Finding]) -> HealthResult:
    """Set the result's level, check and reason from its worst finding (all reasons listed)."""
    wrong = sorted(
        (f for f in findings if f.level != OK), key=lambda f: LEVELS[f.level], reverse=True
    )
    if not wrong:
        result.level, result.check, result.reason = OK, "", ""
        return result
    result.level, result.check = wrong[0].level, wrong[0].check
    result.reason = "; ".join(f.reason for f in wrong)[:2000]
    return result
