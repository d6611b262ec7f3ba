"""How a long operation reports: named steps, log lines, cancellation, and dry runs.

Site operations (branch, clone, deploy) take a `Reporter`; the job runner gives them one
that records every step and line in the job's record, the tests give them `ListReporter`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from triage.core.redact import mask
from triage.storage.errors import TriageError


class Cancelled(TriageError):
    """The user cancelled the job; it stopped between two steps."""


class Reporter(Protocol):
    """What an operation tells the world while it runs."""

    dry_run: bool
    """When True, print every command instead of running it."""

    def step(self, name: str) -> AbstractContextManager[None]:
        """A named step: started on entry, finished (ok or failed) on exit, with its time."""
        ...

    def log(self, line: str) -> None:
        """One line of output."""
        ...

    def check_cancelled(self) -> None:
        """Raise Cancelled if the user asked the job to stop."""
        ...


@dataclass
class StepRecord:
    """A step as `ListReporter` saw it."""

    name: str
    seconds: float = 0.0
    ok: bool = True


@dataclass
class ListReporter:
    """A reporter that keeps everything in memory: for tests and the command line."""

    dry_run: bool = False
    echo: bool = False
    steps: list[StepRecord] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    cancelled: bool = False

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time the step and note whether it failed."""
        record = StepRecord(mask(name))
        self.steps.append(record)
        if self.echo:
            print(f"==> {record.name}", flush=True)
        started = time.perf_counter()
        try:
            yield
        except BaseException:
            record.ok = False
            raise
        finally:
            record.seconds = time.perf_counter() - started

    def log(self, line: str) -> None:
        """Keep the line (and print it when echoing), credentials masked."""
        line = mask(line)
        self.lines.append(line)
        if self.echo:
            print(f"    {line}", flush=True)

    def check_cancelled(self) -> None:
        """Raise Cancelled once `cancelled` is set."""
        if self.cancelled:
            raise Cancelled("the job was cancelled")
