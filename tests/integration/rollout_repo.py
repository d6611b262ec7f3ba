"""A Composer repository and an advisories feed served by the test (a support module).

`ComposerRepository` holds small stand-in packages: `drupal/core` in the versions of
`CORE` and its dependency `symfony/http-foundation`. Each drupal/core version ships a
`Drupal.php` whose `Drupal::VERSION` the sites' tests read; before 10.3.6 it also has
`Drupal::legacyRender()`, which 10.3.6 dropped (the site whose tests call it breaks). The
secure releases (10.2.8, 10.3.6) need symfony/http-foundation ^6.4.8, so a site locked at an
older symfony only reaches them with `--with-dependencies`.

`serve(host)` answers, on `host` (a Docker network's gateway, or 127.0.0.1):

- Composer's v2 repository: /packages.json (with `metadata-url`, `available-packages` and the
  `security-advisories` API), /p2/<vendor>/<name>.json and the tar dists;
- the advisories API: POST (what `composer audit` asks) and GET with `updatedSince` (the
  Packagist shape Triage polls), both with ADVISORY for drupal/core.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

ADVISORY_ID = "SA-CORE-2026-001"
CVE = "CVE-2026-0001"
AFFECTED = ">=10.1.0 <10.2.8 || >=10.3.0 <10.3.6"
ADVISORY: dict[str, Any] = {
    "advisoryId": ADVISORY_ID, "packageName": "drupal/core", "remoteId": ADVISORY_ID,
    "title": f"Drupal core - Critical - Access bypass - {ADVISORY_ID}",
    "link": "https://www.drupal.org/sa-core-2026-001", "cve": CVE,
    "affectedVersions": AFFECTED, "reportedAt": "2026-11-25T17:00:00+00:00",
    "sources": [{"name": "drupal.org", "remoteId": ADVISORY_ID}],
    "composerRepository": "https://packages.drupal.org/8", "severity": "critical",
}  # fmt: skip
CORE = {"10.1.8": "^6.3", "10.2.7": "^6.3", "10.2.8": "^6.4.8", "10.3.1": "^6.4",
        "10.3.5": "^6.4", "10.3.6": "^6.4.8"}  # fmt: skip
"""drupal/core version = the symfony/http-foundation it requires."""
SYMFONY = ("6.3.12", "6.4.0", "6.4.8")
API = "/api/security-advisories/"


def _tar(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"package/{name}")
            info.size, info.mtime = len(data), 1_700_000_000
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _drupal_php(version: str) -> str:
    legacy = (
        "    public static function legacyRender(): string { return 'rendered'; }\n"
        if version != "10.3.6"
        else ""
    )
    return f"<?php\nfinal class Drupal\n{{\n    const VERSION = '{version}';\n{legacy}}}\n"


@dataclass
class ComposerRepository:
    """The packages' metadata and dists, with URLs under `base`."""

    base: str
    dists: dict[str, bytes] = field(default_factory=dict)
    metadata: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    audits: list[list[str]] = field(default_factory=list)
    """The package names each `composer audit` (or update) asked the advisories API about."""

    def __post_init__(self) -> None:
        for version, symfony in CORE.items():
            self._add("drupal/core", version, {"symfony/http-foundation": symfony},
                      {"Drupal.php": _drupal_php(version)}, {"files": ["Drupal.php"]})  # fmt: skip
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
                self.audits.append(sorted(asked))
            else:
                asked = ["drupal/core"]
            found = {name: [ADVISORY] if name == "drupal/core" else [] for name in asked}
            return 200, json.dumps({"advisories": found}).encode()
        if url.path == "/packages.json":
            return 200, json.dumps(self.root()).encode()
        name = url.path.removeprefix("/p2/").removesuffix(".json")
        if url.path.startswith("/p2/") and name in self.metadata:
            return 200, json.dumps({"packages": {name: self.metadata[name]}}).encode()
        if url.path in self.dists:
            return 200, self.dists[url.path]
        return 404, b"{}"


def composer_json(site: str, require: dict[str, str], repo: str) -> bytes:
    """A site's composer.json: only the repository at `repo`, never packagist.org."""
    data = {
        "name": f"acme/site-{site}", "type": "project", "require": require,
        "repositories": [{"type": "composer", "url": repo}, {"packagist.org": False}],
        "config": {"secure-http": False, "sort-packages": True},
    }  # fmt: skip
    return (json.dumps(data, indent=4) + "\n").encode()


@contextlib.contextmanager
def serve(host: str, port: int = 0) -> Iterator[ComposerRepository]:
    """The repository served on `host` (and the advisories API) until the block ends."""
    holder: list[ComposerRepository] = []

    class Handler(BaseHTTPRequestHandler):
        def _reply(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status, data = holder[0].answer(method, self.path, self.rfile.read(length))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self._reply("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._reply("POST")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    holder.append(ComposerRepository(f"http://{host}:{server.server_address[1]}"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
