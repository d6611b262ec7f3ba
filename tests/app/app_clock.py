"""The frozen clock of the app's tests (a support module, not a test)."""

from __future__ import annotations

from datetime import UTC, datetime

FROZEN_NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
