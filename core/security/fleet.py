"""What each site runs: every site's composer.lock, read from a bare mirror, in parallel.

Per site: `git fetch` of its branches and tags into a bare mirror under the data directory
(`mirrors/<site>.git`), then `git show REF:composer.lock` for the main branch and, when
sites.toml names another (`prod_ref`), for what prod runs. No working checkout is touched.
Each git command is bounded in time and its messages are redacted (as core.sites.gitcmd's);
a site whose repository cannot be read is reported and keeps the packages last read, and
never holds up the others.
"""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from triage.core.security.lockfile import LockedPackage, LockfileError, parse_lock
from triage.core.sites.gitcmd import _environment, _kill, _reason
from triage.core.sites.inventory import Inventory, Site
from triage.storage import security as rows
from triage.storage.models import SiteLock, SitePackage, utcnow

LOCK = "composer.lock"


@dataclass(frozen=True)
class LockRead:
    """One ref of one site, read or not: its commit and packages, or why not."""

    site: str
    ref: str
    role: str
    commit: str = ""
    packages: list[LockedPackage] = field(default_factory=list)
    error: str = ""


class _Failed(Exception):
    """A git command failed; its reason, redacted, is the message."""


def mirror_path(data_dir: Path, site_id: str) -> Path:
    """Where a site's bare mirror lives."""
    return data_dir / "mirrors" / f"{site_id}.git"


def _git(mirror: Path, timeout: float, *args: str) -> str:
    try:
        process = subprocess.Popen(
            ["git", "--git-dir", str(mirror), *args],
            env=_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,  # no terminal: ssh and credential helpers cannot prompt
        )
    except FileNotFoundError:
        raise _Failed("git is not installed: install it (apt install git)") from None
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(process)
        raise _Failed(f"`git {args[0]}` did not finish within {timeout:g} s") from None
    if process.returncode != 0:
        raise _Failed(_reason(err + "\n" + out))
    return out


def _fetch(site: Site, mirror: Path, timeout: float) -> None:
    if not (mirror / "HEAD").exists():
        mirror.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "init", "--quiet", "--bare", str(mirror)],
            env=_environment(),
            check=True,
            capture_output=True,
            timeout=timeout,
        )
    _git(
        mirror,
        timeout,
        "fetch", "--quiet", "--prune", "--no-tags", "--", site.repo,
        "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*",
    )  # fmt: skip


def _read(site: Site, mirror: Path, ref: str, role: str, timeout: float) -> LockRead:
    try:
        commit = _git(mirror, timeout, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except _Failed:
        return LockRead(site.id, ref, role, error=f"no branch, tag or commit {ref!r}")
    commit = commit.strip()
    try:
        text = _git(mirror, timeout, "show", f"{commit}:{LOCK}")
    except _Failed:
        return LockRead(site.id, ref, role, commit, error=f"no {LOCK} at {ref} ({commit[:12]})")
    try:
        return LockRead(site.id, ref, role, commit, parse_lock(text))
    except LockfileError as error:
        return LockRead(site.id, ref, role, commit, error=f"{error} at {ref} ({commit[:12]})")


def refs_of(site: Site) -> list[tuple[str, str]]:
    """The (ref, role) pairs read for a site: main, and prod's when it differs."""
    found = [(site.main_branch, "main")]
    if site.prod_ref and site.prod_ref != site.main_branch:
        found.append((site.prod_ref, "prod"))
    return found


def read_site(site: Site, data_dir: Path, timeout: float = 120.0) -> list[LockRead]:
    """Fetch one site into its mirror and read its locks; failures become reads with errors."""
    mirror = mirror_path(data_dir, site.id)
    try:
        _fetch(site, mirror, timeout)
    except (_Failed, OSError, subprocess.SubprocessError) as error:
        reason = f"cannot fetch the repository of {site.id} ({error})"
        return [LockRead(site.id, ref, role, error=reason) for ref, role in refs_of(site)]
    return [_read(site, mirror, ref, role, timeout) for ref, role in refs_of(site)]


def refresh(
    engine: Engine,
    inventory: Inventory,
    data_dir: Path,
    *,
    concurrency: int = 8,
    timeout: float = 120.0,
) -> list[LockRead]:
    """Read every site's locks in parallel and keep them in the cache; every read returned."""
    sites = list(inventory.sites.values())
    if not sites:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(sites)))) as pool:
        per_site = list(pool.map(lambda site: read_site(site, data_dir, timeout), sites))
    reads = [read for found in per_site for read in found]
    _save(engine, reads, {site.id: [ref for ref, _ in refs_of(site)] for site in sites})
    return reads


def _save(engine: Engine, reads: list[LockRead], refs: dict[str, list[str]]) -> None:
    now = utcnow()
    with Session(engine) as session:
        for site_id, site_refs in refs.items():
            rows.forget_other_refs(session, site_id, site_refs)
        for read in reads:
            lock = SiteLock(
                site=read.site,
                ref=read.ref,
                role=read.role,
                commit=read.commit,
                read_at=now,
                error=read.error,
            )
            packages = None
            if not read.error:
                packages = [
                    SitePackage(
                        site=read.site,
                        ref=read.ref,
                        name=p.name,
                        version=p.version,
                        drupal_version=p.drupal_version,
                        coverage=p.coverage,
                    )
                    for p in read.packages
                ]
            rows.save_lock(session, lock, packages)
        session.commit()
