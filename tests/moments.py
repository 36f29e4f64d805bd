"""The simulated moment the clocked tests start at: a daily snapshot's time, 03:15 UTC."""

from datetime import UTC, datetime

START = datetime(2026, 11, 20, 3, 15, tzinfo=UTC)
