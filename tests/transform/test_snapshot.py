"""Each day's snapshot partitions hold the latest complete snapshot run of the day, whatever
order runs are transformed in; plays runs and partial runs never replace it."""

from __future__ import annotations

import pytest

from chalicelib import raw
from chalicelib.lake import LocalLake
from chalicelib.transform import transform_run

from .conftest import (
    DAY,
    entry,
    fixed_now,
    play,
    playlist,
    processed_files,
    rows,
    start_run,
    track,
)

EARLY = "20261126T080000Z-aaaaaa"
LATE = "20261126T200000Z-bbbbbb"
PLAYS_RUN = "20261126T210000Z-cccccc"


def snapshot_run(new_run, run_id, *tracks, **options):
    return (
        new_run(run_id, **options)
        .playlists(playlist("pl1", total=len(tracks)))
        .items("pl1", *(entry(track(t)) for t in tracks))
        .saved(*({"added_at": "2026-11-01T00:00:00Z", "track": track(t)} for t in tracks))
        .finish()
    )


def playlist_tracks(lake):
    return [i["item_id"] for i in rows(lake, "playlist_items")]


@pytest.mark.parametrize("order", [(EARLY, LATE), (LATE, EARLY)])
def test_two_runs_in_either_order_leave_the_later_snapshot(lake, new_run, order):
    keys = {EARLY: snapshot_run(new_run, EARLY, "t1"), LATE: snapshot_run(new_run, LATE, "t2")}
    summaries = {run_id: transform_run(lake, keys[run_id], now=fixed_now) for run_id in order}
    assert playlist_tracks(lake) == ["t2"]
    assert [s["track_id"] for s in rows(lake, "saved_tracks")] == ["t2"]
    assert summaries[LATE]["snapshot"] == "applied"
    assert summaries[EARLY]["snapshot"] == "superseded"


def test_a_run_applies_its_snapshot_until_a_later_one_lands(lake, new_run):
    early = snapshot_run(new_run, EARLY, "t1")
    assert transform_run(lake, early, now=fixed_now)["snapshot"] == "applied"
    assert playlist_tracks(lake) == ["t1"]
    transform_run(lake, snapshot_run(new_run, LATE, "t2"), now=fixed_now)
    assert playlist_tracks(lake) == ["t2"]


def test_both_orders_give_byte_identical_tables(tmp_path):
    results = []
    for name, order in (("a", (EARLY, LATE)), ("b", (LATE, EARLY))):
        lake = LocalLake(tmp_path / name)
        keys = {}
        for run_id, song in ((EARLY, "t1"), (LATE, "t2")):
            keys[run_id] = snapshot_run(lambda rid, lake=lake: start_run(lake, rid), run_id, song)
        for run_id in order:
            transform_run(lake, keys[run_id], now=fixed_now)
        results.append(processed_files(lake))
    assert results[0] == results[1]


def test_replaying_an_older_run_after_a_newer_one_keeps_the_newer_snapshot(lake, new_run):
    early = snapshot_run(new_run, EARLY, "t1")
    late = snapshot_run(new_run, LATE, "t2")
    transform_run(lake, early, now=fixed_now)
    transform_run(lake, late, now=fixed_now)
    summary = transform_run(lake, early, now=fixed_now)
    assert summary["snapshot"] == "superseded"
    assert playlist_tracks(lake) == ["t2"]


def test_a_plays_run_does_not_touch_the_snapshot(lake, new_run):
    transform_run(lake, snapshot_run(new_run, EARLY, "t1"), now=fixed_now)
    plays = new_run(PLAYS_RUN, kind=raw.PLAYS_ONLY).plays(play(track("t9"), f"{DAY}T20:59:00Z"))
    summary = transform_run(lake, plays.finish(), now=fixed_now)
    assert summary["snapshot"] == "none"
    assert playlist_tracks(lake) == ["t1"]


def test_a_partial_run_does_not_replace_the_snapshot(lake, new_run):
    transform_run(lake, snapshot_run(new_run, EARLY, "t1"), now=fixed_now)
    partial = snapshot_run(new_run, LATE, "t2", status=raw.MANIFEST_PARTIAL)
    summary = transform_run(lake, partial, now=fixed_now)
    assert summary["snapshot"] == "none"
    assert playlist_tracks(lake) == ["t1"]
    assert [t["track_id"] for t in rows(lake, "tracks")] == ["t1", "t2"]


def test_an_empty_snapshot_table_still_replaces_the_older_rows(lake, new_run):
    transform_run(lake, snapshot_run(new_run, EARLY, "t1"), now=fixed_now)
    transform_run(lake, snapshot_run(new_run, LATE), now=fixed_now)
    assert rows(lake, "saved_tracks") == []
    assert rows(lake, "playlist_items") == []
    assert rows(lake, "top_items") == []


def test_a_run_of_some_streams_replaces_only_their_tables(lake, new_run):
    transform_run(lake, snapshot_run(new_run, EARLY, "t1"), now=fixed_now)
    top_only = new_run(LATE).top(raw.TOP_TRACKS, "short_term", track("t5"))
    top_only.manifest.streams = ["top"]
    transform_run(lake, top_only.finish(), now=fixed_now)
    assert playlist_tracks(lake) == ["t1"]
    assert [t["item_id"] for t in rows(lake, "top_items")] == ["t5"]


def test_snapshots_of_other_days_are_left_alone(lake, new_run):
    transform_run(lake, snapshot_run(new_run, EARLY, "t1"), now=fixed_now)
    transform_run(lake, snapshot_run(new_run, "20261127T080000Z-dddddd", "t2"), now=fixed_now)
    assert playlist_tracks(lake) == ["t1"]
    assert [i["item_id"] for i in rows(lake, "playlist_items", "2026-11-27")] == ["t2"]
