"""The playlists table: metadata from /me/playlists pages or /playlists/{id} answers."""

from __future__ import annotations

import pytest

from chalicelib.transform import transform_run

from .conftest import entry, fixed_now, playlist, rows, track

RUN = "20261126T100000Z-aaaaaa"


@pytest.mark.parametrize(
    ("items_key", "expected"), [("items", 7), ("tracks", 7), ("both", 7), (None, None)]
)
def test_item_count_is_the_total_under_items_or_tracks_or_null(lake, new_run, items_key, expected):
    key = new_run(RUN).playlists(playlist("pl1", total=7, items_key=items_key)).finish()
    transform_run(lake, key, now=fixed_now)
    assert rows(lake, "playlists")[0]["item_count"] == expected


def test_item_count_includes_null_entries(lake, new_run):
    key = (
        new_run(RUN)
        .playlists(playlist("pl1", total=3))
        .items("pl1", entry(track("t1")), entry(None), entry(track("t2")))
        .finish()
    )
    transform_run(lake, key, now=fixed_now)
    assert rows(lake, "playlists")[0]["item_count"] == 3
    assert len(rows(lake, "playlist_items")) == 2


def test_a_playlist_row_carries_its_metadata(lake, new_run):
    key = new_run(RUN).playlists(playlist("pl1", description="Late <b>night</b>")).finish()
    transform_run(lake, key, now=fixed_now)
    assert rows(lake, "playlists") == [
        {
            "playlist_id": "pl1",
            "name": "Playlist pl1",
            "description": "Late <b>night</b>",
            "owner_id": "owner",
            "owner_name": "The Owner",
            "public": True,
            "collaborative": False,
            "snapshot_id": "snap-pl1",
            "item_count": 2,
            "items_extracted": True,
        }
    ]


def test_a_withheld_playlist_has_items_extracted_false(lake, new_run):
    followed = playlist("pl2", owner={"id": "someone", "display_name": None})
    key = new_run(RUN).playlists(playlist("pl1"), followed).withhold("pl2").finish()
    transform_run(lake, key, now=fixed_now)
    extracted = {p["playlist_id"]: p["items_extracted"] for p in rows(lake, "playlists")}
    assert extracted == {"pl1": True, "pl2": False}


def test_a_playlist_object_fetched_by_id_gives_the_row(lake, new_run):
    full = {**playlist("pl1", total=None, items_key=None), "items": {"items": [], "total": 4}}
    key = new_run(RUN).playlist_object(full).finish()
    transform_run(lake, key, now=fixed_now)
    assert [(p["playlist_id"], p["item_count"]) for p in rows(lake, "playlists")] == [("pl1", 4)]


def test_missing_optional_fields_are_nulls(lake, new_run):
    bare = {"id": "pl1", "name": "Bare", "type": "playlist"}
    key = new_run(RUN).playlists(bare, None).finish()
    transform_run(lake, key, now=fixed_now)
    row = rows(lake, "playlists")[0]
    assert row["owner_id"] is None and row["public"] is None and row["item_count"] is None
