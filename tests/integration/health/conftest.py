"""Fixtures of the integration tests: real HTTP and TLS servers on loopback for health checks."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme

Behaviour = Callable[[int], tuple[int, str, float]]
"""Request number → (status, body, seconds to wait before answering)."""


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        server = self.server
        assert isinstance(server, SiteServer)
        with server.lock:
            server.hits += 1
            number = server.hits
        status, body, delay = server.behaviour(number)
        if delay:
            server.stopping.wait(delay)
        data = body.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass

    def log_message(self, format: str, *args: object) -> None:
        return


class SiteServer(ThreadingHTTPServer):
    """A website on loopback whose answers the test chooses, request by request."""

    daemon_threads = True

    def __init__(self, behaviour: Behaviour, context: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour
        self.hits = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.scheme = "http"
        if context is not None:
            self.socket = context.wrap_socket(self.socket, server_side=True)
            self.scheme = "https"

    @property
    def url(self) -> str:
        host = "localhost" if self.scheme == "https" else "127.0.0.1"
        return f"{self.scheme}://{host}:{self.server_address[1]}"


@pytest.fixture
def site_server() -> Iterator[Callable[..., SiteServer]]:
    """Start loopback sites: `site_server(behaviour, tls_days=None)`; all stopped after."""
    started: list[SiteServer] = []

    def start(behaviour: Behaviour, context: ssl.SSLContext | None = None) -> SiteServer:
        server = SiteServer(behaviour, context)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stopping.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def tls_ca(tmp_path: Path) -> tuple[trustme.CA, Path]:
    """A throwaway CA and its PEM file, for the checks to trust."""
    ca = trustme.CA()
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, path


def server_context(ca: trustme.CA, days_left: float) -> ssl.SSLContext:
    """A server TLS context for localhost with a certificate ending in `days_left` days."""
    now = datetime.now(UTC)
    cert = ca.issue_cert(
        "localhost",
        not_before=now - timedelta(days=80),
        not_after=now + timedelta(days=days_left),
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return context


@pytest.fixture
def tls_context() -> Callable[[trustme.CA, float], ssl.SSLContext]:
    """Make a server context: `tls_context(ca, days_left)`."""
    return server_context
