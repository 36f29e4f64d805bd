"""What the tests' stand-ins share: the simulated moment the clocked tests start at (a daily
snapshot's time, 03:15 UTC), and moto's region, bucket and lake prefix."""

from datetime import UTC, datetime

START = datetime(2026, 11, 20, 3, 15, tzinfo=UTC)
REGION = "us-east-1"
BUCKET = "spotify-etl-test-lake"
PREFIX = "lake/"
