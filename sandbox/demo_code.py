"""The demo sites' code: what each runs, its git repository, and Composer making its lock.

Six kinds of site (`SPECS`) on the stand-in packages of `composer_repo`, chosen so that a
rollout of its advisory (`composer_repo.ADVISORY`) ends differently on each: updated and
tested, a failing test (rolled back), no secure version for its branch, on to production
(its package goes to prod with a window of 0 hours), already patched, and another minor
branch updated. A site's repository holds the sandbox site's code (php-site/site), its tests
(`tests/check.php` checks that the Drupal running is the one composer.lock names;
`tests/legacy.php` calls an API that 10.3.6 dropped) and, once Composer has made them in the
site's dev container, composer.json and composer.lock. Imports nothing of Triage's.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from docker.models.containers import Container

from triage.sandbox.composer_repo import composer_json
from triage.sandbox.rootfs import IMAGES_DIR

CODE = "/var/www/site"
"""The code path in the web containers."""
GIT_MOUNT = "/srv/git/site.git"
"""Where a site's bare repository is mounted in its web containers."""
CHECK = "php tests/check.php"
LEGACY = "php tests/legacy.php"
CHECK_PHP = """<?php
// The site's test: the Drupal it runs is the one composer.lock names.
require __DIR__ . '/../vendor/autoload.php';
$lock = json_decode(file_get_contents(__DIR__ . '/../composer.lock'), true);
$want = array_values(array_filter($lock['packages'], fn ($p) => $p['name'] === 'drupal/core'));
if (Drupal::VERSION !== $want[0]['version']) {
    fwrite(STDERR, 'Drupal ' . Drupal::VERSION . ' runs, composer.lock says '
        . $want[0]['version'] . "\\n");
    exit(1);
}
echo 'Drupal ', Drupal::VERSION, " OK\\n";
"""
LEGACY_PHP = """<?php
// A test of the site's theme, which still calls an API that Drupal dropped.
require __DIR__ . '/../vendor/autoload.php';
echo Drupal::legacyRender(), "\\n";
"""
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Demo Agency", "GIT_AUTHOR_EMAIL": "dev@agency.example",
    "GIT_COMMITTER_NAME": "Demo Agency", "GIT_COMMITTER_EMAIL": "dev@agency.example",
    "GIT_TERMINAL_PROMPT": "0",
}  # fmt: skip
COMPOSER_TIMEOUT_S = 300.0


class DemoSiteError(RuntimeError):
    """A demo site could not be made; the message says which and why."""


@dataclass(frozen=True)
class SiteSpec:
    """One kind of demo site: who it is for, what it runs, its tests, how its rollout ends."""

    key: str
    name: str
    package: str
    constraint: str
    core: str
    symfony: str
    tests: tuple[str, ...]
    expect: str
    """The site's state at the end of a rollout of the demo advisory."""


SPECS = (
    SiteSpec("bakery", "Bakery shop", "Gold", "^10.3", "10.3.1", "6.4.0", (CHECK,), "tested"),
    SiteSpec("museum", "City museum", "Gold", "^10.3", "10.3.1", "6.4.0", (CHECK, LEGACY),
             "failed"),
    SiteSpec("school", "Music school", "Silver", "10.1.*", "10.1.8", "6.3.12", (CHECK,),
             "no-fix"),
    SiteSpec("clinic", "Dental clinic", "Platinum", "^10.3", "10.3.5", "6.4.0", (CHECK,),
             "deployed"),
    SiteSpec("hotel", "Harbour hotel", "Gold", "^10.3", "10.3.6", "6.4.8", (CHECK,), "patched"),
    SiteSpec("library", "Town library", "Silver", "~10.2.0", "10.2.7", "6.3.12", (CHECK,),
             "tested"),
)  # fmt: skip
PROD_PACKAGE = "Platinum"
"""The support package whose sites go on to production (window 0) in the demo."""


def spec_for(index: int) -> tuple[str, SiteSpec]:
    """The site id and spec of the `index`-th demo site (the kinds cycle past six)."""
    spec = SPECS[index % len(SPECS)]
    round_ = index // len(SPECS)
    return f"demo-{spec.key}" + (f"-{round_ + 1}" if round_ else ""), spec


def git(cwd: Path, *args: str) -> str:
    """Run git in `cwd` as the demo agency; DemoSiteError with its message when it fails."""
    done = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise DemoSiteError(f"git {' '.join(args)} failed in {cwd}: {done.stderr.strip()}")
    return done.stdout.strip()


def make_repository(home: Path, spec: SiteSpec) -> tuple[Path, Path]:
    """The site's bare remote (main: its code and tests, no composer files yet) and a checkout."""
    remote, work = home / "remote.git", home / "checkout"
    home.mkdir(parents=True, exist_ok=True)
    git(home, "init", "-q", "--bare", "-b", "main", str(remote))
    git(home, "clone", "-q", str(remote), str(work))
    shutil.copytree(IMAGES_DIR / "php-site" / "site", work, dirs_exist_ok=True)
    (work / "tests").mkdir()
    (work / "tests" / "check.php").write_text(CHECK_PHP)
    if LEGACY in spec.tests:
        (work / "tests" / "legacy.php").write_text(LEGACY_PHP)
    (work / ".gitignore").write_text("files/\nvendor/\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", f"{spec.name}: the site")
    git(work, "push", "-q", "origin", "HEAD:main")
    return remote, work


def run_in(web: Container, script: str, timeout: float = COMPOSER_TIMEOUT_S) -> str:
    """Run `script` with sh in the code directory; its output, or DemoSiteError."""
    started = time.monotonic()
    result = web.exec_run(["sh", "-c", f"timeout {int(timeout)} sh -c \"$0\"", script],
                          workdir=CODE, environment={"COMPOSER_ALLOW_SUPERUSER": "1"})  # fmt: skip
    output: str = result.output.decode(errors="replace")
    if result.exit_code != 0:
        spent = time.monotonic() - started
        tail = " | ".join(output.strip().splitlines()[-8:])
        raise DemoSiteError(f"{web.name}: `{script}` failed after {spent:.0f} s: {tail}")
    return output


def put_file(web: Container, path: str, text: str) -> None:
    """Write `text` to `path` in the container."""
    data = text.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(os.path.basename(path))
        info.size, info.mode, info.mtime = len(data), 0o644, int(time.time())
        archive.addfile(info, io.BytesIO(data))
    if not web.put_archive(os.path.dirname(path), buffer.getvalue()):
        raise DemoSiteError(f"could not write {path} into {web.name}")


def code_at_main(web: Container) -> None:
    """The web container's code directory: a checkout of the mounted remote's main."""
    run_in(web, f"(test -d .git || (git init -q -b main && git remote add origin {GIT_MOUNT}))"
                " && git -c safe.directory=* fetch -q origin"
                " && git -c safe.directory=* checkout -q -f --detach origin/main")  # fmt: skip


def lock_site(dev: Container, checkout: Path, spec: SiteSpec, repository: str) -> dict[str, str]:
    """Composer makes the site's lock in `dev`; main gets it; {package: version} locked.

    First pinned to the spec's versions (`composer update`), then `composer update --lock`
    with the site's real constraint, so the lock holds the old versions the rollout updates.
    """
    code_at_main(dev)
    name = f"agency/{spec.key}"
    pinned = {"drupal/core": spec.core, "symfony/http-foundation": spec.symfony}
    put_file(dev, f"{CODE}/composer.json", composer_json(name, pinned, repository))
    run_in(dev, "composer update --no-interaction --no-progress")
    real = {"drupal/core": spec.constraint}
    put_file(dev, f"{CODE}/composer.json", composer_json(name, real, repository))
    run_in(dev, "composer update --lock --no-interaction --no-progress")
    for file in ("composer.json", "composer.lock"):
        (checkout / file).write_text(run_in(dev, f"cat {file}"))
    lock = json.loads((checkout / "composer.lock").read_text())
    versions = {p["name"]: p["version"] for p in lock["packages"]}
    if versions.get("drupal/core") != spec.core:
        raise DemoSiteError(
            f"Composer locked {versions} for {spec.key}, not drupal/core {spec.core}"
        )
    git(checkout, "add", "-A")
    git(checkout, "commit", "-q", "-m", f"drupal/core {spec.core}")
    git(checkout, "push", "-q", "origin", "HEAD:main")
    return versions


def install(web: Container) -> None:
    """Check out main in a web container and install its locked packages."""
    code_at_main(web)
    run_in(web, "composer install --no-interaction --no-progress")
