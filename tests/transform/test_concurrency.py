"""Transforms running at once: every read-modify-write is conditional, so a race lost is a
race retried, and no play, catalog row or newer snapshot is ever dropped or doubled."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from moto import mock_aws

from chalicelib import raw
from chalicelib.errors import ConflictError
from chalicelib.lake import LocalLake, S3Lake
from chalicelib.transform import transform_all, transform_run
from chalicelib.transform.commit import ATTEMPTS, commit

from .conftest import DAY, entry, fixed_now, play, playlist, processed_files, rows, start_run, track

A = "20261126T100000Z-aaaaaa"
B = "20261126T100500Z-bbbbbb"
PLAYS = "processed/plays/played_date=2026-11-26/data.parquet"
TRACKS = "processed/tracks/snapshot_date=2026-11-26/data.parquet"


class Interleaved:
    """A real lake seen by one of several racing transforms.

    Its first write to `meet_at` waits at the barrier until every racer is about to write
    there, so all of them have read the same version and all but one must lose the race.
    `hidden` keys are left out of its first listing of their folder, as if they had not
    landed yet when it looked.
    """

    def __init__(self, lake, barrier: threading.Barrier, meet_at: str, hidden: tuple = ()):
        self._lake = lake
        self._barrier = barrier
        self._meet_at = meet_at
        self._hidden = set(hidden)

    def put(self, key: str, data: bytes, **conditions) -> str:
        if key == self._meet_at and self._barrier is not None:
            self._barrier, barrier = None, self._barrier
            barrier.wait(timeout=30)
        return self._lake.put(key, data, **conditions)

    def list(self, prefix: str) -> Iterator[str]:
        keys = list(self._lake.list(prefix))
        if any(key in self._hidden for key in keys):
            keys = [key for key in keys if key not in self._hidden]
            self._hidden.clear()
        return iter(keys)

    def __getattr__(self, name: str):
        return getattr(self._lake, name)


def race(lake, keys: dict[str, str], meet_at: str, hidden: dict[str, tuple] | None = None):
    """Transform the runs at once, meeting before their first write to `meet_at`."""
    barrier = threading.Barrier(len(keys))
    lakes = {
        run_id: Interleaved(lake, barrier, meet_at, (hidden or {}).get(run_id, ()))
        for run_id in keys
    }
    with ThreadPoolExecutor(len(keys)) as pool:
        futures = {
            run_id: pool.submit(transform_run, lakes[run_id], key, now=fixed_now)
            for run_id, key in keys.items()
        }
        return {run_id: future.result(timeout=60) for run_id, future in futures.items()}


def plays_run(lake, run_id: str, *minutes: int) -> str:
    run = start_run(lake, run_id, kind=raw.PLAYS_ONLY)
    plays = (play(track(f"t{m}"), f"{DAY}T09:{m:02d}:00Z") for m in minutes)
    return run.plays(*plays).finish()


def played_minutes(lake) -> list[int]:
    return [p["played_at"].minute for p in rows(lake, "plays")]


def test_two_transforms_racing_on_a_plays_partition_lose_and_double_no_play(lake):
    keys = {A: plays_run(lake, A, 1, 2, 3), B: plays_run(lake, B, 3, 4, 5)}
    summaries = race(lake, keys, meet_at=PLAYS)
    assert {s["status"] for s in summaries.values()} == {"transformed"}
    assert played_minutes(lake) == [1, 2, 3, 4, 5]


def test_three_transforms_racing_keep_every_play_once(lake):
    keys = {
        run_id: plays_run(lake, run_id, *range(start, start + 10))
        for run_id, start in ((A, 0), (B, 5), ("20261126T101000Z-cccccc", 10))
    }
    race(lake, keys, meet_at=PLAYS)
    assert played_minutes(lake) == list(range(20))


def test_two_transforms_racing_on_the_catalog_keep_both_runs_tracks(lake):
    keys = {
        run_id: start_run(lake, run_id, kind=raw.PLAYS_ONLY).one(raw.TRACKS, track(song)).finish()
        for run_id, song in ((A, "t1"), (B, "t2"))
    }
    race(lake, keys, meet_at=TRACKS, hidden={A: (keys[B],)})
    assert [t["track_id"] for t in rows(lake, "tracks")] == ["t1", "t2"]


def snapshot_of(lake, run_id: str, song: str) -> str:
    run = start_run(lake, run_id).playlists(playlist("pl1", total=1))
    return run.items("pl1", entry(track(song))).finish()


@pytest.mark.parametrize("repeat", range(3))
def test_an_older_snapshot_racing_a_newer_one_never_replaces_it(lake, repeat):
    keys = {A: snapshot_of(lake, A, "t1"), B: snapshot_of(lake, B, "t2")}
    # A lists the day's runs before B's manifest lands: it believes it is the latest.
    summaries = race(lake, keys, meet_at=TRACKS, hidden={A: (keys[B],)})
    assert [i["item_id"] for i in rows(lake, "playlist_items")] == ["t2"]
    assert [t["track_id"] for t in rows(lake, "tracks")] == ["t1", "t2"]
    assert summaries[B]["snapshot"] == "applied"


def test_racing_transforms_leave_what_one_after_the_other_leave(tmp_path):
    results = []
    for name in ("raced", "serial"):
        lake = LocalLake(tmp_path / name)
        keys = {A: snapshot_of(lake, A, "t1"), B: plays_run(lake, B, 1, 2)}
        if name == "raced":
            race(lake, keys, meet_at=TRACKS)
        else:
            for key in keys.values():
                transform_run(lake, key, now=fixed_now)
        results.append(processed_files(lake))
    assert results[0] == results[1]


def test_a_partition_that_never_stops_changing_gives_up_with_a_conflict(lake):
    def build(current: dict[str, bytes | None]) -> dict[str, bytes]:
        lake.put("state/busy", b"%d" % len(calls))  # someone else writes first, every time
        calls.append(1)
        return {"state/busy": b"mine"}

    calls: list[int] = []
    with pytest.raises(ConflictError):
        commit(lake, ["state/busy"], build)
    assert len(calls) == ATTEMPTS


class OneRequestAtATime:
    """An S3 lake whose requests reach moto one at a time.

    moto's in-memory S3 is not thread-safe (a put closes the buffer a concurrent get is
    reading); real S3 is. The race itself is untouched: the racers still read the same
    version and then write, one after the other, through S3's conditional checks.
    """

    def __init__(self, lake: S3Lake):
        self._lake = lake
        self._lock = threading.Lock()

    def list(self, prefix: str) -> Iterator[str]:
        with self._lock:
            return iter(list(self._lake.list(prefix)))

    def __getattr__(self, name: str):
        method = getattr(self._lake, name)
        if not callable(method):
            return method

        def call(*args, **kwargs):
            with self._lock:
                return method(*args, **kwargs)

        return call


@pytest.fixture
def racing_s3_lake(aws_credentials) -> Iterator[OneRequestAtATime]:
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="lake-bucket")
        yield OneRequestAtATime(S3Lake(client, "lake-bucket", "lake/"))


def test_on_s3_racing_transforms_use_etags_and_keep_every_play(racing_s3_lake):
    keys = {A: plays_run(racing_s3_lake, A, 1, 2, 3), B: plays_run(racing_s3_lake, B, 3, 4)}
    race(racing_s3_lake, keys, meet_at=PLAYS)
    assert played_minutes(racing_s3_lake) == [1, 2, 3, 4]


def test_on_s3_a_replayed_run_gives_the_same_tables(racing_s3_lake):
    key = snapshot_of(racing_s3_lake, A, "t1")
    transform_run(racing_s3_lake, key, now=fixed_now)
    before = processed_files(racing_s3_lake)
    assert transform_run(racing_s3_lake, key, now=fixed_now)["snapshot"] == "applied"
    assert processed_files(racing_s3_lake) == before
    assert [i["item_id"] for i in rows(racing_s3_lake, "playlist_items")] == ["t1"]


def test_a_backfill_racing_a_newer_run_that_lands_meanwhile_keeps_the_newer_snapshot(lake):
    snapshot_of(lake, A, "t1")
    newer = snapshot_of(lake, B, "t2")
    barrier = threading.Barrier(2)
    backfill_lake = Interleaved(lake, barrier, TRACKS, hidden=(newer,))
    with ThreadPoolExecutor(2) as pool:
        backfill = pool.submit(transform_all, backfill_lake, now=fixed_now)
        live = pool.submit(transform_run, Interleaved(lake, barrier, TRACKS), newer, now=fixed_now)
        summaries = backfill.result(timeout=60)
        assert live.result(timeout=60)["snapshot"] == "applied"
    assert [(s["run_id"], s["snapshot"]) for s in summaries] == [(A, "superseded"), (B, "applied")]
    assert [i["item_id"] for i in rows(lake, "playlist_items")] == ["t2"]
    assert [t["track_id"] for t in rows(lake, "tracks")] == ["t1", "t2"]


def test_a_backfill_racing_a_plays_run_that_lands_meanwhile_keeps_its_plays(lake):
    plays_run(lake, A, 1, 2)
    newer = plays_run(lake, B, 2, 3)
    barrier = threading.Barrier(2)
    backfill_lake = Interleaved(lake, barrier, PLAYS, hidden=(newer,))
    with ThreadPoolExecutor(2) as pool:
        backfill = pool.submit(transform_all, backfill_lake, now=fixed_now)
        live = pool.submit(transform_run, Interleaved(lake, barrier, PLAYS), newer, now=fixed_now)
        assert [s["run_id"] for s in backfill.result(timeout=60)] == [A, B]
        live.result(timeout=60)
    assert played_minutes(lake) == [1, 2, 3]
