"""A command's time limit on a real engine: coreutils `timeout` in the container ends it.

A container of the offline base image (Debian minbase, coreutils) from tests/dockerd.py's
engine runs `sleep infinity`; the commands run in it with `exec_in(..., timeout=...)`. What
counts is that the command ended: CommandTimedOut is raised and no process of it is left
in the container (its /proc). Each call is waited for with a generous bound, so a limit
that did not work fails the test instead of hanging it; nothing here times anything.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import docker
import pytest
import site_fixtures
from docker.models.containers import Container

from triage.core.jobs.reporting import ListReporter
from triage.core.sites.containers import CommandFailed, CommandTimedOut, exec_in
from triage.sandbox.images import BASE_IMAGE

# The first build of the images (debootstrap, then apt) takes minutes on a 2-core machine.
pytestmark = [pytest.mark.docker, pytest.mark.timeout(1200)]

docker_client = site_fixtures.docker_client
images = site_fixtures.images

BOUND = 90.0
"""Seconds any one call may take here before the test fails (limits of 1 s, KILL after 10)."""
PROCESSES = "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline 2>/dev/null; echo; done"
"""Prints each process's command line; a zombie's is empty."""


@pytest.fixture(scope="module")
def box(docker_client: docker.DockerClient, images: dict[str, str]) -> Iterator[Container]:
    """A base-image container that idles; removed by id at the end."""
    container = docker_client.containers.run(
        images[BASE_IMAGE], ["sleep", "infinity"], detach=True,
        name=f"triage-timeout-{uuid.uuid4().hex[:8]}",
    )  # fmt: skip
    try:
        yield container
    finally:
        container.remove(force=True)


def _bounded(call: Callable[[], str]) -> str:
    """`call()` on a thread, waited for at most BOUND seconds (TimeoutError past that)."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(call).result(timeout=BOUND)
    finally:
        pool.shutdown(wait=False)


def _running(box: Container) -> list[str]:
    result = box.exec_run(["sh", "-c", PROCESSES])
    assert result.exit_code == 0, result.output
    return [line.strip() for line in result.output.decode().splitlines() if line.strip()]


def _left(box: Container, needle: str) -> list[str]:
    """The processes whose command line starts with `needle`, once they had a bounded while
    to go (a killed process's teardown is not instant)."""
    deadline = time.monotonic() + 15
    while True:
        left = [line for line in _running(box) if line.startswith(needle)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def test_a_command_past_its_limit_is_stopped_in_the_container(box: Container) -> None:
    reporter = ListReporter()
    with pytest.raises(CommandTimedOut) as stopped:
        _bounded(lambda: exec_in(box, ["sleep", "30"], reporter, timeout=1))
    assert stopped.value.exit_code == 124  # ended on TERM
    assert str(stopped.value).startswith(f"`sleep 30` in {box.name} did not finish within 1 s: ")
    assert _left(box, "sleep 30") == []
    assert any(line.startswith("sleep infinity") for line in _running(box))  # the check sees


def test_a_command_that_ignores_term_is_killed_with_its_children(box: Container) -> None:
    script = "trap '' TERM; echo waiting; sleep 31; echo never"
    reporter = ListReporter()
    with pytest.raises(CommandTimedOut) as stopped:
        _bounded(lambda: exec_in(box, ["sh", "-c", script], reporter, timeout=1))
    assert stopped.value.exit_code == 137  # KILL, 10 s after the ignored TERM
    assert stopped.value.tail == ["waiting"] and reporter.lines == ["waiting"]
    assert _left(box, "sleep 31") == [] and _left(box, "sh -c trap") == []


def test_a_command_under_its_limit_runs_as_before(box: Container) -> None:
    reporter = ListReporter()
    script = "echo one; echo two >&2; echo three"
    out = _bounded(lambda: exec_in(box, ["sh", "-c", script], reporter, timeout=60))
    assert out.splitlines() == ["one", "three"]
    assert sorted(reporter.lines) == ["one", "three", "two"]
    with pytest.raises(CommandFailed) as failed:
        _bounded(lambda: exec_in(box, ["sh", "-c", "echo no; exit 3"], reporter, timeout=60))
    assert not isinstance(failed.value, CommandTimedOut)
    assert (failed.value.exit_code, failed.value.tail) == (3, ["no"])
