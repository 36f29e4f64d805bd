"""`spotify-etl migrate`: a lake in the daily partitions of versions before monthly ones is
moved into months with nothing lost, stopping anywhere and running again, beside transforms."""

from __future__ import annotations

import io

import pyarrow.parquet as pq
import pytest

from chalicelib import raw
from chalicelib.accounts import AccountLake, LegacyLakeError
from chalicelib.errors import QueryError
from chalicelib.lake import LocalLake
from chalicelib.query.duckdb_engine import DuckDBEngine
from chalicelib.query.service import run_query
from chalicelib.schema import TABLES
from chalicelib.transform import transform_run
from chalicelib.transform.accounts import migrate_accounts
from chalicelib.transform.layout import migrate_layout
from chalicelib.transform.write import split_days, to_parquet
from tests.lake_tables import day_tables

from .conftest import entry, fixed_now, play, playlist, processed_files, track

OCTOBER = "20261031T080000Z-aaaaaa"
NOVEMBER = "20261101T080000Z-bbbbbb"
LATE_POLL = "20261101T093000Z-cccccc"


def two_months(lake, new_run) -> None:
    """A snapshot on the last day of October, one on the first of November, and a play
    across midnight between them: rows in every table in two months."""
    october = (
        new_run(OCTOBER)
        .playlists(playlist("pl1"))
        .items("pl1", entry(track("t1")), entry(track("t2", artists=("ar1", "ar2"))))
        .plays(play(track("t1"), "2026-10-31T07:00:00Z"))
        .top(raw.TOP_TRACKS, "short_term", track("t3"))
        .saved({"added_at": "2026-10-01T00:00:00Z", "track": track("t1")})
        .finish()
    )
    november = (
        new_run(NOVEMBER)
        .playlists(playlist("pl1"))
        .items("pl1", entry(track("t2", artists=("ar1", "ar2"))))
        .plays(play(track("t4"), "2026-10-31T23:59:00Z"), play(track("t2"), "2026-11-01T07:00:00Z"))
        .finish()
    )
    for key in (october, november):
        transform_run(lake, key, now=fixed_now)


def as_daily(lake: LocalLake) -> None:
    """Rewrite the lake as versions before months wrote it: one object per day, its rows
    without their date (in the partition's folder name), played rows first."""
    for key in list(lake.list("processed/")):
        name = key.split("/")[1]
        table = TABLES[name]
        month = pq.ParquetFile(io.BytesIO(lake.get(key))).read()
        for day, rows in split_days(name, month).items():
            groups = [rows]
            if "played" in rows.column_names:
                played = rows.column("played").to_pylist()
                groups = [rows.filter(played), rows.filter([not p for p in played])]
            daily = f"{table.prefix()}{table.date_column}={day}/data.parquet"
            lake.put(daily, to_parquet(*groups))
        (lake.root / key).unlink()


def test_a_daily_lake_becomes_the_monthly_lake_the_transform_writes_byte_for_byte(
    lake, new_run
):
    two_months(lake, new_run)
    monthly = processed_files(lake)
    as_daily(lake)
    assert all("_date=" in key for key in lake.list("processed/"))

    migrated = migrate_layout(lake)

    assert processed_files(lake) == monthly
    assert migrated.days["plays"] == 2 and migrated.months["plays"] == 2
    assert set(migrated.days) == {key.split("/")[1] for key in monthly}


def test_a_migration_run_again_changes_nothing(lake, new_run):
    two_months(lake, new_run)
    as_daily(lake)
    migrate_layout(lake)
    monthly = processed_files(lake)
    again = migrate_layout(lake)
    assert not again.days and processed_files(lake) == monthly


def test_a_migration_stopped_before_removing_the_daily_objects_runs_again_to_the_same(
    lake, new_run
):
    two_months(lake, new_run)
    monthly = processed_files(lake)
    as_daily(lake)
    daily = processed_files(lake)
    migrate_layout(lake)
    for key, data in daily.items():  # as if it stopped after the months were written
        lake.put(key, data)
    migrate_layout(lake)
    assert processed_files(lake) == monthly


def test_plays_a_transform_wrote_into_a_month_before_the_migration_are_kept_beside_the_days(
    lake, new_run
):
    two_months(lake, new_run)
    as_daily(lake)
    late = new_run(LATE_POLL, kind=raw.PLAYS_ONLY)
    transform_run(lake, late.plays(play(track("t5"), "2026-11-01T09:00:00Z")).finish())
    migrate_layout(lake)
    plays = day_tables(lake, "2026-11-01")["plays"]
    assert [(row["track_id"], row["played_at"].hour) for row in plays] == [
        ("t2", 7),
        ("t5", 9),
    ]
    assert len(day_tables(lake, "2026-10-31")["plays"]) == 2


def test_the_local_engine_refuses_a_daily_lake_and_says_to_migrate(lake, new_run):
    """A lake of versions before months (and before accounts) is refused until migrated;
    an account's daily partitions alone, too."""
    two_months(lake, new_run)
    as_daily(lake)
    with pytest.raises(LegacyLakeError, match="spotify-etl migrate"):
        run_query(DuckDBEngine(lake), "history_coverage", {"start_date": "2026-10-01"})
    objects = len(list(lake.list("")))
    assert migrate_accounts(lake, "listener") == ("listener", objects)
    with pytest.raises(QueryError, match="spotify-etl migrate"):
        run_query(DuckDBEngine(lake), "history_coverage", {"start_date": "2026-10-01"})
    migrate_layout(AccountLake(lake, "listener"))
    answer = run_query(DuckDBEngine(lake), "history_coverage", {"start_date": "2026-10-01"})
    assert [row[0] for row in answer["rows"]] == ["2026-10-31", "2026-11-01"]
