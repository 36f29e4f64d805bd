"""run_query and get_execution: waiting, paging and errors, on the DuckDB engine."""

from __future__ import annotations

import base64
import subprocess
import sys
from dataclasses import replace

import pytest

from chalicelib.accounts import AccountLake, register
from chalicelib.errors import ConfigError, NotFoundError, QueryError, ValidationError
from chalicelib.lake import LocalLake, S3Lake
from chalicelib.query.duckdb_engine import DuckDBEngine
from chalicelib.query.engine import QueryState
from chalicelib.query.named import load_queries
from chalicelib.query.service import (
    engine_for,
    execution_page,
    get_execution,
    run_named,
    run_query,
)
from chalicelib.settings import Settings
from tests.query.conftest import LISTENER, over

WEEK = {"start_date": "2026-01-01", "end_date": "2026-01-07"}
UNKNOWN_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def executions(lake):
    return list(lake.list("state/executions/"))


class FakeClock:
    """Time that passes only when the code under test sleeps."""

    def __init__(self):
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class SlowEngine:
    """DuckDB seen through an asynchronous engine: RUNNING until `finish_after` seconds."""

    def __init__(self, engine, clock, finish_after: float):
        self.lake = engine.lake
        self._engine = engine
        self._clock = clock
        self._finish_after = finish_after

    def start(self, query, params):
        return self._engine.start(query, params)

    def status(self, execution_id):
        execution = self._engine.status(execution_id)
        if self._clock() < self._finish_after:
            return replace(execution, state=QueryState.RUNNING)
        return execution

    def results(self, execution_id, next_token, page_size):
        return self._engine.results(execution_id, next_token, page_size)


@pytest.mark.usefixtures("history")
def test_a_finished_query_answers_with_its_first_page(engine):
    outcome = run_query(engine, "top_tracks", WEEK, page_size=2)
    assert set(outcome) == {"execution_id", "state", "columns", "rows", "next_token"}
    assert outcome["state"] == QueryState.SUCCEEDED
    assert [row[0] for row in outcome["rows"]] == [1, 2]
    assert outcome["next_token"]


@pytest.mark.usefixtures("history")
def test_paging_with_next_token_returns_every_row_exactly_once(engine):
    everything = run_query(engine, "listening_by_hour", WEEK, page_size=1000)["rows"]
    outcome = run_query(engine, "listening_by_hour", WEEK, page_size=2)
    paged = list(outcome["rows"])
    while outcome["next_token"]:
        outcome = get_execution(engine, outcome["execution_id"], outcome["next_token"], 2)
        assert len(outcome["rows"]) <= 2
        paged.extend(outcome["rows"])
    assert len(everything) == 5
    assert paged == everything


@pytest.mark.usefixtures("history")
@pytest.mark.parametrize("name", sorted(load_queries()))
def test_an_account_without_rows_answers_with_the_same_columns_as_a_full_one(
    tmp_path, engine, name
):
    empty = DuckDBEngine(LocalLake(tmp_path / "empty"))
    register(empty.lake, LISTENER, {})
    params = over(load_queries()[name], "2025-12-01", "2026-01-31")
    full_columns = run_query(engine, name, params)["columns"]
    assert run_query(empty, name, params)["columns"] == full_columns


@pytest.mark.usefixtures("history")
def test_another_process_can_page_a_stored_execution(lake, engine):
    execution_id = run_query(engine, "top_artists", WEEK)["execution_id"]
    elsewhere = DuckDBEngine(LocalLake(lake.root))
    outcome = get_execution(elsewhere, execution_id, page_size=1)
    assert outcome["rows"] == [[1, "a1", "Alpha", 3, 9.0]]
    assert lake.exists(f"state/executions/{execution_id}.json")


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("top_tracks", {"start_date": "2026-01-01' OR 1=1 --"}),
        ("top_tracks", {"limit": "1; DROP VIEW plays"}),
        ("top_artists", {"limit": 100_000}),
        ("listening_by_hour", {"start_date": "2026-01-02", "end_date": "2026-01-01"}),
        ("playlist_changes", {"playlist": "p1"}),
    ],
)
def test_bad_params_are_refused_before_anything_runs(lake, engine, name, params):
    with pytest.raises(ValidationError):
        run_query(engine, name, params)
    assert executions(lake) == []


def test_an_unknown_query_is_not_found(lake, engine):
    with pytest.raises(NotFoundError, match="no named query 'top_genres'"):
        run_query(engine, "top_genres", {})
    assert executions(lake) == []


@pytest.mark.parametrize("wait_seconds", [-1, "10", float("nan"), None])
def test_a_bad_wait_is_refused(engine, wait_seconds):
    with pytest.raises(ValidationError, match="wait_seconds"):
        run_query(engine, "top_tracks", {}, wait_seconds=wait_seconds)


@pytest.mark.parametrize("page_size", [0, 1001, "many", True])
def test_a_bad_page_size_is_refused(engine, page_size):
    with pytest.raises(ValidationError, match="page_size"):
        run_query(engine, "top_tracks", {}, page_size=page_size)


def test_a_page_size_may_arrive_as_digits(engine):
    assert run_query(engine, "top_tracks", {}, page_size="50")["rows"] == []


@pytest.mark.usefixtures("history")
@pytest.mark.parametrize(
    "token",
    [
        "not base64!",
        base64.urlsafe_b64encode(b"[1]").decode(),
        base64.urlsafe_b64encode(b'{"offset": -1}').decode(),
        base64.urlsafe_b64encode(b'{"offset": 999}').decode(),
    ],
)
def test_a_malformed_next_token_is_refused(engine, token):
    execution_id = run_query(engine, "listening_by_hour", WEEK)["execution_id"]
    with pytest.raises(ValidationError, match="next_token"):
        get_execution(engine, execution_id, token)


def test_an_unknown_execution_is_not_found(engine):
    with pytest.raises(NotFoundError, match=UNKNOWN_ID):
        get_execution(engine, UNKNOWN_ID)


@pytest.mark.parametrize("execution_id", ["../../runs/x", "abc", ""])
def test_a_malformed_execution_id_is_refused(engine, execution_id):
    with pytest.raises(ValidationError, match="not an execution ID"):
        get_execution(engine, execution_id)


def test_a_failing_query_raises_a_query_error_with_the_engines_message(lake, engine):
    AccountLake(lake, LISTENER).put("processed/plays/played_month=2026-01/data.parquet", b"no")
    with pytest.raises(QueryError, match="top_tracks failed on DuckDB") as raised:
        run_query(engine, "top_tracks", WEEK)
    execution_id = executions(lake)[0].removeprefix("state/executions/").removesuffix(".json")
    execution = engine.status(execution_id)
    assert execution.state == "FAILED"
    assert execution.error in str(raised.value)
    with pytest.raises(QueryError, match=execution_id):
        get_execution(engine, execution_id)


@pytest.mark.usefixtures("history")
def test_a_slow_query_answers_with_its_state_once_the_wait_is_over(engine):
    clock = FakeClock()
    slow = SlowEngine(engine, clock, finish_after=5)
    outcome = run_query(slow, "top_tracks", WEEK, wait_seconds=2, sleep=clock.sleep, clock=clock)
    assert outcome == {"execution_id": outcome["execution_id"], "state": QueryState.RUNNING}
    assert sum(clock.sleeps) == pytest.approx(2)
    clock.now = 5
    assert get_execution(slow, outcome["execution_id"])["rows"][0][1] == "t1"


@pytest.mark.usefixtures("history")
def test_a_query_finishing_within_the_wait_is_answered_in_full(engine):
    clock = FakeClock()
    slow = SlowEngine(engine, clock, finish_after=3)
    outcome = run_query(slow, "top_tracks", WEEK, sleep=clock.sleep, clock=clock)
    assert outcome["state"] == QueryState.SUCCEEDED
    assert 3 <= clock.now < 4


def test_the_wait_is_capped_at_25_seconds(engine):
    clock = FakeClock()
    slow = SlowEngine(engine, clock, finish_after=60)
    outcome = run_query(slow, "top_tracks", {}, wait_seconds=600, sleep=clock.sleep, clock=clock)
    assert outcome["state"] == QueryState.RUNNING
    assert clock.now == pytest.approx(25)


def test_no_wait_means_no_sleep(engine):
    clock = FakeClock()
    slow = SlowEngine(engine, clock, finish_after=1)
    assert (
        run_query(slow, "top_tracks", {}, wait_seconds=0, sleep=clock.sleep, clock=clock)["state"]
        == QueryState.RUNNING
    )
    assert clock.sleeps == []


def test_the_duckdb_setting_picks_the_duckdb_engine_over_a_local_lake(lake):
    assert isinstance(engine_for(Settings(query_engine="duckdb"), lake), DuckDBEngine)


def test_the_athena_setting_picks_the_athena_engine(lake):
    from chalicelib.query.athena_engine import AthenaEngine

    assert isinstance(engine_for(Settings(query_engine="athena"), lake), AthenaEngine)


def test_duckdb_refuses_a_lake_in_s3():
    settings = Settings(lake_uri="s3://bucket/lake", query_engine="duckdb")
    with pytest.raises(ConfigError, match="local lake"):
        engine_for(settings, S3Lake(client=None, bucket="bucket", prefix="lake/"))


@pytest.mark.integration  # a fresh interpreter
def test_importing_the_query_modules_loads_neither_duckdb_nor_sqlglot():
    code = (
        "import sys, chalicelib.query.service, chalicelib.query.duckdb_engine; "
        "print(sorted({'duckdb', 'sqlglot'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.usefixtures("history")
def test_the_configured_engine_runs_a_query_and_pages_it(lake):
    settings = Settings(lake_uri=str(lake.root), query_engine="duckdb")
    first = run_named(settings, "top_tracks", WEEK, None, page_size=2)
    assert [row[1] for row in first["rows"]] == ["t1", "t2"]
    rest = execution_page(settings, first["execution_id"], first["next_token"], 2)
    assert [row[1] for row in rest["rows"]] == ["t3"]
    assert rest["next_token"] is None


def test_missing_params_mean_the_defaults(lake):
    register(lake, LISTENER, {})  # a lake of one account, with no data yet
    settings = Settings(lake_uri=str(lake.root), query_engine="duckdb")
    assert run_named(settings, "listening_by_hour", None)["rows"] == []
