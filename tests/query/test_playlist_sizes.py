"""playlist_sizes: each playlist's size per snapshot date, on DuckDB over a known history."""

from chalicelib.query.named import get_query
from chalicelib.query.service import run_query


def sizes(engine, start: str, end: str, **grain: int) -> list[tuple]:
    params = {"start_date": start, "end_date": end, **grain}
    return [tuple(row) for row in run_query(engine, "playlist_sizes", params)["rows"]]


def test_playlist_sizes_counts_the_stored_entries_per_snapshot(engine, history):
    rows = sizes(engine, "2026-01-01", "2026-01-02")
    stored = {(day, playlist): stored for day, playlist, _, _, stored, _ in rows}
    assert stored == {
        ("2026-01-01", "p1"): 4,
        ("2026-01-01", "p2"): 0,
        ("2026-01-02", "p1"): 4,
        ("2026-01-02", "p2"): 0,
        ("2026-01-02", "p3"): 2,
    }


def test_playlist_sizes_keeps_to_the_date_range(engine, history):
    assert {row[0] for row in sizes(engine, "2026-01-03", "2026-01-31")} == {"2026-01-03"}


def test_playlist_sizes_takes_a_period_and_a_grain():
    params = [p.name for p in get_query("playlist_sizes").params]
    assert params == ["start_date", "end_date", "every_days", "account"]


def test_a_coarser_grain_keeps_one_snapshot_date_in_every_n_days_from_the_start(engine, history):
    """A long period drawn at a coarser grain: its rows do not grow with every day."""
    assert {row[0] for row in sizes(engine, "2025-12-31", "2026-01-03", every_days=2)} == {
        "2025-12-31",
        "2026-01-02",
    }
    assert {row[0] for row in sizes(engine, "2026-01-01", "2026-01-03", every_days=2)} == {
        "2026-01-01",
        "2026-01-03",
    }



def test_playlist_sizes_shows_the_unavailable_entries_beside_the_stored_ones(engine, history):
    rows = sizes(engine, "2026-01-02", "2026-01-02")
    got = {playlist: (count, stored, unavailable) for _, playlist, _, count, stored, unavailable
           in rows}  # fmt: skip
    assert got == {"p1": (5, 4, 1), "p2": (2, 0, None), "p3": (2, 2, 0)}
