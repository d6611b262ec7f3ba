"""Snapshots of the SLA queue screen; the clock is frozen, so time left never drifts."""

from __future__ import annotations

from typing import Any

from triage.tui.app import TriageApp


def test_queue_80x24(snap_compare: Any, app: TriageApp) -> None:
    assert snap_compare(app, terminal_size=(80, 24), press=["Q"])


def test_queue_160x48(snap_compare: Any, app: TriageApp) -> None:
    assert snap_compare(app, terminal_size=(160, 48), press=["Q", "j", "j"])
