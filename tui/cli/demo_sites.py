"""`triage demo --sites N`: the demo's sites on real containers, for a rollout to watch.

Where a Docker engine answers (DOCKER_HOST, else /var/run/docker.sock), the demo builds the
sandbox images offline (the first time takes minutes), starts N sites
(triage.sandbox.demo_sites), reads their composer.lock files into the fleet and keeps their
advisory; `triage security rollout SA-CORE-2026-001` (or the security screen) then runs a
real rollout on them. Without an engine, one sentence says how to start one.

Imported by `triage demo` only when --sites is given: Docker stays out of `triage --help`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from triage.storage.errors import TriageError

if TYPE_CHECKING:
    import docker
    from sqlalchemy.engine import Engine

    from triage.sandbox.demo_sites import DemoSites

NO_ENGINE = (
    "no Docker engine answers (DOCKER_HOST, else /var/run/docker.sock), and --sites starts "
    "its sites on one: start it (as root: `systemctl start docker`, or `dockerd &`), or run "
    "`triage demo` without --sites"
)
PING_TIMEOUT_S = 10
DEFAULT_SOCKET = "/var/run/docker.sock"
CLIENT_TIMEOUT_S = 600
"""Image builds and Composer runs take longer than a ping."""
MAX_SITES = 12
"""As many sites as a laptop holds (three web containers each, one shared database)."""
SHOWN = ("Step ", "running ", "importing ", "building ", "triage/")
"""The build lines worth a newcomer's screen (the rest is apt's)."""


def say(line: str) -> None:
    """A progress line of the demo's sites."""
    print(f"demo sites: {line}", file=sys.stderr, flush=True)


def docker_engine(count: int | None = None) -> docker.DockerClient:
    """A client of the Docker engine `count` sites run on; TriageError saying how to start one."""
    import docker
    import docker.errors
    import requests

    if count is not None and not 1 <= count <= MAX_SITES:
        raise TriageError(f"--sites takes 1 to {MAX_SITES} sites, not {count}: pick one of those")
    host = os.environ.get("DOCKER_HOST", "") or f"unix://{DEFAULT_SOCKET}"
    # A unix socket is asked by hand first: the docker library leaves its socket open when
    # nothing listens there.
    if host.startswith("unix://") and not _socket_answers(host.removeprefix("unix://")):
        raise TriageError(NO_ENGINE)
    try:
        client = docker.from_env(timeout=CLIENT_TIMEOUT_S)
        client.ping()
    except (docker.errors.DockerException, requests.RequestException, OSError):
        raise TriageError(NO_ENGINE) from None
    return client


def _socket_answers(path: str) -> bool:
    """Whether an engine answers /_ping on the unix socket `path`."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(PING_TIMEOUT_S)
            probe.connect(path)
            probe.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            answer = probe.recv(64)
    except OSError:
        return False
    return answer.startswith(b"HTTP/1.") and b" 200 " in answer


def remove_leftovers(data_dir: Path) -> int:
    """What a killed demo of this data directory left on the engine, removed (--reset)."""
    from triage.sandbox.demo_sites import demo_id, remove_demo

    try:
        client = docker_engine()
    except TriageError:
        return 0  # no engine: nothing of ours can run on it
    with contextlib.closing(client):
        return remove_demo(client, demo_id(data_dir))


@contextlib.contextmanager
def running_sites(
    client: docker.DockerClient, data_dir: Path, count: int, engine: Engine
) -> Iterator[DemoSites]:
    """The images built, `count` sites up and read into the fleet; removed when the block ends."""
    from triage.core.security.demo import load_sites_fleet
    from triage.sandbox.composer_repo import ADVISORY_ID
    from triage.sandbox.demo_code import DemoSiteError
    from triage.sandbox.demo_sites import demo_id, demo_sites
    from triage.sandbox.images import ensure_images, images_current
    from triage.sandbox.rootfs import ImageBuildError, ImagesUnavailable

    try:
        if not images_current(client):
            say("building the sandbox images offline: the first time takes several minutes")

            def shown(line: str) -> None:
                if line.startswith(SHOWN):
                    say(line)

            ensure_images(client, shown)
        say(f"starting {count} sites (prod, dev and test each): a minute or two")
        with demo_sites(client, data_dir / "demo-sites", count, say, demo_id(data_dir)) as made:
            read, _ = load_sites_fleet(engine, data_dir, made.inventory, made.advisories)
            say(f"{read} sites ready; roll out {ADVISORY_ID} from the security screen, or "
                f"`triage security rollout {ADVISORY_ID}` in another terminal")  # fmt: skip
            yield made
    except (ImagesUnavailable, ImageBuildError, DemoSiteError) as error:
        raise TriageError(f"the demo's sites could not start: {error}") from None
