"""The Debian root filesystem of triage/base: the host's mirrors, debootstrap, a tarball.

`host_mirrors()` reads the host's own apt sources (one-line and deb822) for the suite the
images use, so the images install from the mirror the host already trusts and reaches.
`make_rootfs()` runs debootstrap (minbase) into a scratch directory, customises the tree with
images/base/customize.sh and packs it into a tarball that `docker import` takes. It needs
root and debootstrap; without them it raises `ImagesUnavailable` saying what to install.
Imports nothing of Triage's.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Progress = Callable[[str], None]
"""Told each line of a build's progress."""

IMAGES_DIR = Path(__file__).resolve().parent / "images"
"""The images' build contexts, shipped inside the package (sandbox/images/)."""
SUITE = "bookworm"
VARIANT = "minbase"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR = "http://deb.debian.org/debian-security"
DEBOOTSTRAP_TIMEOUT_S = 900.0
MIRROR_VARIABLE = "TRIAGE_DEBIAN_MIRROR"
"""Overrides the Debian mirror read from the host's apt sources."""
DEBOOTSTRAP_HINT = (
    "debootstrap was not found, and triage/base is built from a Debian root filesystem that it "
    "makes: install debootstrap (apt-get install debootstrap debian-archive-keyring)"
)


class ImagesUnavailable(RuntimeError):
    """No Docker engine can be used, or an image cannot be made here; the message says why."""


class ImageBuildError(RuntimeError):
    """An image build failed; the message ends with the tail of its log."""


@dataclass(frozen=True)
class Mirrors:
    """The Debian mirrors the images install from: the host's own, read from its apt sources."""

    debian: str
    security: str | None  # None: the host has no security suite configured
    updates: bool


def host_mirrors(sources_dir: Path = Path("/etc/apt")) -> Mirrors:
    """The host's Debian mirror for SUITE (TRIAGE_DEBIAN_MIRROR overrides it)."""
    entries: list[tuple[str, str]] = []  # (uri, suite) of the `deb` sources
    files = [sources_dir / "sources.list", *sorted((sources_dir / "sources.list.d").glob("*"))]
    for path in files:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if path.name.endswith(".sources"):
            entries += _deb822_entries(text)
        elif path.name.endswith(".list"):
            entries += _one_line_entries(text)
    debian = next((uri for uri, suite in entries if suite == SUITE), None)
    security = next((uri for uri, suite in entries if suite == f"{SUITE}-security"), None)
    updates = any(suite == f"{SUITE}-updates" for _, suite in entries)
    override = os.environ.get(MIRROR_VARIABLE)
    if override:
        debian = override
    if debian is None:
        return Mirrors(DEFAULT_MIRROR, DEFAULT_SECURITY_MIRROR, True)
    return Mirrors(debian.rstrip("/"), security.rstrip("/") if security else None, updates)


def _one_line_entries(text: str) -> list[tuple[str, str]]:
    entries = []
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb":
            entries.append((words[1], words[2]))
    return entries


def _deb822_entries(text: str) -> list[tuple[str, str]]:
    entries = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = None
        for line in stanza.splitlines():
            if line.startswith("#"):
                continue
            if line[:1].isspace() and key is not None:
                fields[key] += " " + line.strip()
            elif ":" in line:
                key, value = line.split(":", 1)
                key = key.strip().lower()
                fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                entries.append((uri, suite))
    return entries


def make_rootfs(tarball: Path, mirrors: Mirrors, say: Progress) -> None:
    """debootstrap SUITE into a scratch dir, customise it, and pack it into `tarball`."""
    debootstrap = shutil.which("debootstrap") or (
        "/usr/sbin/debootstrap" if os.access("/usr/sbin/debootstrap", os.X_OK) else None
    )
    if debootstrap is None:
        raise ImagesUnavailable(DEBOOTSTRAP_HINT)
    if os.geteuid() != 0:
        raise ImagesUnavailable(
            "triage/base is missing and debootstrap, which makes it, needs root: run it as "
            "root once, or import a Debian root filesystem as triage/base yourself"
        )
    tarball.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rootfs-", dir=tarball.parent))
    root = work / "root"
    try:
        include = ["ca-certificates"] if mirrors.debian.startswith("https:") else []
        command = [debootstrap, f"--variant={VARIANT}"]
        if include:
            command.append(f"--include={','.join(include)}")
        command += [SUITE, str(root), mirrors.debian]
        say(f"running {' '.join(command)}")
        run(command, DEBOOTSTRAP_TIMEOUT_S, "debootstrap", root / "debootstrap/debootstrap.log")
        customize = [
            "sh",
            str(IMAGES_DIR / "base" / "customize.sh"),
            str(root),
            SUITE,
            mirrors.debian,
            mirrors.security or "",
            "yes" if mirrors.updates else "no",
        ]
        run(customize, 300, "customize.sh")
        partial = tarball.with_suffix(".tar.partial")
        run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."], 300, "tar")
        os.replace(partial, tarball)
    finally:
        _remove_tree(work)


def run(command: list[str], timeout: float, what: str, log: Path | None = None) -> None:
    """Run a build command; ImageBuildError with the tail of its output when it fails."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as error:
        raise ImageBuildError(f"{what} did not finish within {timeout:.0f} s") from error
    if done.returncode != 0:
        output = (done.stdout + done.stderr).strip().splitlines()[-15:]
        detail = " | ".join(output)
        if log is not None and log.is_file():
            detail += " | log: " + tail(log)
        raise ImageBuildError(f"{what} failed with exit code {done.returncode}: {detail}")


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log file, on one line."""
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


def _mounts() -> list[str]:
    try:
        return [line.split()[4] for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    except OSError:
        return []


def _remove_tree(path: Path) -> None:
    """Remove a debootstrap scratch dir, unmounting what a failed run may have left mounted."""
    resolved = str(path.resolve())
    inside = sorted((m for m in _mounts() if m.startswith(resolved + "/")), key=len, reverse=True)
    for mount in inside:
        subprocess.run(["umount", "-l", mount], capture_output=True, timeout=30, check=False)
    if inside and any(m.startswith(resolved + "/") for m in _mounts()):
        return  # never delete through a mount point: leave the scratch dir for a human
    shutil.rmtree(path, ignore_errors=True)
