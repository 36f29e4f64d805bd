"""What the Parquet files hold: explicit schemas, UTC millisecond timestamps, zstd, one per
partition, the partition column in the folder name only; DuckDB reads them as Athena would."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chalicelib import raw
from chalicelib.schema import TABLES, arrow_schema
from chalicelib.transform import transform_run

from .conftest import (
    DAY,
    entry,
    fixed_now,
    full_artist,
    play,
    playlist,
    read_table,
    track,
)

RUN = "20261126T100000Z-aaaaaa"


@pytest.fixture
def full_run(lake, new_run):
    key = (
        new_run(RUN)
        .playlists(playlist("pl1"))
        .items("pl1", entry(track("t1")), entry(track("t2")))
        .plays(play(track("t1"), f"{DAY}T09:00:00.123Z"))
        .top(raw.TOP_TRACKS, "short_term", track("t2"))
        .top(raw.TOP_ARTISTS, "short_term", full_artist("ar1"))
        .saved({"added_at": "2026-10-01T08:00:00Z", "track": track("t1")})
        .finish()
    )
    return transform_run(lake, key, now=fixed_now)


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-11-26T10:00:00Z", datetime(2026, 11, 26, 10, 0)),
        ("2026-11-26T10:00:00.123Z", datetime(2026, 11, 26, 10, 0, 0, 123000)),
        ("2026-11-26T12:00:00+02:00", datetime(2026, 11, 26, 10, 0)),
        ("2026-11-26T05:30:00.5-04:30", datetime(2026, 11, 26, 10, 0, 0, 500000)),
        ("2026-11-26T10:00:00", datetime(2026, 11, 26, 10, 0)),
    ],
)
def test_timestamps_in_any_iso_form_are_stored_as_utc(lake, new_run, stamp, expected):
    key = new_run(RUN).items("pl1", entry(track("t1"), added_at=stamp)).finish()
    transform_run(lake, key, now=fixed_now)
    table = read_table(lake, "playlist_items")
    assert table.schema.field("added_at").type == pa.timestamp("ms")
    assert table.column("added_at")[0].as_py() == expected


def test_every_table_is_written_with_its_explicit_schema(lake, full_run):
    for name, table in TABLES.items():
        value = DAY
        stored = read_table(lake, name, value)
        assert stored.schema.equals(arrow_schema(table)), name
        assert table.partition not in stored.schema.names


def test_timestamps_are_milliseconds_never_nanoseconds(lake, full_run):
    for name in ("playlist_items", "plays", "saved_tracks"):
        stamps = [f.type for f in read_table(lake, name).schema if pa.types.is_timestamp(f.type)]
        assert stamps and {stamp.unit for stamp in stamps} == {"ms"}, name


def test_partitions_are_one_zstd_file_each(lake, full_run):
    keys = list(lake.list("processed/"))
    assert sorted(keys) == sorted(TABLES[name].partition_key(DAY) for name in TABLES)
    for key in keys:
        metadata = pq.ParquetFile(lake.root / key).metadata
        assert metadata.row_group(0).column(0).compression == "ZSTD"


def test_duckdb_reads_the_partitions_with_their_dates(lake, full_run):
    path = lake.root / "processed" / "plays" / "*" / "data.parquet"
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    row = con.execute(
        f"SELECT played_at, played_date, track_id, context_uri "
        f"FROM read_parquet('{path}', hive_partitioning = true, hive_types_autocast = false)"
    ).fetchone()
    assert row == (datetime(2026, 11, 26, 9, 0, 0, 123000), DAY, "t1", "spotify:playlist:pl1")


def test_the_summary_counts_the_rows_of_each_table(full_run):
    assert full_run["status"] == "transformed"
    assert full_run["snapshot"] == "applied"
    assert full_run["rows"] == {
        "playlists": 1,
        "playlist_items": 2,
        "tracks": 2,
        "track_artists": 2,
        "albums": 1,
        "artists": 1,
        "plays": 1,
        "top_items": 2,
        "saved_tracks": 1,
    }


def test_top_items_rank_from_one_after_the_page_offset(lake, new_run):
    key = (
        new_run(RUN)
        .top(raw.TOP_TRACKS, "long_term", track("t1"), track("t2"))
        .top(raw.TOP_TRACKS, "long_term", track("t3"), offset=50)
        .top(raw.TOP_ARTISTS, "long_term", full_artist("ar1"))
        .finish()
    )
    transform_run(lake, key, now=fixed_now)
    top = read_table(lake, "top_items").to_pylist()
    assert [(t["item_type"], t["time_range"], t["rank"], t["item_id"]) for t in top] == [
        ("artist", "long_term", 1, "ar1"),
        ("track", "long_term", 1, "t1"),
        ("track", "long_term", 2, "t2"),
        ("track", "long_term", 51, "t3"),
    ]


def test_saved_tracks_keep_when_they_were_saved(lake, full_run):
    saved = read_table(lake, "saved_tracks").to_pylist()
    assert saved == [{"track_id": "t1", "added_at": datetime(2026, 10, 1, 8, 0)}]
    assert saved[0]["added_at"].replace(tzinfo=UTC).isoformat() == "2026-10-01T08:00:00+00:00"


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2026-11-26T09:00:00.123456Z", datetime(2026, 11, 26, 9, 0, 0, 123000)),
        ("2026-11-26T09:00:00.999999Z", datetime(2026, 11, 26, 9, 0, 0, 999000)),
        ("1969-12-31T23:59:59.9995Z", datetime(1969, 12, 31, 23, 59, 59, 999000)),
    ],
)
def test_microseconds_in_the_answers_are_cut_to_milliseconds(lake, new_run, stamp, expected):
    key = new_run(RUN).saved({"added_at": stamp, "track": track("t1")}).finish()
    transform_run(lake, key, now=fixed_now)
    assert read_table(lake, "saved_tracks").column("added_at")[0].as_py() == expected


def test_unicode_survives_in_every_text_column(lake, new_run):
    text = "Sigur Rós – 坂本龍一 فيروز 🎧 \u200d"
    song = track("t1", name=text)
    song["album"]["name"] = text
    song["artists"][0]["name"] = text
    key = (
        new_run(RUN)
        .playlists(playlist("pl1", name=text, description=text))
        .items("pl1", entry(song))
        .one(raw.ARTISTS, full_artist("ar1", name=text, genres=[text]))
        .finish()
    )
    transform_run(lake, key, now=fixed_now)
    assert read_table(lake, "playlists").column("name")[0].as_py() == text
    assert read_table(lake, "playlists").column("description")[0].as_py() == text
    assert read_table(lake, "playlist_items").column("item_name")[0].as_py() == text
    assert read_table(lake, "tracks").column("name")[0].as_py() == text
    assert read_table(lake, "albums").column("name")[0].as_py() == text
    artist_row = read_table(lake, "artists").to_pylist()[0]
    assert (artist_row["name"], artist_row["genres"]) == (text, [text])


def test_catalog_statistics_let_a_plays_query_skip_the_rows_no_play_references(lake, full_run):
    """Played rows (t1, from the plays page) form their own row group; min/max statistics
    on `played` tell Athena and DuckDB which group a `WHERE played` filter can skip."""
    for name in ("tracks", "track_artists"):
        metadata = pq.ParquetFile(lake.root / TABLES[name].partition_key(DAY)).metadata
        column = TABLES[name].column_names.index("played")
        groups = [metadata.row_group(index) for index in range(metadata.num_row_groups)]
        stats = [(g.column(column).statistics.min, g.column(column).statistics.max) for g in groups]
        assert stats == [(True, True), (False, False)], name
        assert [g.num_rows for g in groups] == [1, 1], name
    assert [row["track_id"] for row in read_table(lake, "tracks").to_pylist()] == ["t1", "t2"]
    for name in ("albums", "artists"):  # only the played track's album and artist
        assert {row["played"] for row in read_table(lake, name).to_pylist()} == {True}, name
