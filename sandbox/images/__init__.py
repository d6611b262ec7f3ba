"""The sandbox's Docker images, built offline from sandbox/images/: no image registry needed.

- triage/base: Debian bookworm (minbase) made by debootstrap from the host's own Debian mirror
  (sandbox/rootfs.py), customised by base/customize.sh and imported; the root filesystem
  tarball is cached (`image_cache_dir()`), so a new import takes seconds;
- triage/mariadb and triage/php-site: `FROM triage/base` with Debian's packages (PHP, Composer
  and MariaDB from Debian, so the sites run offline).

Each image carries a label with the hash of what it was built from (files, suite, mirror, the
parent's hash) and is built again only when that hash changes. Builds use the default bridge
network and fall back to the host's network when apt cannot reach the mirror from it. Two
processes building at once take turns (a lock in the cache dir). Used by `triage demo --sites`
and by the tests; imports nothing of Triage's.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors

from triage.sandbox.rootfs import (
    IMAGES_DIR,
    SUITE,
    VARIANT,
    ImageBuildError,
    ImagesUnavailable,
    Mirrors,
    Progress,
    host_mirrors,
    make_rootfs,
)

SCHEMA_SQL = IMAGES_DIR / "schema.sql"
"""Drupal's tables as the sandbox sites use them."""
BASE_IMAGE = "triage/base"
MARIADB_IMAGE = "triage/mariadb"
PHP_SITE_IMAGE = "triage/php-site"
IMAGES = (BASE_IMAGE, MARIADB_IMAGE, PHP_SITE_IMAGE)
HASH_LABEL = "org.triage.build-hash"
BUILD_LOCK_TIMEOUT_S = 1200.0
CACHE_VARIABLE = "TRIAGE_IMAGE_CACHE"
"""Overrides where the root filesystem tarball is kept."""
# apt's words when the build network cannot reach the mirror.
_NETWORK_FAILURE = re.compile(
    r"Temporary failure resolving|Could not resolve|Failed to fetch|Unable to connect|"
    r"Could not connect|Network is unreachable|Connection timed out|Unable to locate package"
)


def lock_fd(fd: int, kind: int, timeout: float, what: str) -> None:
    """flock `fd` (LOCK_SH or LOCK_EX), waiting at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise ImagesUnavailable(
                    f"waited {timeout:.0f} s for {what} in vain: another process holds it"
                ) from None
            time.sleep(0.2)


@contextlib.contextmanager
def file_lock(path: Path, *, exclusive: bool, timeout: float) -> Iterator[None]:
    """Hold a lock on the file `path` (made if missing) for the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        lock_fd(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, timeout, str(path))
        yield
    finally:
        os.close(fd)


def image_cache_dir() -> Path:
    """Where the root filesystem tarball is kept between runs."""
    given = os.environ.get(CACHE_VARIABLE)
    if given:
        return Path(given)
    system = Path("/var/cache/triage-images")
    if os.geteuid() == 0 or os.access(system, os.W_OK):
        return system
    return Path.home() / ".cache" / "triage-images"


def _hash_tree(digest: Any, directory: Path) -> None:
    for path in sorted(directory.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        digest.update(str(path.relative_to(directory)).encode() + b"\0")
        digest.update(b"x" if os.access(path, os.X_OK) else b"-")
        digest.update(path.read_bytes() + b"\0")


def base_hash(mirrors: Mirrors) -> str:
    """The hash of what triage/base is made from."""
    digest = hashlib.sha256(b"triage/base 1\0")
    digest.update(f"{SUITE} {VARIANT} {mirrors}\0".encode())
    _hash_tree(digest, IMAGES_DIR / "base")
    return digest.hexdigest()


def context_hash(name: str, parent_hash: str) -> str:
    """The hash of the build context sandbox/images/<name> on a parent of `parent_hash`."""
    digest = hashlib.sha256(f"{name}\0{parent_hash}\0".encode())
    _hash_tree(digest, IMAGES_DIR / name)
    return digest.hexdigest()


def _current_id(client: docker.DockerClient, image: str, wanted: str) -> str | None:
    """The id of `image` if it exists and was built from what has the hash `wanted`."""
    try:
        found = client.images.get(image)
    except docker.errors.ImageNotFound:
        return None
    labels = found.labels or {}
    return str(found.id) if labels.get(HASH_LABEL) == wanted else None


def _old_ids(client: docker.DockerClient, image: str) -> list[str]:
    try:
        return [str(client.images.get(image).id)]
    except docker.errors.ImageNotFound:
        return []


def images_current(client: docker.DockerClient) -> bool:
    """Whether all three images exist as sandbox/images/ would build them now (no build)."""
    parent = base_hash(host_mirrors())
    if _current_id(client, BASE_IMAGE, parent) is None:
        return False
    return all(
        _current_id(client, image, context_hash(name, parent)) is not None
        for name, image in (("mariadb", MARIADB_IMAGE), ("php-site", PHP_SITE_IMAGE))
    )


def ensure_images(client: docker.DockerClient, progress: Progress | None = None) -> dict[str, str]:
    """Build the sandbox images that are missing or out of date; {name: image id} of all three.

    Another process building at the same time is waited for (a lock in the cache dir).
    """
    say = progress or (lambda _line: None)
    cache = image_cache_dir()
    mirrors = host_mirrors()
    with file_lock(cache / "build.lock", exclusive=True, timeout=BUILD_LOCK_TIMEOUT_S):
        ids: dict[str, str] = {}
        replaced: list[str] = []  # ids of the images that the new ones replace
        parent = base_hash(mirrors)
        found = _current_id(client, BASE_IMAGE, parent)
        if found is None:
            replaced += _old_ids(client, BASE_IMAGE)
            found = _make_base(client, parent, mirrors, cache, say)
        ids[BASE_IMAGE] = found
        for name, image in (("mariadb", MARIADB_IMAGE), ("php-site", PHP_SITE_IMAGE)):
            wanted = context_hash(name, parent)
            found = _current_id(client, image, wanted)
            if found is None:
                replaced = _old_ids(client, image) + replaced  # children go before the base
                found = _build(client, image, IMAGES_DIR / name, wanted, say)
            ids[image] = found
        for old in replaced:
            if old not in ids.values():
                with contextlib.suppress(docker.errors.APIError):
                    client.images.remove(old)  # fails, harmlessly, while a container uses it
    return ids


def _make_base(
    client: docker.DockerClient, wanted: str, mirrors: Mirrors, cache: Path, say: Progress
) -> str:
    tarball = cache / f"{SUITE}-{VARIANT}-{wanted[:16]}.tar"
    if not tarball.is_file():
        make_rootfs(tarball, mirrors, say)
        for stale in cache.glob(f"{SUITE}-{VARIANT}-*.tar"):
            if stale != tarball:
                stale.unlink(missing_ok=True)
    say(f"importing {tarball} as {BASE_IMAGE}")
    client.api.import_image_from_file(
        str(tarball),
        repository=BASE_IMAGE,
        tag="latest",
        changes=[
            f"LABEL {HASH_LABEL}={wanted}",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV LANG=C.UTF-8",
            'CMD ["bash"]',
        ],
    )
    new = _current_id(client, BASE_IMAGE, wanted)
    if new is None:
        raise ImageBuildError(f"docker import of {tarball} did not give {BASE_IMAGE}")
    return new


def _build(
    client: docker.DockerClient, image: str, context: Path, wanted: str, say: Progress
) -> str:
    """Build `image` from `context`, labelled with `wanted`; retry on the host network."""
    try:
        return _build_once(client, image, context, wanted, say, network_mode=None)
    except ImageBuildError as error:
        if not _NETWORK_FAILURE.search(str(error)):
            raise
    say(f"{image}: apt could not reach the mirror from the bridge; building on the host network")
    return _build_once(client, image, context, wanted, say, network_mode="host")


def _build_once(
    client: docker.DockerClient,
    image: str,
    context: Path,
    wanted: str,
    say: Progress,
    network_mode: str | None,
) -> str:
    say(f"building {image} from {context}")
    lines: list[str] = []
    error = None
    stream = client.api.build(
        path=str(context),
        tag=f"{image}:latest",
        labels={HASH_LABEL: wanted},
        rm=True,
        forcerm=True,
        pull=False,
        decode=True,
        network_mode=network_mode,
    )
    for chunk in stream:
        if "stream" in chunk:
            for line in str(chunk["stream"]).splitlines():
                if line.strip():
                    lines.append(line)
                    say(line)
        if "error" in chunk:
            error = str(chunk["error"]).strip()
    if error is not None:
        tail = " | ".join(lines[-20:])
        raise ImageBuildError(f"building {image} failed: {error} | {tail}")
    new = _current_id(client, image, wanted)
    if new is None:
        raise ImageBuildError(f"building {image} left no image labelled {wanted[:12]}")
    return new
