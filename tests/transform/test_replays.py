"""Re-running the transform on the same raw input gives the same tables, byte for byte:
duplicate S3 events, retries and replays add nothing."""

from __future__ import annotations

from chalicelib import raw
from chalicelib.transform import transform_all, transform_run

from .conftest import (
    DAY,
    entry,
    fixed_now,
    full_album,
    full_artist,
    play,
    playlist,
    processed_files,
    track,
)

SNAPSHOT = "20261126T080000Z-aaaaaa"
PLAYS = "20261126T090000Z-bbbbbb"


def day_of_runs(new_run):
    snapshot = (
        new_run(SNAPSHOT)
        .playlists(playlist("pl1"), playlist("pl2"))
        .items("pl1", entry(track("t1")), entry(None), entry(track("t2", artists=("ar1", "ar2"))))
        .withhold("pl2")
        .plays(play(track("t1"), f"{DAY}T07:00:00Z"))
        .top(raw.TOP_TRACKS, "short_term", track("t3"))
        .top(raw.TOP_ARTISTS, "short_term", full_artist("ar2"))
        .saved({"added_at": "2026-11-01T00:00:00Z", "track": track("t1")})
        .one(raw.ALBUMS, full_album("al1"))
        .finish()
    )
    plays = (
        new_run(PLAYS, kind=raw.PLAYS_ONLY)
        .plays(play(track("t4"), f"{DAY}T08:30:00Z"), play(track("t1"), f"{DAY}T07:00:00Z"))
        .finish()
    )
    return snapshot, plays


def test_the_same_manifest_twice_gives_byte_identical_tables(lake, new_run):
    snapshot, plays = day_of_runs(new_run)
    for key in (snapshot, plays):
        transform_run(lake, key, now=fixed_now)
    before = processed_files(lake)
    for key in (snapshot, plays, snapshot):
        transform_run(lake, key, now=fixed_now)
    assert processed_files(lake) == before


def test_the_same_manifest_twice_gives_the_same_summary_its_plays_known_the_second_time(
    lake, new_run
):
    snapshot, _ = day_of_runs(new_run)
    first = transform_run(lake, snapshot, now=fixed_now)
    second = transform_run(lake, snapshot, now=fixed_now)
    plays = first.pop("plays")["new"]
    assert plays > 0
    assert second.pop("plays") == {"new": 0, "merged": 0, "known": plays, "duplicates": 0}
    assert first == second


def test_transform_all_rebuilds_the_tables_the_runs_made(lake, new_run):
    keys = day_of_runs(new_run)
    next_day = new_run("20261127T010000Z-cccccc", kind=raw.PLAYS_ONLY).plays(
        play(track("t5"), f"{DAY}T23:59:59.999Z")
    )
    keys += (next_day.finish(),)
    for key in keys:
        transform_run(lake, key, now=fixed_now)
    by_run = processed_files(lake)
    for key in list(by_run):
        lake.put(key, b"stale")
    progress = []
    summaries = transform_all(lake, progress=lambda done, total: progress.append((done, total)))
    assert processed_files(lake) == by_run
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert [(s["run_id"], s["status"]) for s in summaries] == [
        (SNAPSHOT, "transformed"),
        (PLAYS, "transformed"),
        ("20261127T010000Z-cccccc", "transformed"),
    ]


def test_transform_all_quarantines_bad_runs_and_goes_on(lake, new_run):
    snapshot, _ = day_of_runs(new_run)
    bad = new_run("20261126T230000Z-dddddd")
    bad.raw_part("plays/page-0000", raw.PLAYS, b"not gzip, not json")
    bad_key = bad.finish()
    summaries = transform_all(lake)
    assert {s["run_id"]: s["status"] for s in summaries} == {
        SNAPSHOT: "transformed",
        PLAYS: "transformed",
        "20261126T230000Z-dddddd": "failed",
    }
    assert lake.exists(f"quarantine/20261126T230000Z-dddddd/{bad_key}")
    assert {s["run_id"]: s["snapshot"] for s in summaries}[SNAPSHOT] == "applied"


def test_transform_all_and_transform_run_agree_in_any_order(lake, new_run):
    snapshot, plays = day_of_runs(new_run)
    transform_run(lake, plays, now=fixed_now)
    transform_run(lake, snapshot, now=fixed_now)
    by_run = processed_files(lake)
    transform_all(lake, now=fixed_now)
    assert processed_files(lake) == by_run
