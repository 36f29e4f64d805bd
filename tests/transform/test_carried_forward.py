"""Parts an extract carries forward: a run may list raw objects of an earlier run (pages of
unchanged playlists, cached catalog answers) and overlapping pages of saved tracks; each
answer counts once, and raw/ is only ever read."""

from __future__ import annotations

from datetime import datetime

from chalicelib import raw
from chalicelib.lake import LocalLake
from chalicelib.runs import RunStore
from chalicelib.transform import transform_all, transform_run
from tests.lake_tables import day_tables

from .conftest import (
    entry,
    fixed_now,
    full_album,
    playlist,
    processed_files,
    raw_files,
    rows,
    start_run,
    track,
)

YESTERDAY = "20261125T031500Z-aaaaaa"
TODAY = "20261126T031500Z-bbbbbb"


def carried(new_run, earlier, names: list[str]):
    """Today's run listing the given parts of the earlier run, as they were listed there."""
    today = new_run(TODAY).playlists(playlist("pl1", total=2))
    wanted = {earlier.folder + name + ".json.gz" for name in names}
    today.manifest.parts += [p for p in earlier.manifest.parts if p.key in wanted]
    return today


def test_a_part_in_an_earlier_runs_folder_is_read_like_any_other(lake, new_run):
    earlier = new_run(YESTERDAY).playlists(playlist("pl1", total=2))
    earlier.items("pl1", entry(track("t1")), entry(track("t2"))).one(raw.ALBUMS, full_album("al1"))
    earlier.finish()
    key = carried(new_run, earlier, ["playlist_items/pl1/page-00000", "albums/al1"]).finish()
    before = raw_files(lake)
    summary = transform_run(lake, key, now=fixed_now)
    assert summary["status"] == "transformed"
    assert [(i["item_id"], i["position"]) for i in rows(lake, "playlist_items")] == [
        ("t1", 0),
        ("t2", 1),
    ]
    assert [(a["album_id"], a["label"]) for a in rows(lake, "albums")] == [("al1", "Mute")]
    assert raw_files(lake) == before
    assert not list(lake.list("quarantine/"))


def test_the_earlier_run_keeps_its_own_tables_when_a_later_one_reads_its_parts(lake, new_run):
    earlier = new_run(YESTERDAY).playlists(playlist("pl1", total=1))
    earlier_key = earlier.items("pl1", entry(track("t1"))).finish()
    transform_run(lake, earlier_key, now=fixed_now)
    yesterday = day_tables(lake, "2026-11-25")
    today = carried(new_run, earlier, ["playlist_items/pl1/page-00000"]).finish()
    transform_run(lake, today, now=fixed_now)
    assert day_tables(lake, "2026-11-25") == yesterday
    assert [i["item_id"] for i in rows(lake, "playlist_items")] == ["t1"]


def test_a_missing_carried_part_quarantines_only_the_run_that_lists_it(lake, new_run):
    earlier = new_run(YESTERDAY).playlists(playlist("pl1", total=1))
    earlier_key = earlier.items("pl1", entry(track("t1"))).finish()
    today = new_run(TODAY).playlists(playlist("pl1", total=1))
    gone = earlier.folder + "playlist_items/pl1/page-00050.json.gz"
    today.manifest.parts.append(raw.Part(gone, raw.PLAYLIST_ITEMS, playlist_id="pl1", offset=50))
    summary = transform_run(lake, today.finish(), now=fixed_now)
    assert summary["status"] == "failed"
    assert summary["errors"] == [
        f"{gone}: missing: the manifest names it but the lake does not hold it"
    ]
    assert transform_run(lake, earlier_key, now=fixed_now)["status"] == "transformed"


def test_a_malformed_carried_part_is_quarantined_and_left_in_place(lake, new_run):
    earlier = new_run(YESTERDAY).playlists(playlist("pl1", total=1))
    bad = earlier.raw_part("albums/al1", raw.ALBUMS, b"{not json")
    earlier.finish()
    today = new_run(TODAY)
    today.manifest.parts.append(raw.Part(bad, raw.ALBUMS))
    summary = transform_run(lake, today.finish(), now=fixed_now)
    assert summary["status"] == "failed"
    assert lake.get(bad) == b"{not json"
    assert lake.get(f"quarantine/{TODAY}/{bad}") == b"{not json"


def saved(track_id: str, added_at: str) -> dict:
    return {"added_at": added_at, "track": track(track_id)}


def test_overlapping_saved_pages_hold_each_track_once_with_its_newest_added_at(lake, new_run):
    run = new_run(TODAY)
    run.saved(saved("t9", "2026-11-26T01:00:00Z"), saved("t1", "2026-11-25T10:00:00Z"))
    # Yesterday's pages carried forward: their offsets overlap today's first page.
    run.saved(saved("t1", "2026-11-20T10:00:00Z"), saved("t2", "2026-11-24T10:00:00Z"), offset=1)
    run.saved(saved("t2", "2026-11-24T10:00:00Z"), saved("t3", "2026-11-01T10:00:00Z"), offset=2)
    summary = transform_run(lake, run.finish(), now=fixed_now)
    assert [(s["track_id"], s["added_at"]) for s in rows(lake, "saved_tracks")] == [
        ("t1", datetime(2026, 11, 25, 10)),
        ("t2", datetime(2026, 11, 24, 10)),
        ("t3", datetime(2026, 11, 1, 10)),
        ("t9", datetime(2026, 11, 26, 1)),
    ]
    assert summary["rows"]["saved_tracks"] == 4


def test_overlapping_saved_pages_give_the_same_table_in_any_page_order(tmp_path):
    pages = [
        [saved("t1", "2026-11-25T10:00:00Z"), saved("t2", "2026-11-24T10:00:00Z")],
        [saved("t2", "2026-11-24T10:00:00Z"), saved("t1", "2026-11-20T10:00:00Z")],
        [{"added_at": None, "track": track("t1")}],
    ]
    results = []
    for name, order in (("a", pages), ("b", pages[::-1])):
        lake = LocalLake(tmp_path / name)
        run = start_run(lake, TODAY)
        for offset, page in enumerate(order):
            run.saved(*page, offset=offset)
        transform_run(lake, run.finish(), now=fixed_now)
        results.append(lake.get("processed/saved_tracks/snapshot_month=2026-11/data.parquet"))
    assert results[0] == results[1]


def test_a_part_listed_twice_counts_once(lake, new_run):
    run = new_run(TODAY).playlists(playlist("pl1", total=3))
    run.items("pl1", entry(track("t1")), entry(None), entry(track("t1")))
    run.top(raw.TOP_TRACKS, "short_term", track("t1"), track("t2"))
    run.manifest.parts += [p for p in run.manifest.parts if p.stream != raw.ME]
    summary = transform_run(lake, run.finish(), now=fixed_now)
    assert [(i["item_id"], i["position"]) for i in rows(lake, "playlist_items")] == [
        ("t1", 0),
        ("t1", 2),
    ]
    assert [(t["rank"], t["item_id"]) for t in rows(lake, "top_items")] == [(1, "t1"), (2, "t2")]
    assert summary["null_entries"] == 1
    assert RunStore(lake).get(TODAY).transform["null_entries"] == 1
    assert summary["rows"]["playlists"] == 1


def test_a_backfill_reads_carried_parts_like_the_run_did(lake, new_run):
    earlier = new_run(YESTERDAY).playlists(playlist("pl1", total=1))
    earlier_key = earlier.items("pl1", entry(track("t1"))).finish()
    key = carried(new_run, earlier, ["playlist_items/pl1/page-00000"]).finish()
    for run_key in (key, earlier_key):
        transform_run(lake, run_key, now=fixed_now)
    by_run = processed_files(lake)
    transform_all(lake, now=fixed_now)
    assert processed_files(lake) == by_run
