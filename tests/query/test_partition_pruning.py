"""The local engine reads the partitions a query's `reads` declare and no others: the answers
are those of the whole tables, and a file outside the dates asked for is never opened."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date, timedelta

import pyarrow.parquet as pq
import pytest

from chalicelib.accounts import AccountLake
from chalicelib.dashboard import data
from chalicelib.dashboard.data import Period
from chalicelib.errors import QueryError
from chalicelib.lake import LocalLake
from chalicelib.query.duckdb_engine import DuckDBEngine, tables_named
from chalicelib.query.named import load_queries
from chalicelib.query.service import run_query
from chalicelib.schema import TABLES
from chalicelib.settings import Settings
from chalicelib.transform.write import split_days
from tests.query.conftest import over

pytestmark = pytest.mark.integration  # the demo's lake, a week of runs and a year of history


def periods(lake: LocalLake, account: str) -> list[tuple[str, str]]:
    """Periods around the demo's: its last day, its week, the imported year, all time."""
    view = AccountLake(lake, account)
    days = sorted(
        day
        for key in view.list(TABLES["plays"].prefix())
        for day in split_days("plays", pq.ParquetFile(view.uri(key)).read())
    )
    last = date.fromisoformat(days[-1])
    return [
        (last.isoformat(), last.isoformat()),
        ((last - timedelta(days=6)).isoformat(), last.isoformat()),
        (days[0], (last - timedelta(days=3)).isoformat()),
        ("2008-10-07", (last + timedelta(days=1)).isoformat()),
    ]


def of(query, params: dict, account: str) -> dict:
    """The parameters with the demo's account, for a query of one account (of all of them,
    for one of several)."""
    mine = {key: value for key, value in params.items() if key != "accounts"}
    return {**mine, "account": account} if query.takes_account else mine


def answer(engine: DuckDBEngine, query, params: dict) -> dict:
    outcome = run_query(engine, query.name, params, page_size=1000)
    return {key: outcome[key] for key in ("state", "columns", "rows")}


@pytest.mark.parametrize("name", sorted(load_queries()))
def test_each_query_answers_over_its_declared_partitions_as_over_the_whole_tables(
    name, demo_lake, demo_listeners, monkeypatch
):
    lake = LocalLake(demo_lake)
    engine = DuckDBEngine(lake)
    query = load_queries()[name]
    assert query.reads, f"{name}.sql declares no partitions it reads"
    for period in periods(lake, demo_listeners[0]):
        params = of(query, over(query, *period), demo_listeners[0])
        pruned = answer(engine, query, params)
        monkeypatch.setitem(load_queries(), name, dataclasses.replace(query, reads=()))
        whole = answer(engine, query, params)
        monkeypatch.setitem(load_queries(), name, query)
        assert pruned == whole, params
        assert pruned["state"] == "SUCCEEDED"


def test_every_table_a_query_names_has_the_partitions_it_reads_declared():
    for query in load_queries().values():
        declared = {read.table for read in query.reads}
        assert set(tables_named(query.sql)) == declared, query.name


def test_a_file_outside_the_dates_asked_for_is_never_opened(demo_lake, demo_listeners, tmp_path):
    shutil.copytree(demo_lake, tmp_path / "lake")
    lake = LocalLake(tmp_path / "lake")
    engine = DuckDBEngine(lake)
    account = demo_listeners[0]
    start, end = periods(lake, account)[1]
    period = {"start_date": start, "end_date": end, "account": account}
    before = date.fromisoformat(start) - timedelta(days=40)
    damaged = TABLES["plays"].partition_key(before.isoformat()).replace(".parquet", "-x.parquet")
    AccountLake(lake, account).put(damaged, b"not a parquet file")
    other = {**period, "account": demo_listeners[1], "start_date": before.isoformat()}
    assert run_query(engine, "top_tracks", other)["state"] == "SUCCEEDED"  # not its file
    assert run_query(engine, "top_tracks", period)["state"] == "SUCCEEDED"
    with pytest.raises(QueryError):
        run_query(engine, "top_tracks", {**period, "start_date": before.isoformat()})


def test_the_widest_period_a_date_can_name_is_answered_by_every_query_and_the_dashboard(
    demo_lake, demo_listeners
):
    """From year 1 to 9999: no day is looked up one by one, none underflows, and the
    dashboard's grain stays within playlist_sizes's bounds."""
    engine = DuckDBEngine(LocalLake(demo_lake))
    for name, query in load_queries().items():
        for last in ("9999-12-31", "0001-01-01"):  # `as_of` the first day: nothing before it
            widest = of(query, over(query, "0001-01-01", last), demo_listeners[0])
            assert run_query(engine, name, widest)["state"] == "SUCCEEDED", (name, widest)
    settings = Settings.from_env({"LAKE_URI": str(demo_lake), "QUERY_ENGINE": "duckdb"})
    period = Period.of(date(1, 1, 1), date(9999, 12, 31), date.today())
    assert not data.load(settings, period, demo_listeners[0]).pending
