"""Each named query's exact results on DuckDB over the history in conftest.py."""

from __future__ import annotations

import io
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chalicelib.accounts import AccountLake, register
from chalicelib.errors import QueryError
from chalicelib.query.named import load_queries
from chalicelib.query.service import run_query
from chalicelib.schema import TABLES
from tests.query.conftest import LISTENER, artist, credit, over, play, track

FIRST_TWO_DAYS = {"start_date": "2026-01-01", "end_date": "2026-01-02"}


def rows(engine, name, **params):
    """The query's rows as dicts keyed by column name."""
    outcome = run_query(engine, name, params, page_size=1000)
    assert outcome["state"] == "SUCCEEDED"
    names = [column["name"] for column in outcome["columns"]]
    return [dict(zip(names, row, strict=True)) for row in outcome["rows"]]


@pytest.mark.usefixtures("history")
def test_top_tracks_counts_plays_within_the_dates_with_artists_in_credit_order(engine):
    assert rows(engine, "top_tracks", **FIRST_TWO_DAYS) == [
        {
            "rank": 1,
            "track_id": "t1",
            "track_name": "Song One",
            "artist_names": "Alpha, Beta",
            "plays": 3,
            "minutes": 9.0,
        },
        {
            "rank": 2,
            "track_id": "t2",
            "track_name": "Song Two",
            "artist_names": "Beta",
            "plays": 1,
            "minutes": 4.0,
        },
        {
            "rank": 3,
            "track_id": "t3",
            "track_name": "Song Three",
            "artist_names": "Gamma",
            "plays": 1,
            "minutes": 3.3,
        },
    ]


@pytest.mark.usefixtures("history")
def test_top_tracks_stops_at_the_limit(engine):
    top = rows(engine, "top_tracks", limit=1, **FIRST_TWO_DAYS)
    assert [(row["track_id"], row["plays"]) for row in top] == [("t1", 3)]


@pytest.mark.usefixtures("history")
def test_top_artists_counts_each_play_for_its_first_credited_artist_with_the_latest_name(engine):
    # t1 credits Alpha then Beta: its three plays are Alpha's, as an export would name them.
    assert rows(engine, "top_artists", **FIRST_TWO_DAYS) == [
        {"rank": 1, "artist_id": "a1", "artist_name": "Alpha", "plays": 3, "minutes": 9.0},
        {"rank": 2, "artist_id": "a2", "artist_name": "Beta", "plays": 1, "minutes": 4.0},
        {"rank": 3, "artist_id": "a3", "artist_name": "Gamma", "plays": 1, "minutes": 3.3},
    ]


@pytest.mark.usefixtures("history")
def test_top_artists_includes_the_last_day_of_the_range(engine):
    top = rows(engine, "top_artists", start_date="2026-01-05", end_date="2026-01-05", limit=5)
    assert [(row["artist_id"], row["plays"]) for row in top] == [("a2", 1)]


@pytest.mark.usefixtures("history")
def test_listening_by_hour_buckets_plays_by_iso_weekday_and_utc_hour(engine):
    buckets = rows(engine, "listening_by_hour", **FIRST_TWO_DAYS)
    assert [(row["weekday"], row["hour"], row["plays"]) for row in buckets] == [
        (4, 10, 1),
        (4, 23, 1),
        (5, 0, 1),
        (5, 9, 2),
    ]


@pytest.mark.usefixtures("history")
def test_listening_by_hour_ignores_the_machines_time_zone(engine, monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        buckets = rows(engine, "listening_by_hour", **FIRST_TWO_DAYS)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert (4, 23, 1) in [(row["weekday"], row["hour"], row["plays"]) for row in buckets]


@pytest.mark.usefixtures("history")
def test_playlist_changes_compares_the_first_and_last_snapshot_in_range_as_multisets(engine):
    assert rows(engine, "playlist_changes", **FIRST_TWO_DAYS) == [
        {
            "playlist_id": "p3",
            "playlist_name": "Blues",
            "first_snapshot_date": "2026-01-02",
            "last_snapshot_date": "2026-01-02",
            "first_stored_items": 2,
            "last_stored_items": 2,
            "added": 0,
            "removed": 0,
            "added_items": "",
            "removed_items": "",
        },
        {
            "playlist_id": "p1",
            "playlist_name": "Road Trip",
            "first_snapshot_date": "2026-01-01",
            "last_snapshot_date": "2026-01-02",
            "first_stored_items": 4,
            "last_stored_items": 4,
            "added": 2,
            "removed": 2,
            "added_items": "Song D; Song D",
            "removed_items": "Song C; Song B",
        },
    ]


@pytest.mark.usefixtures("history")
def test_playlist_changes_skips_the_snapshots_between_first_and_last(engine):
    changes = rows(engine, "playlist_changes", start_date="2025-12-31", end_date="2026-01-03")
    road_trip = next(row for row in changes if row["playlist_id"] == "p1")
    assert (road_trip["first_snapshot_date"], road_trip["last_snapshot_date"]) == (
        "2025-12-31",
        "2026-01-03",
    )
    assert (road_trip["added"], road_trip["removed"]) == (0, 0)


@pytest.mark.usefixtures("history")
def test_playlist_changes_leaves_out_playlists_whose_items_were_withheld(engine):
    changes = rows(engine, "playlist_changes", start_date="2025-01-01", end_date="2027-01-01")
    assert "p2" not in {row["playlist_id"] for row in changes}


@pytest.mark.parametrize("name", sorted(load_queries()))
def test_every_query_returns_no_rows_for_an_account_with_none_yet(engine, lake, name):
    register(lake, LISTENER, {})
    outcome = run_query(engine, name, {})
    assert outcome["state"] == "SUCCEEDED"
    assert outcome["rows"] == []
    assert outcome["next_token"] is None
    assert outcome["columns"]


@pytest.mark.usefixtures("plays")
def test_plays_without_a_catalogue_still_rank_without_names(engine):
    top = rows(engine, "top_tracks", **FIRST_TWO_DAYS)
    assert [(row["track_id"], row["track_name"], row["plays"]) for row in top] == [
        ("t1", None, 3),
        ("t2", None, 1),
        ("t3", None, 1),
    ]


@pytest.mark.usefixtures("history")
def test_a_play_is_named_from_the_day_it_was_fetched_before_or_after_the_range(engine, write_table):
    """A play at 00:00:10 fetched by a run that started the evening before is catalogued on
    that evening's date; a play fetched days late (a poller down, the first run's backfill)
    on the day it was fetched. A row no play references does not name a play."""
    write_table("plays", "2026-01-11", [play("2026-01-11 00:00:10", "t4")])
    write_table("plays", "2026-01-12", [play("2026-01-12 08:00", "t5")])
    write_table("tracks", "2026-01-10", [track("t4", "Early Bird", 60_000)])
    write_table("track_artists", "2026-01-10", [credit("t4", "a4", 0)])
    write_table("artists", "2026-01-10", [artist("a4", "Delta")])
    write_table("tracks", "2026-01-19", [track("t5", "Late Mail", 120_000)])
    write_table("track_artists", "2026-01-19", [credit("t5", "a5", 0)])
    write_table("artists", "2026-01-19", [artist("a5", "Echo")])
    write_table("tracks", "2026-01-20", [{**track("t5", "Not The Play's", 1), "played": False}])
    dates = {"start_date": "2026-01-11", "end_date": "2026-01-12"}
    top = rows(engine, "top_tracks", **dates)
    assert [(r["track_id"], r["track_name"], r["artist_names"], r["minutes"]) for r in top] == [
        ("t5", "Late Mail", "Echo", 2.0),  # one play each: the longer listened first
        ("t4", "Early Bird", "Delta", 1.0),
    ]
    artists = rows(engine, "top_artists", **dates)
    assert [(r["artist_id"], r["artist_name"], r["minutes"]) for r in artists] == [
        ("a5", "Echo", 2.0),
        ("a4", "Delta", 1.0),
    ]


def test_a_tie_in_plays_goes_to_the_longer_listened_and_an_unknown_length_comes_last(
    engine, write_table
):
    plays = [play(f"2026-01-11 0{hour}:00", track) for hour, track in enumerate("abcdd")]
    write_table("plays", "2026-01-11", plays)
    durations = {"a": 60_000, "b": 240_000, "c": None, "d": 30_000}
    write_table("tracks", "2026-01-11", [track(t, t.upper(), ms) for t, ms in durations.items()])
    write_table("track_artists", "2026-01-11", [credit(t, f"x{t}", 0) for t in durations])
    write_table("artists", "2026-01-11", [artist(f"x{t}", t.upper()) for t in durations])
    dates = {"start_date": "2026-01-11", "end_date": "2026-01-11"}
    top = rows(engine, "top_tracks", **dates)
    assert [(r["rank"], r["track_id"]) for r in top] == [(1, "d"), (2, "b"), (3, "a"), (4, "c")]
    artists = rows(engine, "top_artists", **dates)
    assert [r["artist_id"] for r in artists] == ["xd", "xb", "xa", "xc"]


@pytest.mark.usefixtures("history")
def test_columns_carry_athena_type_names(engine):
    outcome = run_query(engine, "top_tracks", FIRST_TWO_DAYS)
    assert outcome["columns"] == [
        {"name": "rank", "type": "bigint"},
        {"name": "track_id", "type": "varchar"},
        {"name": "track_name", "type": "varchar"},
        {"name": "artist_names", "type": "varchar"},
        {"name": "plays", "type": "bigint"},
        {"name": "minutes", "type": "double"},
    ]


@pytest.mark.parametrize("name", sorted(load_queries()))
def test_every_query_answers_in_types_athena_names_as_it_does(engine, write_table, name):
    write_table("plays", "2026-03-02", [play("2026-03-02T10:00:00+00:00", "t1")])
    outcome = run_query(engine, name, over(load_queries()[name], "2026-03-01", "2026-03-03"))
    athena = {"bigint", "integer", "varchar", "double", "boolean", "date", "timestamp"}
    assert {column["type"] for column in outcome["columns"]} <= athena, outcome["columns"]


def test_tables_an_earlier_version_wrote_fail_with_how_to_rebuild_them(engine, lake):
    """tracks written before the `played` column: every query reading them says to rebuild
    from raw/; one that does not read tracks still answers."""
    old = pa.table({"track_id": ["t1"], "name": ["Song One"]})
    sink = io.BytesIO()
    pq.write_table(old, sink)
    register(lake, LISTENER, {})
    AccountLake(lake, LISTENER).put(TABLES["tracks"].partition_key("2026-01-01"), sink.getvalue())
    assert run_query(engine, "listening_by_hour", FIRST_TWO_DAYS)["state"] == "SUCCEEDED"
    with pytest.raises(QueryError) as failure:
        run_query(engine, "top_tracks", {"start_date": "2026-01-01", "end_date": "2026-01-02"})
    message = str(failure.value)
    assert "processed/tracks/ holds files an earlier version wrote" in message
    assert message.endswith("rebuild the tables from raw/ with `spotify-etl transform --all`")
    assert "LINE 1" not in message
