"""The demo agency's code: site repositories whose composer.lock pins various Drupal versions.

Each repository is a bare git repository made with one `git fast-import` (fast: the demo
starts in seconds), its main branch holding a composer.lock, and for some sites a `live`
branch with the older lock prod still runs. A few advisories in the Packagist shape go with
them, so matching finds affected and patched sites. Imports nothing of Triage's.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LIVE = "live"
"""The branch prod runs, on the sites where it is not main."""

#: Contrib modules: name → (versions to pick from, Drupal's release names of them).
CONTRIB: dict[str, tuple[str, ...]] = {
    "drupal/token": ("1.13.0", "1.15.0", "1.16.0"),
    "drupal/webform": ("6.2.7", "6.2.9", "6.3.0-beta2"),
    "drupal/paragraphs": ("1.17.0", "1.18.0"),
    "drupal/pathauto": ("1.12.0", "1.13.0"),
}
LIBRARIES = {
    "symfony/http-foundation": "6.4.14",
    "twig/twig": "3.14.0",
    "guzzlehttp/guzzle": "7.9.2",
}

ADVISORIES: dict[str, Any] = {
    "advisories": {
        "drupal/core": [
            {
                "advisoryId": "SA-CORE-2025-007",
                "packageName": "drupal/core",
                "affectedVersions": ">= 8.0.0 <10.4.9 || >=10.5.0 <10.5.6 || >=11.0.0 <11.1.9",
                "title": "Drupal core - Critical - Access bypass",
                "link": "https://www.drupal.org/sa-core-2025-007",
                "cve": None,
                "reportedAt": "2025-11-19 17:00:00",
                "severity": "critical",
            },
            {
                "advisoryId": "SA-CORE-2025-008",
                "packageName": "drupal/core",
                "affectedVersions": "11.2.*|>=10.6.0 <10.6.3",
                "title": "Drupal core - Moderately critical - Cross-site scripting",
                "link": "https://www.drupal.org/sa-core-2025-008",
                "reportedAt": "2025-11-26T17:00:00+00:00",
                "severity": "moderate",
            },
        ],
        "drupal/token": [
            {
                "advisoryId": "SA-CONTRIB-2025-101",
                "packageName": "drupal/token",
                "affectedVersions": "<1.15.0",
                "title": "Token - Moderately critical - Information disclosure",
                "link": "https://www.drupal.org/sa-contrib-2025-101",
                "reportedAt": "2025-10-08 16:00:00",
                "severity": "moderate",
            }
        ],
    }
}


@dataclass(frozen=True)
class FleetSite:
    """A demo site's repository, and the ref prod runs when it is not main."""

    id: str
    repo: Path
    prod_ref: str = ""


def drupal_release(name: str, version: str) -> str:
    """Drupal's name of a release: core keeps its version, contrib is `8.x-1.13`."""
    if name == "drupal/core":
        return version
    major, _, rest = version.partition(".")
    minor = rest.split(".")[0]
    suffix = version.split("-", 1)[1] if "-" in version else ""
    return f"8.x-{major}.{minor}" + (f"-{suffix}" if suffix else "")


def lock_json(packages: Mapping[str, str]) -> str:
    """A composer.lock pinning these packages, with Drupal's extra fields on drupal/*."""
    entries = []
    for name, version in sorted(packages.items()):
        entry: dict[str, Any] = {"name": name, "version": version, "type": "library"}
        if name.startswith("drupal/"):
            entry["type"] = "drupal-core" if name == "drupal/core" else "drupal-module"
            entry["extra"] = {
                "drupal": {
                    "version": drupal_release(name, version),
                    "security-coverage": {"status": "covered"},
                }
            }
        entries.append(entry)
    lock = {"_readme": ["demo"], "content-hash": "0" * 32, "packages": entries}
    return json.dumps({**lock, "packages-dev": []}, indent=4) + "\n"


def _blob(text: str) -> bytes:
    data = text.encode()
    return b"data %d\n" % len(data) + data + b"\n"


def make_repository(
    path: Path, main: Mapping[str, str], live: Mapping[str, str] | None = None
) -> Path:
    """A bare repository at `path`: main with a lock of `main`, and `live` behind it if given."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    subprocess.run(
        ["git", "init", "--quiet", "--bare", "--initial-branch=main", str(path)],
        check=True, capture_output=True, env=env, timeout=60,
    )  # fmt: skip
    stream = bytearray()
    who = b"Demo Agency <dev@agency.example> 1750000000 +0000\n"
    commits = [(b"refs/heads/" + LIVE.encode(), live)] if live is not None else []
    commits.append((b"refs/heads/main", main))
    for mark, (ref, packages) in enumerate(commits, start=1):
        stream += b"commit " + ref + b"\nmark :%d\ncommitter " % mark + who
        stream += _blob("composer update\n")
        if mark > 1:
            stream += b"from :%d\n" % (mark - 1)
        stream += b"M 100644 inline composer.lock\n" + _blob(lock_json(packages))
        stream += b"M 100644 inline composer.json\n" + _blob('{"name": "agency/site"}\n')
    subprocess.run(
        ["git", "--git-dir", str(path), "fast-import", "--quiet"],
        input=bytes(stream), check=True, capture_output=True, env=env, timeout=60,
    )  # fmt: skip
    return path


def site_packages(core: str, index: int) -> dict[str, str]:
    """The packages a demo site pins: its Drupal core, contrib modules, a few libraries."""
    packages = {"drupal/core": core, **LIBRARIES}
    for offset, (name, versions) in enumerate(CONTRIB.items()):
        if (index + offset) % 3 != 2:
            packages[name] = versions[(index + offset) % len(versions)]
    return packages


def build_fleet(root: Path, sites: Iterable[tuple[str, str]], every: int = 10) -> list[FleetSite]:
    """Repositories for every `every`-th of these (site id, Drupal version) with Composer.

    Existing repositories are kept: a second demo reads what the first made.
    """
    fleet: list[FleetSite] = []
    chosen = [(i, s) for i, s in enumerate(sites) if not s[1].startswith("7.")][::every]
    for index, (site_id, core) in chosen:
        path = root / f"{site_id}.git"
        main = site_packages(core, index)
        live = {**main, "drupal/core": _older(core)} if index % 3 == 0 else None
        if not (path / "HEAD").exists():
            make_repository(path, main, live)
        fleet.append(FleetSite(site_id, path, LIVE if live is not None else ""))
    return fleet


def _older(version: str) -> str:
    major, minor, patch = (version.split(".") + ["0", "0"])[:3]
    return f"{major}.{minor}.{max(0, int(patch) - 2)}"
