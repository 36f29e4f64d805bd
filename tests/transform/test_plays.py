"""plays: partitioned by the UTC date of played_at, unique by played_at over the whole table."""

from __future__ import annotations

from datetime import datetime

from chalicelib import raw
from chalicelib.transform import transform_run

from .conftest import DAY, NEXT_DAY, fixed_now, play, read_table, rows, track

R1 = "20261126T100000Z-aaaaaa"
R2 = "20261126T103000Z-bbbbbb"
NEXT_MORNING = "20261127T003000Z-cccccc"


def plays_run(new_run, run_id, *plays):
    return new_run(run_id, kind=raw.PLAYS_ONLY).plays(*plays).finish()


def played(lake, day=DAY):
    return [(p["played_at"], p["track_id"]) for p in rows(lake, "plays", day)]


def test_overlapping_runs_keep_each_play_once_in_order(lake, new_run):
    first = plays_run(
        new_run, R1, play(track("t2"), f"{DAY}T09:40:00Z"), play(track("t1"), f"{DAY}T09:30:00Z")
    )
    second = plays_run(
        new_run, R2, play(track("t3"), f"{DAY}T10:20:00Z"), play(track("t2"), f"{DAY}T09:40:00Z")
    )
    transform_run(lake, first, now=fixed_now)
    transform_run(lake, second, now=fixed_now)
    assert played(lake) == [
        (datetime(2026, 11, 26, 9, 30), "t1"),
        (datetime(2026, 11, 26, 9, 40), "t2"),
        (datetime(2026, 11, 26, 10, 20), "t3"),
    ]


def test_a_play_fetched_the_next_day_lands_in_its_own_date_once(lake, new_run):
    late_night = play(track("t1"), f"{DAY}T23:55:00Z")
    transform_run(lake, plays_run(new_run, R1, late_night), now=fixed_now)
    next_run = plays_run(
        new_run, NEXT_MORNING, late_night, play(track("t2"), f"{NEXT_DAY}T00:10:00Z")
    )
    transform_run(lake, next_run, now=fixed_now)
    assert played(lake) == [(datetime(2026, 11, 26, 23, 55), "t1")]
    assert played(lake, NEXT_DAY) == [(datetime(2026, 11, 27, 0, 10), "t2")]


def test_played_date_is_the_utc_date_of_a_play_with_an_offset(lake, new_run):
    key = plays_run(new_run, R1, play(track("t1"), "2026-11-25T22:30:00-02:00"))
    transform_run(lake, key, now=fixed_now)
    assert played(lake) == [(datetime(2026, 11, 26, 0, 30), "t1")]
    assert read_table(lake, "plays", "2026-11-25").num_rows == 0


def test_plays_sharing_a_played_at_keep_one_row_whatever_the_run_order(lake, new_run):
    a = plays_run(new_run, R1, play(track("tb"), f"{DAY}T09:00:00Z"))
    b = plays_run(new_run, R2, play(track("ta"), f"{DAY}T09:00:00Z"))
    transform_run(lake, b, now=fixed_now)
    transform_run(lake, a, now=fixed_now)
    first = lake.get("processed/plays/played_month=2026-11/data.parquet")
    assert played(lake) == [(datetime(2026, 11, 26, 9, 0), "ta")]
    transform_run(lake, b, now=fixed_now)
    assert lake.get("processed/plays/played_month=2026-11/data.parquet") == first


def test_a_play_keeps_its_context(lake, new_run):
    key = plays_run(
        new_run,
        R1,
        play(track("t1"), f"{DAY}T09:00:00Z", context_uri=None),
        play(track("t2"), f"{DAY}T09:05:00Z"),
    )
    transform_run(lake, key, now=fixed_now)
    contexts = [(p["context_type"], p["context_uri"]) for p in rows(lake, "plays")]
    assert contexts == [(None, None), ("playlist", "spotify:playlist:pl1")]


def test_plays_tracks_join_the_catalog_of_the_day_they_were_fetched(lake, new_run):
    late_night = play(track("t1"), f"{DAY}T23:55:00Z")
    transform_run(lake, plays_run(new_run, NEXT_MORNING, late_night), now=fixed_now)
    assert [t["track_id"] for t in rows(lake, "tracks", NEXT_DAY)] == ["t1"]
