"""Layered fixtures: lake -> processed tables -> DuckDB engine.

`history` lands a small, known listening history (2026-01-01 is a Thursday):

plays on 2026-01-01  t2 10:00, t1 23:30
plays on 2026-01-02  t1 00:15, t1 09:00, t3 09:30
plays on 2026-01-05  t2 12:00 (outside the usual range)

t1 "Song One" (3 min) by Alpha then Beta, t2 "Song Two" (4 min) by Beta, t3 "Song Three"
(200 s) by Gamma, catalogued on 2026-01-03 only (a day after it was played). Beta was
called "Beta Old" in the 2026-01-01 catalogue. As the pipeline does, each day's catalogue
holds what that day's plays reference: t2 and Beta again on 2026-01-05; those rows are all
`played` (the catalog rows of the snapshot are not needed here).

Playlist p1 "Road Trip": 2025-12-31 [A], 2026-01-01 [A, B, C, B], 2026-01-02 [A, D, B, D],
2026-01-03 [A]. p2 "Hidden" withholds its items. p3 "Blues" is seen once, on 2026-01-02.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pyarrow as pa
import pytest

from chalicelib.accounts import AccountLake, register
from chalicelib.lake import LocalLake
from chalicelib.query.duckdb_engine import DuckDBEngine
from chalicelib.query.named import NamedQuery
from chalicelib.schema import TABLES, arrow_schema
from chalicelib.transform.write import month_bytes

WriteTable = Callable[[str, str, list[dict[str, Any]]], None]
LISTENER = "listener"  # the lake's one account


def over(query: NamedQuery, start_date: str, end_date: str) -> dict[str, str]:
    """The parameters that ask a query about a period of LISTENER's: its dates, or the
    period's last day for a query that looks back from one (`as_of`)."""
    period = {"start_date": start_date, "end_date": end_date, "as_of": end_date}
    period |= {"account": LISTENER, "accounts": LISTENER}  # the lake's one account's
    return {param.name: period[param.name] for param in query.params if param.name in period}


@pytest.fixture
def engine(lake) -> DuckDBEngine:
    """DuckDB over a lake of one account, LISTENER (with no rows until a test writes some)."""
    register(lake, LISTENER, {})
    return DuckDBEngine(lake)


@pytest.fixture
def write_table(lake) -> WriteTable:
    """Write one day's rows of a processed table into its month, as the transform does, in
    the lake's one account."""
    return functools.partial(write_rows, lake)


def write_rows(lake: LocalLake, name: str, day: str, rows: list[dict[str, Any]]) -> None:
    """One day's rows of a processed table, written into its month as the transform does,
    in the lake's one account, LISTENER."""
    register(lake, LISTENER, {})
    view = AccountLake(lake, LISTENER)
    key = TABLES[name].partition_key(day)
    current = view.get(key) if view.exists(key) else None
    data = pa.Table.from_pylist(rows, schema=arrow_schema(TABLES[name]))
    view.put(key, month_bytes(name, current, {day: data}))


def play(at: str, track_id: str) -> dict[str, Any]:
    return {
        "played_at": datetime.fromisoformat(at),
        "track_id": track_id,
        "context_type": "playlist",
        "context_uri": "spotify:playlist:p1",
    }


def track(track_id: str, name: str, duration_ms: int) -> dict[str, Any]:
    return {
        "track_id": track_id,
        "name": name,
        "album_id": "al1",
        "duration_ms": duration_ms,
        "played": True,
    }


def credit(track_id: str, artist_id: str, position: int) -> dict[str, Any]:
    return {
        "track_id": track_id,
        "artist_id": artist_id,
        "artist_position": position,
        "played": True,
    }


def artist(artist_id: str, name: str) -> dict[str, Any]:
    return {
        "artist_id": artist_id,
        "name": name,
        "genres": ["pop"],
        "followers": 10,
        "played": True,
    }


def playlist(
    playlist_id: str, name: str, items_extracted: bool = True, item_count: int | None = None
) -> dict[str, Any]:
    return {
        "playlist_id": playlist_id,
        "name": name,
        "items_extracted": items_extracted,
        "item_count": item_count,
    }


def entries(playlist_id: str, letters: str) -> list[dict[str, Any]]:
    return [
        {
            "playlist_id": playlist_id,
            "position": position,
            "item_type": "track",
            "item_id": letter,
            "item_uri": f"spotify:track:{letter}",
            "item_name": f"Song {letter}",
        }
        for position, letter in enumerate(letters)
    ]


@pytest.fixture
def plays(write_table) -> None:
    write_table(
        "plays", "2026-01-01", [play("2026-01-01 10:00", "t2"), play("2026-01-01 23:30", "t1")]
    )
    write_table(
        "plays",
        "2026-01-02",
        [
            play("2026-01-02 00:15", "t1"),
            play("2026-01-02 09:00", "t1"),
            play("2026-01-02 09:30", "t3"),
        ],
    )
    write_table("plays", "2026-01-05", [play("2026-01-05 12:00", "t2")])


@pytest.fixture
def catalog(write_table) -> None:
    write_table(
        "tracks", "2026-01-01", [track("t1", "Song One", 180_000), track("t2", "Song Two", 240_000)]
    )
    write_table("tracks", "2026-01-02", [track("t1", "Song One", 180_000)])
    write_table("tracks", "2026-01-03", [track("t3", "Song Three", 200_000)])
    write_table(
        "track_artists",
        "2026-01-01",
        [credit("t1", "a1", 0), credit("t1", "a2", 1), credit("t2", "a2", 0)],
    )
    write_table("track_artists", "2026-01-02", [credit("t1", "a1", 0), credit("t1", "a2", 1)])
    write_table("track_artists", "2026-01-03", [credit("t3", "a3", 0)])
    write_table("artists", "2026-01-01", [artist("a1", "Alpha"), artist("a2", "Beta Old")])
    write_table("artists", "2026-01-02", [artist("a1", "Alpha"), artist("a2", "Beta")])
    write_table("artists", "2026-01-03", [artist("a3", "Gamma")])
    write_table("tracks", "2026-01-05", [track("t2", "Song Two", 240_000)])
    write_table("track_artists", "2026-01-05", [credit("t2", "a2", 0)])
    write_table("artists", "2026-01-05", [artist("a2", "Beta")])


@pytest.fixture
def playlists(write_table) -> None:
    snapshots = {
        "2025-12-31": {"p1": "A"},
        "2026-01-01": {"p1": "ABCB", "p2": "XY"},
        "2026-01-02": {"p1": "ADBD", "p2": "XZ", "p3": "EF"},
        "2026-01-03": {"p1": "A"},
    }
    names = {"p1": "Road Trip", "p2": "Hidden", "p3": "Blues"}
    for day, contents in snapshots.items():
        counts = {p: len(letters) + (p == "p1") for p, letters in contents.items()}  # p1: 1 null
        rows = [playlist(p, names[p], p != "p2", counts[p]) for p in contents]
        write_table("playlists", day, rows)
        items = [
            entry for p, letters in contents.items() if p != "p2" for entry in entries(p, letters)
        ]
        write_table("playlist_items", day, items)


@pytest.fixture
def history(plays, catalog, playlists) -> None:
    """The whole known history above."""
