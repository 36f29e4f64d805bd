"""SPEC §10's analyses on DuckDB equal their recount in plain Python, row for row, over
generated histories (tests/query/histories.py): an export imported by the real import, then
the API's plays and their catalog written as the transform writes them."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from chalicelib.lake import LocalLake
from chalicelib.query.duckdb_engine import DuckDBEngine
from chalicelib.query.named import get_query
from chalicelib.query.service import run_query
from tests.query.histories import History, Recount

SEEDS = (1, 2, 3)
WHOLE = ("2024-01-01", "2026-12-31")
PERIODS = [WHOLE, ("2025-01-01", "2025-12-31"), ("2025-06-15", "2026-01-20")]
LATEST = ("2026-01-16", "2026-02-05")  # the API's weeks alone
MINUTES = ("minutes", "top_month_minutes", "top_weekday_minutes", "top_hour_minutes")


@pytest.fixture(scope="module", params=SEEDS, ids=[f"seed {seed}" for seed in SEEDS])
def generated(request, tmp_path_factory) -> tuple[History, DuckDBEngine]:
    """A generated history in a lake of its own, its export imported and its API days
    written; the engine over it."""
    history = History.generate(request.param)
    folder = tmp_path_factory.mktemp("history")
    lake = LocalLake(folder / "lake")
    history.fill(lake, folder)
    return history, DuckDBEngine(lake)


def answered(engine, name: str, **params) -> list[dict]:
    """The query's rows as dicts, its dates and times read back as Python's."""
    every = {"limit": 1000} if "limit" in {p.name for p in get_query(name).params} else {}
    outcome = run_query(engine, name, {**params, **every}, page_size=1000)
    names = [column["name"] for column in outcome["columns"]]
    types = [column["type"] for column in outcome["columns"]]
    return [
        {name: _value(value, kind) for name, value, kind in zip(names, row, types, strict=True)}
        for row in outcome["rows"]
    ]


def _value(value, kind: str):
    if value is not None and kind == "timestamp":
        return datetime.fromisoformat(value)
    if value is not None and kind == "date":
        return date.fromisoformat(value)
    return value


def same(rows: list[dict], expected: list[dict]) -> None:
    """Row for row; minutes as shown, to a tenth."""
    assert [{k: v for k, v in r.items() if k not in MINUTES} for r in rows] == [
        {k: v for k, v in r.items() if k not in MINUTES} for r in expected
    ]
    for row, wanted in zip(rows, expected, strict=True):
        for name in set(MINUTES) & set(wanted):
            assert row[name] == pytest.approx(wanted[name], abs=0.05 + 1e-9), name


@pytest.mark.parametrize("period", [*PERIODS, LATEST])
@pytest.mark.parametrize("gap_minutes", [30, 5])
def test_sessions_are_the_recount_s(generated, period, gap_minutes):
    history, engine = generated
    start, end = period
    rows = answered(
        engine, "listening_sessions", start_date=start, end_date=end, gap_minutes=gap_minutes
    )
    same(rows, Recount(history).listening_sessions(start, end, gap_minutes))


def test_a_session_runs_across_midnight_and_a_pause_of_exactly_the_gap_does_not_end_it(generated):
    _, engine = generated
    rows = answered(engine, "listening_sessions", start_date="2025-06-30", end_date="2025-08-10")
    starts = {row["session_start"]: row for row in rows}
    midnight = starts[datetime(2025, 6, 30, 23, 40, 20)]
    assert midnight["session_end"].date() == date(2025, 7, 1) and midnight["plays"] == 4
    at_gap = starts[datetime(2025, 8, 10, 9, 56, 30)]
    assert (at_gap["session_end"], at_gap["plays"]) == (datetime(2025, 8, 10, 10, 33, 20), 2)
    assert starts[datetime(2025, 8, 10, 11, 3, 20, 1_000)]["plays"] == 1  # a millisecond more


@pytest.mark.parametrize("period", [*PERIODS, LATEST])
def test_streaks_are_the_recount_s(generated, period):
    history, engine = generated
    start, end = period
    rows = answered(engine, "listening_streaks", start_date=start, end_date=end)
    expected = Recount(history).listening_streaks(start, end)
    assert rows == expected
    spans = [(row["first_day"], row["last_day"]) for row in rows]
    if period == WHOLE:  # across a year's end, and from the export's days into the API's
        assert any(first <= date(2024, 12, 31) < date(2025, 1, 1) <= last for first, last in spans)
        assert any(first <= date(2026, 1, 15) < date(2026, 2, 1) <= last for first, last in spans)


@pytest.mark.parametrize("period", [*PERIODS, LATEST])
def test_discovery_is_the_recount_s(generated, period):
    history, engine = generated
    start, end = period
    rows = answered(engine, "discovery", start_date=start, end_date=end)
    assert rows == Recount(history).discovery(start, end)
    if period == WHOLE:  # Late Bloomer in March 2025, Autumn Band in September
        new = {row["month"]: row["new_artists"] for row in rows}
        assert new["2025-03"] >= 1 and new["2025-09"] >= 1


@pytest.mark.parametrize("period", PERIODS)
def test_new_artists_are_the_recount_s(generated, period):
    history, engine = generated
    start, end = period
    rows = answered(engine, "new_artists", start_date=start, end_date=end)
    assert rows == Recount(history).new_artists(start, end)


def test_an_artist_named_by_the_export_before_the_catalog_knew_it_is_one_artist(generated):
    """x1's export names Nova, whom the catalog knows later, by ID, as t2's first artist: a2,
    found on x1's first stream. Twin, the name of two catalogued artists, stays a name."""
    history, engine = generated
    rows = answered(engine, "new_artists", start_date=WHOLE[0], end_date=WHOLE[1])
    first_x1 = min(p.day for p in Recount(history).plays if p.track_id == "x1" and p.stream)
    nova = [
        (row["artist_id"], row["first_streamed"]) for row in rows if row["artist_name"] == "Nova"
    ]
    assert nova == [("a2", date.fromisoformat(first_x1))] and first_x1 < "2026-01-16"
    twins = {row["artist_id"] for row in rows if row["artist_name"] == "Twin"}
    assert twins == {"a3", "a4", None}
    assert "Echo & Friends" not in {row["artist_name"] for row in rows}  # y1's: credited to Echo


@pytest.mark.parametrize(
    ("as_of", "quiet_days", "min_streams"),
    [("2026-02-05", 180, 3), ("2026-02-05", 30, 1), ("2025-10-01", 120, 2), ("2025-03-01", 20, 5)],
)
def test_forgotten_favourites_are_the_recount_s(generated, as_of, quiet_days, min_streams):
    history, engine = generated
    rows = answered(
        engine,
        "forgotten_favourites",
        as_of=as_of,
        quiet_days=quiet_days,
        min_streams=min_streams,
    )
    expected = Recount(history).forgotten_favourites(as_of, quiet_days, min_streams)
    assert rows == expected
    if (as_of, quiet_days) == ("2026-02-05", 180):
        assert {"x5", "t4"} <= {row["track_id"] for row in rows}  # the first months' favourites


@pytest.mark.parametrize("period", PERIODS)
def test_the_summary_is_the_recount_s(generated, period):
    history, engine = generated
    start, end = period
    rows = answered(engine, "listening_summary", start_date=start, end_date=end)
    same(rows, Recount(history).listening_summary(start, end))
