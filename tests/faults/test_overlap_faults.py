"""Extracts that overlap (a schedule, a plays poll, POST /runs and the command line at once):
one extracts, the others are skipped and ask Spotify nothing."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from chalicelib.accounts import AccountLake, register
from chalicelib.lake import LocalLake
from chalicelib.lease import LEASE
from chalicelib.runs import RunStore
from chalicelib.spotify.state import BOOKMARKS, CATALOG
from chalicelib.transform import transform_run

from .conftest import ACCOUNT, FIGURE, extract, run, tables

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fault_case"), ACCOUNT]


class MeetingAtTheLease:
    """A racer's view of a real lake: its first write of the lease waits until every racer
    has read it, so all of them find it free and race for the one conditional write."""

    def __init__(self, lake: LocalLake, barrier: threading.Barrier):
        self._lake, self._barrier = lake, barrier

    def put(self, key: str, data: bytes, **conditions) -> str:
        if key == LEASE and self._barrier is not None:
            self._barrier, barrier = None, self._barrier
            barrier.wait(timeout=30)
        return self._lake.put(key, data, **conditions)

    def __getattr__(self, name: str):
        return getattr(self._lake, name)


def state_of(account_lake: LocalLake, run_id: str) -> dict[str, Any]:
    """The extract's state (bookmarks and catalog cache), the run's ID (in the raw keys they
    point at) as RUN."""
    keys = [*account_lake.list(BOOKMARKS), CATALOG]
    return {key: json.loads(account_lake.get(key).decode().replace(run_id, "RUN")) for key in keys}


def served(emulator) -> int:
    return sum(emulator.requests.values())


def test_two_extracts_started_at_once_extract_once_and_leave_one_runs_state(
    env, account_lake, clock, emulator, tmp_path, record_property
):
    alone = AccountLake(LocalLake(tmp_path / "alone"), account_lake.account)
    before = served(emulator)
    single = run({**env, "LAKE_URI": str(alone.base.root)}, alone, clock)
    register(account_lake.base, account_lake.account, {})  # the loser's record goes there
    single_requests = served(emulator) - before
    barrier = threading.Barrier(2)

    def racer(_: int):
        return extract(env, clock, lake=MeetingAtTheLease(account_lake.base, barrier))

    before = served(emulator)
    with ThreadPoolExecutor(2) as pool:
        records = list(pool.map(racer, range(2)))
    race_requests = served(emulator) - before
    record_property(f"{FIGURE}overlapping runs tried", 2)

    winner, loser = sorted(records, key=lambda record: record.status == "skipped")
    assert (winner.status, loser.status) == ("extracted", "skipped")
    assert loser.errors == [
        f"skipped: extract run {winner.run_id} holds the extract lease "
        f"(until {loser.errors[0].split('until ')[1].split(' ')[0]} at the latest); "
        "this run asked Spotify nothing"
    ]
    assert loser.counts == {"requests": 0} and loser.manifest is None
    assert RunStore(account_lake).get(loser.run_id).status == "skipped"
    assert not [key for key in account_lake.list("raw/") if loser.run_id in key]
    assert race_requests == single_requests
    assert winner.counts["requests"] == single.counts["requests"]
    assert state_of(account_lake, winner.run_id) == state_of(alone, single.run_id)

    transform_run(account_lake, winner.manifest, now=clock.now)
    assert tables(account_lake) == tables(alone)
    assert extract(env, clock).status == "extracted"  # the winner gave the lease back
