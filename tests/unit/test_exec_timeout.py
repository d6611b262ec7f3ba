"""A command's time limit in a container, without an engine: the line, the error, the read.

The engine is a stand-in here: a socket pair carries the exec's framed output, so the
bounded read is a real socket read. tests/integration/test_exec_timeout_docker.py runs the same on
a real engine, where `timeout` really stops the command.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import pytest
from docker.models.containers import Container

from triage.core.jobs.reporting import ListReporter
from triage.core.sites import exec_limit
from triage.core.sites.containers import CommandFailed, CommandTimedOut, exec_in
from triage.core.sites.exec_limit import limited, stopped

COMPOSER = ["composer", "update", "drupal/core", "--with-dependencies"]


@dataclass
class FakeApi:
    """The few exec calls `exec_in` makes, answered from a socket pair and a fixed exit code."""

    sock: socket.socket
    code: int = 0
    created: list[list[str]] = field(default_factory=list)

    def exec_create(self, _container: str, cmd: list[str], **_options: Any) -> dict[str, str]:
        self.created.append(cmd)
        return {"Id": "exec-1"}

    def exec_start(self, _exec_id: str, socket: bool) -> socket.socket:
        assert socket
        return self.sock

    def exec_inspect(self, _exec_id: str) -> dict[str, Any]:
        return {"Running": False, "ExitCode": self.code}


def _container(api: FakeApi | None = None) -> Container:
    client = SimpleNamespace(api=api)
    return cast(Container, SimpleNamespace(name="acme-dev-web", id="c1", client=client))


def _frame(stream: int, data: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


@pytest.fixture
def engine_side() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, theirs = socket.socketpair()
    try:
        yield ours, theirs
    finally:
        ours.close()
        theirs.close()


def test_a_limited_command_runs_under_coreutils_timeout() -> None:
    assert limited(COMPOSER, 900) == ["timeout", "--kill-after=10", "900", *COMPOSER]
    assert limited(COMPOSER, 2.5)[:3] == ["timeout", "--kill-after=10", "2.5"]
    assert limited(COMPOSER, None) == COMPOSER


def test_a_dry_run_shows_the_limit() -> None:
    dry = ListReporter(dry_run=True)
    assert exec_in(_container(), COMPOSER, dry, workdir="/var/www/site", timeout=900) == ""
    assert dry.lines == [
        "docker exec -w /var/www/site acme-dev-web timeout --kill-after=10 900 composer update "
        "drupal/core --with-dependencies"
    ]


def test_the_error_is_one_sentence_naming_command_container_and_limit() -> None:
    error = CommandTimedOut(_container(), COMPOSER, 900, 124, ["Loading composer repositories"])
    assert isinstance(error, CommandFailed)
    assert str(error) == (
        "`composer update drupal/core --with-dependencies` in acme-dev-web did not finish "
        "within 900 s: check what it waits for (a network, a lock) or allow it more time"
    )
    assert error.reason.endswith("within 900 s")
    assert (error.limit, error.exit_code) == (900, 124)
    assert error.tail == ["Loading composer repositories"]


def test_only_the_codes_of_timeout_after_the_limit_count_as_stopped() -> None:
    assert stopped(124, 901.0, 900) and stopped(137, 910.0, 900)
    assert not stopped(124, 3.0, 900)  # the command's own 124, before its limit
    assert not stopped(137, 3.0, 900)  # killed by something else (the OOM killer, say)
    assert not stopped(1, 901.0, 900)


def test_a_command_under_its_limit_returns_its_output(
    engine_side: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = engine_side
    theirs.sendall(_frame(1, b"one\ntw") + _frame(2, b"warning\n") + _frame(1, b"o\n"))
    theirs.close()
    api = FakeApi(ours)
    reporter = ListReporter()
    assert exec_in(_container(api), ["sh", "-c", "x"], reporter, timeout=30) == "one\ntwo"
    assert api.created == [["timeout", "--kill-after=10", "30", "sh", "-c", "x"]]
    assert sorted(reporter.lines) == ["one", "two", "warning"]


def test_an_own_exit_124_before_the_limit_is_a_plain_failure(
    engine_side: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = engine_side
    theirs.sendall(_frame(2, b"gave up\n"))
    theirs.close()
    with pytest.raises(CommandFailed) as failed:
        exec_in(_container(FakeApi(ours, code=124)), ["false"], ListReporter(), timeout=900)
    assert not isinstance(failed.value, CommandTimedOut)
    assert "exit code 124 (gave up)" in str(failed.value)


def test_an_engine_that_goes_silent_does_not_hold_the_caller(
    engine_side: tuple[socket.socket, socket.socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    ours, theirs = engine_side
    theirs.sendall(_frame(1, b"Loading composer repositories\n"))  # then nothing, never closed
    monkeypatch.setattr(exec_limit, "KILL_AFTER", 0)  # the read's bound is then the limit
    with pytest.raises(CommandTimedOut) as stopped_at:
        exec_in(_container(FakeApi(ours)), COMPOSER, ListReporter(), timeout=0.3)
    assert stopped_at.value.exit_code == -1
    assert stopped_at.value.tail == ["Loading composer repositories"]
    said = str(stopped_at.value)
    assert "did not finish within 0.3 s (its engine sent nothing for 0.3 s)" in said
