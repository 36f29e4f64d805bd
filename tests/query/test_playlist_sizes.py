"""playlist_sizes: each playlist's size per snapshot date, on DuckDB over a known history."""

from chalicelib.query.named import get_query
from chalicelib.query.service import run_query


def sizes(engine, start: str, end: str) -> list[tuple]:
    result = run_query(engine, "playlist_sizes", {"start_date": start, "end_date": end})
    return [tuple(row) for row in result["rows"]]


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


def test_playlist_sizes_takes_a_period():
    assert [p.name for p in get_query("playlist_sizes").params] == ["start_date", "end_date"]



def test_playlist_sizes_shows_the_unavailable_entries_beside_the_stored_ones(engine, history):
    rows = sizes(engine, "2026-01-02", "2026-01-02")
    got = {playlist: (count, stored, unavailable) for _, playlist, _, count, stored, unavailable
           in rows}  # fmt: skip
    assert got == {"p1": (5, 4, 1), "p2": (2, 0, None), "p3": (2, 2, 0)}
