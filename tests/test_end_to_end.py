"""The demo's path end to end, its tables checked against the emulator's own account model."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from chalicelib.accounts import AccountLake
from chalicelib.lake import LocalLake, get_json
from chalicelib.schema import TABLES, stored_schema
from emulator import Emulator
from spotify_etl.demo import run_demo

FIRST_DAY = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 2
SEED = 11
LAST_SNAPSHOT = FIRST_DAY + timedelta(days=DAYS - 1, hours=3, minutes=15)
LAST_RUN = FIRST_DAY + timedelta(days=DAYS - 1, hours=21)
KINDS = {"track": "track", "episode": "episode", "local": "local"}


@pytest.fixture(scope="module")
def end_to_end_lake(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo") / "lake"
    with pytest.MonkeyPatch.context() as patch:
        for name in (
            "LAKE_URI",
            "SPOTIFY_API_URL",
            "SPOTIFY_AUTH_URL",
            "SPOTIFY_CLIENT_ID",
            "SPOTIFY_CLIENT_SECRET",
            "SPOTIFY_REFRESH_TOKEN",
            "QUERY_ENGINE",
            "PLAYLISTS",
        ):
            patch.delenv(name, raising=False)
        assert run_demo(str(folder), days=DAYS, seed=SEED, first_day=FIRST_DAY) == 0
    twin = Emulator(seed=SEED, clock=lambda: FIRST_DAY.timestamp(), start=FIRST_DAY.timestamp())
    return AccountLake(LocalLake(folder), twin.users[0].user_id)


@pytest.fixture(scope="module")
def world():
    """A twin of the demo's emulator: same seed and start, so the same (first) account."""
    return Emulator(seed=SEED, clock=lambda: FIRST_DAY.timestamp(), start=FIRST_DAY.timestamp())


@pytest.fixture(scope="module")
def db(end_to_end_lake):
    """The first listener's tables, as DuckDB reads the files (each table's months)."""
    con = duckdb.connect()
    for table in TABLES.values():
        pattern = Path(end_to_end_lake.uri(table.prefix())) / "*" / "*.parquet"
        con.execute(
            f"CREATE VIEW {table.name} AS SELECT * FROM "
            f"read_parquet('{pattern}', hive_partitioning = true)"
        )
    return con


def rows(db, sql, *params):
    return db.execute(sql, list(params)).fetchall()


def last_day():
    return LAST_SNAPSHOT.date().isoformat()


@pytest.mark.parametrize("name", sorted(TABLES))
def test_every_table_is_written_with_its_exact_schema_in_monthly_partitions_of_its_dates(
    end_to_end_lake, name
):
    table = TABLES[name]
    keys = list(end_to_end_lake.list(table.prefix()))
    assert keys
    for key in keys:
        folder = key.split("/")[2]
        column, _, month = folder.partition("=")
        assert column == table.partition
        datetime.strptime(month, "%Y-%m")
        stored = pq.ParquetFile(end_to_end_lake.uri(key)).read()
        assert stored.schema.remove_metadata() == stored_schema(table)
        days = set(stored.column(table.date_column).to_pylist())
        assert {day[:7] for day in days} == {month}
        assert all(datetime.strptime(day, "%Y-%m-%d") for day in days)


def test_every_run_and_the_import_before_them_was_transformed(end_to_end_lake):
    records = [get_json(end_to_end_lake, key) for key in end_to_end_lake.list("runs/")]
    kinds = Counter(r["kind"] for r in records)
    assert kinds == {"snapshot": DAYS, "plays": DAYS * 3, "import": 1}
    assert {r["status"] for r in records} == {"transformed"}
    [imported] = [r for r in records if r["kind"] == "import"]
    assert imported["started_at"] < min(r["started_at"] for r in records if r is not imported)


def test_the_imported_year_comes_first_and_every_play_the_api_shared_with_it_is_one_row(db):
    first = rows(db, "SELECT min(played_at) FROM plays")[0][0]
    assert first.date() <= (FIRST_DAY - timedelta(days=365)).date()
    before = dict(
        rows(db, "SELECT source, count(*) FROM plays WHERE played_at < ? GROUP BY 1", FIRST_DAY)
    )
    assert set(before) == {"export", "api+export"} and before["api+export"] > 0
    after = rows(db, "SELECT DISTINCT source FROM plays WHERE played_at >= ?", FIRST_DAY)
    assert after == [("api",)]


def test_every_timestamp_of_the_demos_runs_is_on_its_simulated_clock(end_to_end_lake):
    first, last = FIRST_DAY.isoformat(), (LAST_RUN + timedelta(minutes=5)).isoformat()
    keys = list(end_to_end_lake.list("runs/"))
    assert keys
    for key in keys:
        record = get_json(end_to_end_lake, key)
        moments = [record["started_at"], record["finished_at"], record["transform"]["finished_at"]]
        assert all(first <= m.replace("Z", "+00:00") <= last for m in moments), moments
        assert (record["extract"], record["transform"]["status"]) == ("extracted", "transformed")


def test_playlists_match_the_account_with_items_withheld_where_the_api_withholds(db, world):
    account = world.world.account_at(LAST_SNAPSHOT.timestamp())
    got = {
        r[0]: r[1:]
        for r in rows(
            db,
            "SELECT playlist_id, name, owner_id, collaborative, item_count, items_extracted, "
            "snapshot_id FROM playlists WHERE snapshot_date = ?",
            last_day(),
        )
    }
    assert set(got) == {p.id for p in account.playlists}
    for playlist in account.playlists:
        name, owner, collaborative, count, extracted, snapshot = got[playlist.id]
        assert (name, owner, collaborative) == (
            playlist.name,
            playlist.owner.id,
            playlist.collaborative,
        )
        assert (count, extracted, snapshot) == (
            len(playlist.entries),
            playlist.readable,
            playlist.snapshot_id,
        )


def test_playlist_items_keep_positions_kinds_and_skip_null_entries(db, world):
    account = world.world.account_at(LAST_SNAPSHOT.timestamp())
    for playlist in (p for p in account.playlists if p.readable):
        got = rows(
            db,
            "SELECT position, item_type, item_id, item_uri, added_at FROM "
            "playlist_items WHERE snapshot_date = ? AND playlist_id = ? ORDER BY 1",
            last_day(),
            playlist.id,
        )
        expected = [(i, e) for i, e in enumerate(playlist.entries) if e.kind != "null"]
        assert [r[0] for r in got] == [i for i, _ in expected]
        assert [r[1] for r in got] == [KINDS[e.kind] for _, e in expected]
        for (_, kind, item_id, uri, added_at), (_, entry) in zip(got, expected, strict=True):
            if kind == "local":
                assert item_id is None and uri.startswith("spotify:local:")
            else:  # the track listed, also where Spotify serves a relinked copy
                assert (item_id, uri) == (entry.ref, f"spotify:{kind}:{entry.ref}")
            assert (added_at is None) == (entry.added_at is None)


def test_the_awkward_cases_of_a_real_account_all_reach_the_tables(db):
    kinds = dict(rows(db, "SELECT item_type, count(*) FROM playlist_items GROUP BY 1"))
    assert kinds.keys() == {"track", "episode", "local"}
    assert rows(db, "SELECT count(*) FROM playlist_items WHERE added_at IS NULL")[0][0] > 0
    twice = rows(
        db,
        "SELECT count(*) FROM (SELECT playlist_id, snapshot_date, item_id "
        "FROM playlist_items WHERE item_type = 'track' GROUP BY ALL "
        "HAVING count(*) > 1)",
    )
    assert twice[0][0] > 0
    precisions = dict(rows(db, "SELECT release_date_precision, count(*) FROM albums GROUP BY 1"))
    assert precisions.keys() == {"year", "month", "day"}
    assert (
        rows(
            db,
            "SELECT count(*) FROM albums WHERE release_year IS NULL "
            "OR release_year != CAST(left(release_date, 4) AS INT)",
        )[0][0]
        == 0
    )
    missing = rows(
        db,
        "SELECT count(*) FILTER (popularity IS NULL), count(*) FILTER "
        "(followers IS NULL), count(*) FILTER (genres IS NULL) FROM artists",
    )[0]
    assert all(n > 0 for n in missing)
    assert (
        rows(
            db,
            "SELECT count(*) FROM playlists WHERE name != regexp_replace("
            "name, '[^\\x00-\\x7F]', '', 'g')",
        )[0][0]
        > 0
    )


def test_null_entries_are_counted_in_the_run_record(end_to_end_lake, world):
    account = world.world.account_at(LAST_SNAPSHOT.timestamp())
    nulls = sum(e.kind == "null" for p in account.playlists if p.readable for e in p.entries)
    records = [get_json(end_to_end_lake, k) for k in end_to_end_lake.list("runs/")]
    [snapshot] = [
        r for r in records if r["kind"] == "snapshot" and r["snapshot_date"] == last_day()
    ]
    assert snapshot["transform"]["null_entries"] == nulls > 0


def test_plays_hold_every_play_fetched_once_each(db, world):
    """Every play the API served is one row (merged with its export entry or not)."""
    first_run = world.world.account_at((FIRST_DAY + timedelta(hours=3, minutes=15)).timestamp())
    oldest = min(p.played_at_ms for p in first_run.recent_plays)
    everything = world.world.account_at(LAST_RUN.timestamp()).plays
    expected = sorted((p.played_at_ms, p.track_id) for p in everything if p.played_at_ms >= oldest)
    got = rows(
        db,
        "SELECT epoch_ms(played_at), track_id, played_date FROM plays "
        "WHERE source <> 'export' ORDER BY 1",
    )
    assert [r[:2] for r in got] == expected
    assert all(str(datetime.fromtimestamp(ms / 1000, UTC).date()) == str(day) for ms, _, day in got)


def test_top_items_and_saved_tracks_match_the_account(db, world):
    account = world.world.account_at(LAST_SNAPSHOT.timestamp())
    for (kind, time_range), ids in account.top.items():
        got = rows(
            db,
            "SELECT rank, item_id FROM top_items WHERE snapshot_date = ? AND "
            "item_type = ? AND time_range = ? ORDER BY rank",
            last_day(),
            kind.rstrip("s"),
            time_range,
        )
        assert got == [(rank, item_id) for rank, item_id in enumerate(ids, start=1)]
    saved = rows(
        db,
        "SELECT track_id FROM saved_tracks WHERE snapshot_date = ? ORDER BY added_at DESC",
        last_day(),
    )
    assert [r[0] for r in saved] == [s.track_id for s in account.saved]


def test_the_catalog_of_a_day_holds_every_track_album_and_artist_referenced(db):
    for table, column, source in [
        (
            "tracks",
            "track_id",
            "SELECT item_id AS track_id FROM playlist_items "
            "WHERE item_type = 'track' AND snapshot_date = ?",
        ),
        ("tracks", "track_id", "SELECT track_id FROM saved_tracks WHERE snapshot_date = ?"),
        ("albums", "album_id", "SELECT album_id FROM tracks WHERE snapshot_date = ?"),
        ("artists", "artist_id", "SELECT artist_id FROM track_artists WHERE snapshot_date = ?"),
    ]:
        missing = rows(
            db,
            f"SELECT count(*) FROM ({source}) AS s WHERE s.{column} NOT IN "
            f"(SELECT {column} FROM {table} WHERE snapshot_date = ?)",
            last_day(),
            last_day(),
        )
        assert missing[0][0] == 0, (table, source)
    duplicates = rows(db, "SELECT count(*) - count(DISTINCT (snapshot_date, track_id)) FROM tracks")
    assert duplicates[0][0] == 0


def test_a_plays_catalog_rows_are_marked_played_on_the_day_it_was_fetched(db):
    """What the plays queries read: each play the API saw, the first run's backfill included
    (an export's alone are named by the export until their catalog is fetched), finds its
    track, credits and artists among the played rows of a day it could have been fetched on
    (from the day before it on); played rows are no more than the plays fetched that day."""
    unmatched = rows(
        db,
        "SELECT count(*) FROM plays AS p WHERE p.source <> 'export' AND NOT EXISTS ("
        "  SELECT 1 FROM tracks AS t JOIN track_artists AS c USING (snapshot_date, track_id)"
        "  JOIN artists AS a USING (snapshot_date, artist_id)"
        "  WHERE t.track_id = p.track_id AND t.played AND c.played AND a.played"
        "  AND CAST(t.snapshot_date AS DATE) >= CAST(p.played_date AS DATE) - INTERVAL 1 DAY)",
    )
    assert unmatched[0][0] == 0
    backfilled = rows(
        db,
        "SELECT count(*) FROM plays WHERE played_date < ? AND source <> 'export'",
        FIRST_DAY.date().isoformat(),
    )
    assert backfilled[0][0] > 0
    played, unplayed = rows(
        db,
        "SELECT count(*) FILTER (played), count(*) FILTER (NOT played) FROM tracks "
        "WHERE snapshot_date = ?",
        last_day(),
    )[0]
    played_that_day = rows(
        db,
        "SELECT count(DISTINCT track_id) FROM plays WHERE played_date BETWEEN ? AND ? "
        "AND source <> 'export'",
        (LAST_SNAPSHOT - timedelta(days=1)).date().isoformat(),
        last_day(),
    )
    assert 0 < played <= played_that_day[0][0] < played + unplayed
