"""Real git repositories for the code-review tests (a support module, no tests).

One bare remote holds `main` and the tickets' branches, pushed from a work clone; every
site of the sites inventory points at it. Git runs without user or system config, with a
fixed identity and fixed dates, so the shas are the same on every run (snapshots show them).
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

MAIN_MODULE = (
    "<?php\n\n/**\n * @file\n * Custom code of the site.\n */\n\n"
    "function site_fix_help($route) {\n  return 'Site fixes';\n}\n"
)
GIT_DATE = "2026-11-20T10:00:00+00:00"


def hermetic_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No user or system git config; a fixed identity and date from the environment."""
    config = tmp_path / "gitconfig"
    config.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for role in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{role}_NAME", "Triage Test")
        monkeypatch.setenv(f"GIT_{role}_EMAIL", "triage@example.com")
        monkeypatch.setenv(f"GIT_{role}_DATE", GIT_DATE)


def git(cwd: Path, *args: str) -> str:
    """Run git as a person would, outside the adapter; its output, stripped."""
    result = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout.strip()


@dataclass
class Repos:
    """A bare remote and a work clone that pushes to it."""

    remote: Path
    work: Path

    def push_branch(
        self, branch: str, files: Mapping[str, str | bytes], message: str, commits: int = 1
    ) -> str:
        """Make `branch` from main with `files` written over `commits` commits, push it; its sha."""
        git(self.work, "switch", "-q", "-C", branch, "origin/main")
        for name, content in files.items():
            path = self.work / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        git(self.work, "add", ".")
        git(self.work, "commit", "-q", "-m", message)
        first = next(name for name, content in sorted(files.items()) if isinstance(content, str))
        for number in range(2, commits + 1):
            with (self.work / first).open("a") as more:
                more.write(f"// follow-up {number}\n")
            git(self.work, "commit", "-q", "-am", f"{message}, follow-up {number}")
        git(self.work, "push", "-q", "--force", "origin", branch)
        return git(self.work, "rev-parse", "HEAD")


def make_repos(root: Path) -> Repos:
    """A bare remote whose main holds a small Drupal module, and a work clone of it."""
    remote = root / "site.git"
    git(root, "init", "-q", "--bare", "-b", "main", str(remote))
    work = root / "work"
    git(root, "clone", "-q", str(remote), str(work))
    git(work, "switch", "-q", "-c", "main")
    module = work / "web/modules/custom/site_fix/site_fix.module"
    module.parent.mkdir(parents=True)
    module.write_text(MAIN_MODULE)
    (work / "web/themes/site/style.css").parent.mkdir(parents=True)
    (work / "web/themes/site/style.css").write_text("body {\n  color: #222;\n}\n")
    git(work, "add", ".")
    git(work, "commit", "-q", "-m", "Initial site")
    git(work, "push", "-q", "origin", "main")
    return Repos(remote, work)


def small_change(key: str) -> dict[str, str]:
    """A ticket's branch: a PHP function and a style change."""
    module = MAIN_MODULE + (
        f"\n/**\n * Implements hook_cron() for {key}.\n */\n"
        "function site_fix_cron() {\n  \\Drupal::logger('site_fix')->notice('cron ran');\n}\n"
    )
    return {
        "web/modules/custom/site_fix/site_fix.module": module,
        "web/themes/site/style.css": "body {\n  color: #111;\n  margin: 0;\n}\n",
    }


def big_change(lines: int, files: int = 10) -> dict[str, str | bytes]:
    """A branch of about `lines` added lines over `files` PHP files, and a binary file."""
    per_file = lines // files
    change: dict[str, str | bytes] = {}
    for number in range(files):
        body = "".join(
            f"  $total += compute_{number}($row, {line});  // line {line}\n"
            for line in range(per_file - 3)
        )
        change[f"web/modules/custom/big/src/Part{number:02}.php"] = (
            f"<?php\nfunction part_{number}($row) {{\n{body}}}\n"
        )
    change["web/themes/site/logo.png"] = bytes(range(256)) * 64
    return change


def write_sites(path: Path, site_ids: list[str], repos: Repos, checkout: Path) -> Path:
    """A sites.toml whose sites all use the remote, through one checkout."""
    blocks = []
    for site_id in site_ids:
        blocks.append(
            f'[sites.{site_id}]\nname = "{site_id}"\nclient = "Client"\n'
            f'repo = "{repos.remote}"\ncheckout = "{checkout}"\n'
            f'[sites.{site_id}.envs.prod]\nweb_container = "{site_id}-web"\n'
            f'db_container = "{site_id}-db"\n'
        )
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path
