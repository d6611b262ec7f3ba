"""What each site runs: every site's composer.lock, read from a bare mirror, in parallel.

Per site: `git fetch` of its branches and tags into a bare mirror under the data directory
(`mirrors/<site>.git`), then `git show REF:composer.lock` for the main branch and, when
sites.toml names another (`prod_ref`), for what prod runs. No working checkout is touched.
Each git command is bounded in time and its messages are redacted (as core.sites.gitcmd's);
a site whose repository cannot be read is reported and keeps the packages last read, and
never holds up the others.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from triage.core.security.lockfile import LockedPackage, LockfileError, parse_lock
from triage.core.sites.gitcmd import _environment, _reason
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


def _git(mirror: Path, timeout: float, *args: str, feed: bytes | None = None) -> bytes:
    """Run one git command on a mirror, bounded in time; its output, or _Failed saying why."""
    try:
        process = subprocess.Popen(
            ["git", "--git-dir", str(mirror), *args],
            env=_environment(),
            stdin=subprocess.PIPE if feed is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # no terminal: ssh and credential helpers cannot prompt
        )
    except FileNotFoundError:
        raise _Failed("git is not installed: install it (apt install git)") from None
    try:
        out, err = process.communicate(input=feed, timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # git and what it started (ssh, helpers)
        process.communicate()
        raise _Failed(f"`git {args[0]}` did not finish within {timeout:g} s") from None
    if process.returncode != 0:
        raise _Failed(_reason((err + b"\n" + out).decode("utf-8", "replace")))
    return out


def _objects(mirror: Path, timeout: float, names: list[str]) -> list[tuple[str, bytes] | None]:
    """Each named object's sha and content, or None when missing: one `git cat-file --batch`."""
    feed = "".join(name + "\n" for name in names).encode()
    out = _git(mirror, timeout, "cat-file", "--batch", feed=feed)
    found: list[tuple[str, bytes] | None] = []
    at = 0
    for _ in names:
        end = out.index(b"\n", at)
        header = out[at:end].decode("utf-8", "replace").split()
        at = end + 1
        if len(header) != 3 or not header[2].isdigit():
            found.append(None)  # "<name> missing" or "ambiguous"
            continue
        size = int(header[2])
        found.append((header[0], out[at : at + size]))
        at += size + 1
    return found


def _init_bare(mirror: Path) -> None:
    """An empty bare repository, written directly: git's own layout, one process less a site."""
    for folder in ("objects/info", "objects/pack", "refs/heads", "refs/tags"):
        (mirror / folder).mkdir(parents=True, exist_ok=True)
    (mirror / "config").write_text(
        "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n"
    )
    (mirror / "HEAD").write_text("ref: refs/heads/main\n")  # written last: the mirror exists


def _fetch(site: Site, mirror: Path, timeout: float) -> None:
    if not (mirror / "HEAD").exists():
        _init_bare(mirror)
    _git(
        mirror,
        timeout,
        "fetch", "--quiet", "--prune", "--no-tags", "--", site.repo,
        "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*",
    )  # fmt: skip


def _read(site: Site, mirror: Path, refs: list[tuple[str, str]], timeout: float) -> list[LockRead]:
    names = [name for ref, _ in refs for name in (f"{ref}^{{commit}}", f"{ref}:{LOCK}")]
    objects = _objects(mirror, timeout, names)
    reads = []
    for index, (ref, role) in enumerate(refs):
        commit, lock = objects[2 * index], objects[2 * index + 1]
        if commit is None:
            reads.append(LockRead(site.id, ref, role, error=f"no branch, tag or commit {ref!r}"))
            continue
        sha = commit[0]
        if lock is None:
            error = f"no {LOCK} at {ref} ({sha[:12]})"
            reads.append(LockRead(site.id, ref, role, sha, error=error))
            continue
        try:
            packages = parse_lock(lock[1].decode("utf-8", "replace"))
        except LockfileError as error:
            reads.append(LockRead(site.id, ref, role, sha, error=f"{error} at {ref} ({sha[:12]})"))
            continue
        reads.append(LockRead(site.id, ref, role, sha, packages))
    return reads


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
    try:
        return _read(site, mirror, refs_of(site), timeout)
    except _Failed as error:
        return [LockRead(site.id, ref, role, error=str(error)) for ref, role in refs_of(site)]


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
