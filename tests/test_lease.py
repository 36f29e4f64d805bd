"""The extract lease (chalicelib.lease) on both lakes: one holder at a time, overtaken only
once expired, and then by one overtaker only."""

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from chalicelib.lake import S3Lake
from chalicelib.lease import LEASE, LOCAL_SPAN, MARGIN, Lease, LeaseHeldError

NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def lambda_left(seconds: float):
    return lambda: seconds


class OneWriteAtATime:
    """The S3 lake, its writes made one at a time. S3 checks a conditional PUT's condition and
    writes in one step; moto checks it, then writes, so two threads racing through moto
    could both pass the check (never in S3). Reads stay concurrent."""

    def __init__(self, lake):
        self._lake = lake
        self._writing = threading.Lock()

    def __getattr__(self, name: str):
        return getattr(self._lake, name)

    def put(self, *args, **kwargs):
        with self._writing:
            return self._lake.put(*args, **kwargs)


def test_a_second_extract_finds_the_lease_held_and_is_told_by_which_run(either_lake):
    Lease.take(either_lake, "run-a", NOON, lambda_left(900))
    with pytest.raises(LeaseHeldError) as held:
        Lease.take(either_lake, "run-b", NOON + timedelta(minutes=10), lambda_left(900))
    assert held.value.holder.run_id == "run-a"
    assert "run-a" in str(held.value) and "2026-11-20T12:16:00Z" in str(held.value)


def test_a_released_lease_is_taken_by_the_next_extract(either_lake):
    Lease.take(either_lake, "run-a", NOON, lambda_left(900)).release()
    Lease.take(either_lake, "run-b", NOON + timedelta(seconds=1), lambda_left(900))
    assert orjson.loads(either_lake.get(LEASE))["run_id"] == "run-b"


def test_the_lease_lasts_past_the_functions_deadline_or_the_local_span(either_lake):
    Lease.take(either_lake, "run-a", NOON, lambda_left(300)).release()
    Lease.take(either_lake, "run-b", NOON, lambda: math.inf)
    expires = datetime.fromisoformat(orjson.loads(either_lake.get(LEASE))["expires_at"])
    assert expires == NOON + LOCAL_SPAN + MARGIN
    with pytest.raises(LeaseHeldError):
        Lease.take(either_lake, "run-c", expires - timedelta(seconds=1), lambda_left(900))


def test_a_crashed_holder_is_overtaken_once_its_lease_expired(either_lake):
    Lease.take(either_lake, "crashed", NOON, lambda_left(900))  # never released
    Lease.take(either_lake, "next", NOON + timedelta(seconds=961), lambda_left(900))
    assert orjson.loads(either_lake.get(LEASE))["run_id"] == "next"


def test_a_holder_overtaken_after_expiry_does_not_release_its_overtakers_lease(either_lake):
    late = Lease.take(either_lake, "late", NOON, lambda_left(60))
    Lease.take(either_lake, "next", NOON + timedelta(minutes=5), lambda_left(900))
    late.release()
    assert orjson.loads(either_lake.get(LEASE))["run_id"] == "next"


@pytest.mark.parametrize("expired", [False, True], ids=["new", "expired"])
def test_of_eight_extracts_taking_the_lease_at_once_exactly_one_wins(either_lake, expired):
    if expired:
        Lease.take(either_lake, "crashed", NOON - timedelta(hours=2), lambda_left(900))
    barrier = threading.Barrier(8)
    lake = OneWriteAtATime(either_lake) if isinstance(either_lake, S3Lake) else either_lake

    def take(number: int) -> str:
        barrier.wait(timeout=30)
        try:
            Lease.take(lake, f"run-{number}", NOON, lambda_left(900))
        except LeaseHeldError as held:
            return f"skipped for {held.holder.run_id}"
        return "took it"

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(take, range(8)))
    winner = orjson.loads(either_lake.get(LEASE))["run_id"]
    assert outcomes.count("took it") == 1
    assert outcomes.count(f"skipped for {winner}") == 7
