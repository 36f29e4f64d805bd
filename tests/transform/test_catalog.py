"""tracks, track_artists, albums, artists: every object the day's runs reference, one row each."""

from __future__ import annotations

import io

import pyarrow.parquet as pq
import pytest

from chalicelib import raw
from chalicelib.transform import transform_run
from chalicelib.transform.digest import day_state_keys

from .conftest import (
    DAY,
    album,
    artist,
    entry,
    fixed_now,
    full_album,
    full_artist,
    play,
    playlist,
    rows,
    track,
)

R1 = "20261126T100000Z-aaaaaa"
R2 = "20261126T120000Z-bbbbbb"
PLAYS_RUN = "20261126T130000Z-cccccc"


@pytest.mark.parametrize(
    ("release_date", "precision", "year"),
    [
        ("1981", "year", 1981),
        ("1981-12", "month", 1981),
        ("1981-12-29", "day", 1981),
        ("0000", "year", None),
        ("", "day", None),
        ("unknown", "day", None),
        (None, None, None),
    ],
)
def test_release_year_comes_from_a_release_date_of_any_precision(
    lake, new_run, release_date, precision, year
):
    song = track("t1", album=album("al1", release_date, precision))
    transform_run(lake, new_run(R1).one(raw.TRACKS, song).finish(), now=fixed_now)
    albums = rows(lake, "albums")
    assert [
        (a["release_date"], a["release_date_precision"], a["release_year"]) for a in albums
    ] == [(release_date, precision, year)]


def test_a_track_row_holds_its_fields(lake, new_run):
    transform_run(lake, new_run(R1).one(raw.TRACKS, track("t1")).finish(), now=fixed_now)
    assert rows(lake, "tracks") == [
        {
            "track_id": "t1",
            "name": "Track t1",
            "album_id": "al1",
            "duration_ms": 215000,
            "explicit": False,
            "disc_number": 1,
            "track_number": 3,
            "isrc": "GBT1",
            "popularity": 55,
            "played": False,
        }
    ]


def test_track_artists_keep_their_order(lake, new_run):
    song = track("t1", artists=("ar2", "ar1", "ar3"))
    transform_run(lake, new_run(R1).one(raw.TRACKS, song).finish(), now=fixed_now)
    assert [(a["artist_id"], a["artist_position"]) for a in rows(lake, "track_artists")] == [
        ("ar2", 0),
        ("ar1", 1),
        ("ar3", 2),
    ]


def test_deprecated_fields_missing_from_the_answers_are_nulls(lake, new_run):
    song = track("t1")
    for name in ("popularity", "external_ids", "available_markets", "linked_from"):
        song.pop(name, None)
    bare_artist = artist("ar9", "Plain")
    bare_album = {k: v for k, v in full_album("al1").items() if k not in ("label", "popularity")}
    key = (
        new_run(R1)
        .one(raw.TRACKS, song)
        .one(raw.ALBUMS, bare_album)
        .one(raw.ARTISTS, bare_artist)
        .finish()
    )
    transform_run(lake, key, now=fixed_now)
    assert (rows(lake, "tracks")[0]["popularity"], rows(lake, "tracks")[0]["isrc"]) == (None, None)
    assert (rows(lake, "albums")[0]["label"], rows(lake, "albums")[0]["popularity"]) == (None, None)
    ar9 = next(a for a in rows(lake, "artists") if a["artist_id"] == "ar9")
    assert ar9 == {
        "artist_id": "ar9",
        "name": "Plain",
        "genres": None,
        "followers": None,
        "popularity": None,
        "image_url": None,
        "played": False,
    }


def test_a_full_artist_beats_the_simplified_one_in_a_track(lake, new_run):
    key = new_run(R1).one(raw.TRACKS, track("t1")).one(raw.ARTISTS, full_artist("ar1")).finish()
    transform_run(lake, key, now=fixed_now)
    assert rows(lake, "artists") == [
        {
            "artist_id": "ar1",
            "name": "Artist ar1",
            "genres": ["synthpop"],
            "followers": 1200,
            "popularity": 61,
            "image_url": "https://i.scdn.co/image/ar1",
            "played": False,
        }
    ]


def test_a_top_artist_is_a_full_artist(lake, new_run):
    key = new_run(R1).top(raw.TOP_ARTISTS, "short_term", full_artist("ar5", genres=[])).finish()
    transform_run(lake, key, now=fixed_now)
    assert rows(lake, "artists")[0]["genres"] == []
    assert rows(lake, "artists")[0]["followers"] == 1200


def test_a_full_album_beats_the_simplified_one_whatever_the_run_order(lake, new_run):
    early = new_run(R1).one(raw.ALBUMS, full_album("al1")).finish()
    late = new_run(R2, kind=raw.PLAYS_ONLY).plays(play(track("t1"), f"{DAY}T11:00:00Z")).finish()
    transform_run(lake, late, now=fixed_now)
    transform_run(lake, early, now=fixed_now)
    assert [(a["album_id"], a["label"]) for a in rows(lake, "albums")] == [("al1", "Mute")]


def test_the_catalog_holds_every_run_of_the_day_plays_runs_included(lake, new_run):
    snapshot = (
        new_run(R1)
        .playlists(playlist("pl1"))
        .items("pl1", entry(track("t1", album_id="al1")))
        .finish()
    )
    plays = new_run(PLAYS_RUN, kind=raw.PLAYS_ONLY).plays(
        play(track("t2", album_id="al2", artists=("ar2",)), f"{DAY}T12:30:00Z")
    )
    transform_run(lake, snapshot, now=fixed_now)
    transform_run(lake, plays.finish(), now=fixed_now)
    assert sorted(t["track_id"] for t in rows(lake, "tracks")) == ["t1", "t2"]
    assert sorted(a["album_id"] for a in rows(lake, "albums")) == ["al1", "al2"]
    assert sorted(a["artist_id"] for a in rows(lake, "artists")) == ["ar1", "ar2"]


def test_rows_a_play_references_are_played_and_come_first(lake, new_run):
    snapshot = (
        new_run(R1)
        .playlists(playlist("pl1"))
        .items("pl1", entry(track("t1")), entry(track("t3", album_id="al3", artists=("ar3",))))
        .finish()
    )
    played = track("t3", album=album("al2", artists=[artist("ar5")]), artists=("ar3", "ar4"))
    plays = new_run(PLAYS_RUN, kind=raw.PLAYS_ONLY).plays(play(played, f"{DAY}T12:30:00Z"))
    transform_run(lake, plays.finish(), now=fixed_now)
    transform_run(lake, snapshot, now=fixed_now)

    def flags(name: str, key: str) -> list[tuple[str, bool]]:
        return [(row[key], row["played"]) for row in rows(lake, name)]

    # The played track, its album and every artist of either, whichever run's row is kept.
    assert flags("tracks", "track_id") == [("t3", True), ("t1", False)]
    assert flags("track_artists", "artist_id") == [("ar3", True), ("ar4", True), ("ar1", False)]
    assert flags("albums", "album_id") == [("al2", True), ("al1", False), ("al3", False)]
    assert flags("artists", "artist_id") == [
        ("ar3", True),
        ("ar4", True),
        ("ar5", True),
        ("ar1", False),
    ]


def test_the_latest_run_wins_among_equally_complete_rows(lake, new_run):
    first = new_run(R1).one(raw.TRACKS, track("t1", popularity=10)).finish()
    second = new_run(R2).one(raw.TRACKS, track("t1", popularity=90, artists=("ar7",))).finish()
    for order in ((first, second), (second, first)):
        for key in order:
            transform_run(lake, key, now=fixed_now)
        assert [t["popularity"] for t in rows(lake, "tracks")] == [90]
        assert [a["artist_id"] for a in rows(lake, "track_artists")] == ["ar7"]


def test_a_run_whose_event_was_lost_is_digested_with_the_next(lake, new_run):
    new_run(R1).one(raw.TRACKS, track("t1")).finish()
    later = new_run(R2).one(raw.TRACKS, track("t2")).finish()
    transform_run(lake, later, now=fixed_now)
    assert [t["track_id"] for t in rows(lake, "tracks")] == ["t1", "t2"]
    assert lake.exists(f"state/digests/{DAY}/{R1}/tracks.parquet")


def test_what_the_kept_row_of_a_played_track_references_is_played_too(lake, new_run):
    """The play saw t1 credited to ar1 alone; a later snapshot run sees ar2 credited too and
    another album: its row is kept, and its album and artists are played on that day."""
    plays = new_run(PLAYS_RUN, kind=raw.PLAYS_ONLY).plays(play(track("t1"), f"{DAY}T12:00:00Z"))
    later = track("t1", album=album("al9", artists=[]), artists=("ar1", "ar2"))
    snapshot = new_run("20261126T150000Z-eeeeee").one(raw.TRACKS, later).finish()
    for key in (snapshot, plays.finish()):
        transform_run(lake, key, now=fixed_now)
    assert [(t["album_id"], t["played"]) for t in rows(lake, "tracks")] == [("al9", True)]
    assert [(a["artist_id"], a["played"]) for a in rows(lake, "track_artists")] == [
        ("ar1", True),
        ("ar2", True),
    ]
    assert {a["album_id"]: a["played"] for a in rows(lake, "albums")} == {"al1": True, "al9": True}
    assert {a["artist_id"]: a["played"] for a in rows(lake, "artists")} == {
        "ar1": True,
        "ar2": True,
    }


def test_a_digest_an_earlier_version_wrote_is_made_again_from_raw(lake, new_run):
    plays = new_run(PLAYS_RUN, kind=raw.PLAYS_ONLY).plays(play(track("t1"), f"{DAY}T12:00:00Z"))
    transform_run(lake, plays.finish(), now=fixed_now)
    key = f"state/digests/{DAY}/{PLAYS_RUN}/tracks.parquet"
    old = pq.read_table(io.BytesIO(lake.get(key))).drop_columns(["played"])
    sink = io.BytesIO()
    pq.write_table(old, sink)
    lake.put(key, sink.getvalue())
    for reduction in day_state_keys(DAY).values():  # which an earlier version did not keep
        (lake.root / reduction).unlink()
    transform_run(lake, new_run(R2).one(raw.TRACKS, track("t2")).finish(), now=fixed_now)
    assert [(t["track_id"], t["played"]) for t in rows(lake, "tracks")] == [
        ("t1", True),
        ("t2", False),
    ]
    assert "played" in pq.read_schema(io.BytesIO(lake.get(key))).names


def test_digests_are_kept_per_day_and_run(lake, new_run):
    transform_run(lake, new_run(R1).one(raw.TRACKS, track("t1")).finish(), now=fixed_now)
    assert sorted(lake.list("state/digests/")) == [
        f"state/digests/{DAY}/{R1}/{name}.parquet"
        for name in ("albums", "artists", "track_artists", "tracks")
    ]


def test_catalog_tables_of_other_days_are_left_alone(lake, new_run):
    transform_run(lake, new_run(R1).one(raw.TRACKS, track("t1")).finish(), now=fixed_now)
    next_day = new_run("20261127T100000Z-dddddd").one(raw.TRACKS, track("t2")).finish()
    transform_run(lake, next_day, now=fixed_now)
    assert [t["track_id"] for t in rows(lake, "tracks")] == ["t1"]
    assert [t["track_id"] for t in rows(lake, "tracks", "2026-11-27")] == ["t2"]


def test_a_simplified_track_counts_until_a_full_one_arrives(lake, new_run):
    simplified = {k: v for k, v in track("t1", popularity=None).items() if k != "album"}
    key = new_run(R1).items("pl1", entry(simplified)).playlists(playlist("pl1")).finish()
    transform_run(lake, key, now=fixed_now)
    assert rows(lake, "tracks")[0]["album_id"] is None
    full = new_run(PLAYS_RUN, kind=raw.PLAYS_ONLY).plays(play(track("t1"), f"{DAY}T12:00:00Z"))
    transform_run(lake, full.finish(), now=fixed_now)
    assert rows(lake, "tracks")[0]["album_id"] == "al1"
