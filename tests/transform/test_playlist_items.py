"""Playlist entries: every shape the API serves becomes one row, or is skipped and counted."""

from __future__ import annotations

import pytest

from chalicelib.runs import RunStore
from chalicelib.transform import transform_run

from .conftest import entry, episode, fixed_now, local_track, playlist, rows, track

RUN = "20261126T100000Z-aaaaaa"


def items_of(lake, new_run, *entries, offset=0):
    key = new_run(RUN).playlists(playlist("pl1")).items("pl1", *entries, offset=offset).finish()
    summary = transform_run(lake, key, now=fixed_now)
    return summary, rows(lake, "playlist_items")


@pytest.mark.parametrize("key", ["item", "track", "both"])
def test_an_entry_under_item_track_or_both_is_one_row(lake, new_run, key):
    _, items = items_of(lake, new_run, entry(track("t1"), key=key))
    assert [(i["item_type"], i["item_id"], i["position"]) for i in items] == [("track", "t1", 0)]


def test_an_entry_with_a_null_item_falls_back_to_its_track(lake, new_run):
    value = {**entry(track("t1"), key="track"), "item": None}
    _, items = items_of(lake, new_run, value)
    assert [i["item_id"] for i in items] == ["t1"]


def test_an_episode_is_an_episode_row_and_not_a_track(lake, new_run):
    _, items = items_of(lake, new_run, entry(episode("ep1")))
    assert [(i["item_type"], i["item_id"], i["item_uri"]) for i in items] == [
        ("episode", "ep1", "spotify:episode:ep1")
    ]
    assert rows(lake, "tracks") == []


def test_a_local_file_is_a_local_row_without_an_id(lake, new_run):
    _, items = items_of(lake, new_run, entry(local_track("My Demo")))
    assert [(i["item_type"], i["item_id"], i["item_name"]) for i in items] == [
        ("local", None, "My Demo")
    ]
    assert items[0]["item_uri"].startswith("spotify:local:")
    assert rows(lake, "tracks") == [] and rows(lake, "artists") == []


def test_a_track_without_an_id_has_no_id_and_no_uri(lake, new_run):
    unavailable = {**track("t1"), "id": None, "uri": "spotify:track:null"}  # as served
    local_as_was = {**local_track(), "uri": "spotify:track:null"}
    _, items = items_of(lake, new_run, entry(unavailable), entry(local_as_was))
    assert [(i["item_type"], i["item_id"], i["item_uri"]) for i in items] == [
        ("track", None, None),
        ("local", None, None),
    ]
    assert rows(lake, "tracks") == []


def test_a_local_file_known_only_by_its_uri_is_local(lake, new_run):
    local = {**local_track(), "is_local": None}
    _, items = items_of(lake, new_run, {**entry(local), "is_local": None})
    assert items[0]["item_type"] == "local"


def test_null_entries_are_skipped_counted_and_keep_their_positions(lake, new_run):
    null_entry = entry(None, key="both")
    summary, items = items_of(
        lake, new_run, entry(track("t1")), null_entry, None, entry(track("t2"))
    )
    assert [(i["item_id"], i["position"]) for i in items] == [("t1", 0), ("t2", 3)]
    assert summary["null_entries"] == 2


def test_null_entries_are_counted_in_the_run_record(lake, new_run):
    items_of(lake, new_run, entry(None))
    record = RunStore(lake).get(RUN)
    assert record.status == "transformed"
    assert record.transform["null_entries"] == 1


def test_missing_added_at_and_added_by_are_nulls(lake, new_run):
    _, items = items_of(lake, new_run, entry(track("t1"), added_at=None, added_by=None))
    assert (items[0]["added_at"], items[0]["added_by_id"]) == (None, None)


def test_the_same_track_twice_is_two_rows_at_their_positions(lake, new_run):
    _, items = items_of(lake, new_run, entry(track("t1")), entry(track("t2")), entry(track("t1")))
    assert [(i["item_id"], i["position"]) for i in items] == [("t1", 0), ("t2", 1), ("t1", 2)]
    assert [t["track_id"] for t in rows(lake, "tracks")] == ["t1", "t2"]


def test_positions_continue_from_the_page_offset(lake, new_run):
    key = (
        new_run(RUN)
        .playlists(playlist("pl1"))
        .items("pl1", *(entry(track(f"t{i}")) for i in range(50)))
        .items("pl1", entry(track("t50")), entry(track("t51")), offset=50)
        .finish()
    )
    transform_run(lake, key, now=fixed_now)
    items = rows(lake, "playlist_items")
    assert [i["position"] for i in items] == list(range(52))
    assert items[51]["item_id"] == "t51"


def test_names_keep_their_unicode(lake, new_run):
    name = "Björk – Jóga 🎧 東京"
    _, items = items_of(lake, new_run, entry(track("t1", name=name)))
    assert items[0]["item_name"] == name
    assert rows(lake, "tracks")[0]["name"] == name


def test_added_by_is_the_user_id(lake, new_run):
    _, items = items_of(lake, new_run, entry(track("t1"), added_by="friend"))
    assert items[0]["added_by_id"] == "friend"


def test_an_episode_served_in_a_tracks_shape_is_an_episode(lake, new_run):
    shaped = {**track("ep2", album_id="show1"), "type": "episode", "episode": True, "track": False}
    _, items = items_of(lake, new_run, entry(shaped))
    assert [(i["item_type"], i["item_id"]) for i in items] == [("episode", "ep2")]
    assert rows(lake, "tracks") == [] and rows(lake, "albums") == []


def test_an_entry_under_both_names_counts_its_catalog_once(lake, new_run):
    summary, _ = items_of(lake, new_run, entry(track("t1", artists=("ar1", "ar2")), key="both"))
    assert summary["rows"]["playlist_items"] == 1
    assert summary["rows"]["track_artists"] == 2
    assert [a["artist_id"] for a in rows(lake, "track_artists")] == ["ar1", "ar2"]


def test_an_entry_with_a_null_item_and_a_null_track_is_a_null_entry(lake, new_run):
    summary, items = items_of(lake, new_run, {"added_at": None, "item": None, "track": None})
    assert items == [] and summary["null_entries"] == 1
