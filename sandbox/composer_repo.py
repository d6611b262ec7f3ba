"""A Composer repository of small stand-in packages, served over HTTP, for demo and test sites.

The stand-ins are `drupal/core` in the versions of `CORE` and its dependency
`symfony/http-foundation` in the versions of `SYMFONY`. Each drupal/core version ships a
`Drupal.php` (autoloaded as a file) whose `Drupal::VERSION` a site's tests read; before 10.3.6
it also has `Drupal::legacyRender()`, which 10.3.6 dropped, so a site whose tests call it
breaks on that update. The secure releases (10.2.8, 10.3.6) need symfony/http-foundation
^6.4.8: a site locked at an older symfony reaches them only with `--with-dependencies`.

API:

- `ComposerRepository(base, advisories=None)`: the packages' metadata and tar dists, with
  URLs under `base` (`http://HOST:PORT`); `advisories` maps a package name to the advisories
  (Packagist shape) the repository reports for it (default: `ADVISORY` for drupal/core).
  `answer(method, path, body)` gives the (status, body) of a request; `audits` lists the
  package names each `composer audit` asked about.
- `serve(host, port=0, advisories=None)`: a context manager serving one on `host` (a Docker
  network's gateway, so the sites' containers reach it, or 127.0.0.1) until the block ends:
  - Composer's v2 repository: /packages.json (`metadata-url`, `available-packages`, and the
    `security-advisories` API), /p2/<vendor>/<name>.json and /dists/…tar.gz;
  - the advisories API at /api/security-advisories/: POST (what `composer audit` asks) and
    GET (with `updatedSince`, the Packagist shape that `triage advisories poll` reads).
- `composer_json(name, require, base)`: a site's composer.json using only this repository.

Imports nothing of Triage's.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

ADVISORY_ID = "SA-CORE-2026-001"
AFFECTED = ">=10.1.0 <10.2.8 || >=10.3.0 <10.3.6"
ADVISORY: dict[str, Any] = {
    "advisoryId": ADVISORY_ID, "packageName": "drupal/core", "remoteId": ADVISORY_ID,
    "title": f"Drupal core - Critical - Access bypass - {ADVISORY_ID}",
    "link": "https://www.drupal.org/sa-core-2026-001", "cve": "CVE-2026-0001",
    "affectedVersions": AFFECTED, "reportedAt": "2026-11-25T17:00:00+00:00",
    "sources": [{"name": "drupal.org", "remoteId": ADVISORY_ID}],
    "composerRepository": "https://packages.drupal.org/8", "severity": "critical",
}  # fmt: skip
"""The stand-ins' advisory: the secure releases are 10.2.8 and 10.3.6; 10.1 has none."""
CORE = {"10.1.8": "^6.3", "10.2.7": "^6.3", "10.2.8": "^6.4.8", "10.3.1": "^6.4",
        "10.3.5": "^6.4", "10.3.6": "^6.4.8"}  # fmt: skip
"""drupal/core version = the symfony/http-foundation it requires."""
SYMFONY = ("6.3.12", "6.4.0", "6.4.8")
API = "/api/security-advisories/"
LEGACY_DROPPED = "10.3.6"
"""The drupal/core version without `Drupal::legacyRender()`."""


def _tar(files: Mapping[str, str]) -> bytes:
    """A reproducible .tar.gz with the files under package/ (Composer strips that level)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"package/{name}")
            info.size, info.mtime = len(data), 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def drupal_php(version: str) -> str:
    """The stand-in drupal/core's one class."""
    legacy = (
        "    public static function legacyRender(): string { return 'rendered'; }\n"
        if version != LEGACY_DROPPED
        else ""
    )
    return f"<?php\nfinal class Drupal\n{{\n    const VERSION = '{version}';\n{legacy}}}\n"


def composer_json(name: str, require: Mapping[str, str], base: str) -> str:
    """A site's composer.json that installs only from the repository at `base` (plain HTTP)."""
    data = {
        "name": name, "type": "project", "require": dict(require),
        "repositories": [{"type": "composer", "url": base}, {"packagist.org": False}],
        "config": {"secure-http": False, "sort-packages": True},
    }  # fmt: skip
    return json.dumps(data, indent=4) + "\n"


class ComposerRepository:
    """The stand-in packages' metadata and dists, with URLs under `base`."""

    def __init__(self, base: str, advisories: Mapping[str, list[dict[str, Any]]] | None = None):
        self.base = base.rstrip("/")
        self.advisories = dict(
            advisories if advisories is not None else {"drupal/core": [ADVISORY]}
        )
        self.dists: dict[str, bytes] = {}
        self.metadata: dict[str, list[dict[str, Any]]] = {}
        self.audits: list[list[str]] = []
        """The package names each `composer audit` (or update) asked the advisories API about."""
        self._lock = threading.Lock()
        for version, symfony in CORE.items():
            self._add("drupal/core", version, {"symfony/http-foundation": symfony},
                      {"Drupal.php": drupal_php(version)}, {"files": ["Drupal.php"]})  # fmt: skip
        for version in SYMFONY:
            self._add("symfony/http-foundation", version, {}, {"VERSION": version + "\n"}, {})

    def _add(self, name: str, version: str, require: dict[str, str], files: dict[str, str],
             autoload: dict[str, Any]) -> None:  # fmt: skip
        data = _tar(files)
        path = f"/dists/{name.replace('/', '-')}-{version}.tar.gz"
        self.dists[path] = data
        dist = {"type": "tar", "url": self.base + path, "shasum": hashlib.sha1(data).hexdigest()}
        self.metadata.setdefault(name, []).append(
            {
                "name": name,
                "version": version,
                "type": "library",
                "dist": dist,
                "require": require,
                "autoload": autoload,
                "extra": {"drupal": {"version": version}},
            }  # fmt: skip
        )

    def root(self) -> dict[str, Any]:
        """/packages.json."""
        return {
            "packages": [],
            "metadata-url": "/p2/%package%.json",
            "available-packages": sorted(self.metadata),
            "security-advisories": {"api-url": self.base + API},
        }

    def answer(self, method: str, path: str, body: bytes) -> tuple[int, bytes]:
        """The status and body for a request."""
        url = urlparse(path)
        if url.path == API:
            if method == "POST":
                asked = [v[0] for k, v in parse_qs(body.decode()).items() if k.startswith("pack")]
                with self._lock:
                    self.audits.append(sorted(asked))
            else:
                asked = sorted(self.advisories)
            found = {name: self.advisories.get(name, []) for name in asked}
            return 200, json.dumps({"advisories": found}).encode()
        if url.path == "/packages.json":
            return 200, json.dumps(self.root()).encode()
        name = url.path.removeprefix("/p2/").removesuffix(".json")
        if url.path.startswith("/p2/") and name in self.metadata:
            return 200, json.dumps({"packages": {name: self.metadata[name]}}).encode()
        if url.path in self.dists:
            return 200, self.dists[url.path]
        return 404, b"{}"


@contextlib.contextmanager
def serve(
    host: str, port: int = 0, advisories: Mapping[str, list[dict[str, Any]]] | None = None
) -> Iterator[ComposerRepository]:
    """A repository served on `host` (and its advisories API) until the block ends."""
    holder: list[ComposerRepository] = []

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status, data = holder[0].answer(method, self.path, self.rfile.read(length))
            self.send_response(status)
            kind = "application/gzip" if self.path.endswith(".gz") else "application/json"
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self._reply("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._reply("POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass  # a demo's terminal shows the board, not an access log

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    holder.append(ComposerRepository(f"http://{host}:{server.server_address[1]}", advisories))
    thread = threading.Thread(target=server.serve_forever, name="composer-repo", daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
