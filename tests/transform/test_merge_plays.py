"""merge_plays sorts plays that cannot pair in Arrow: the result is combine's, row for row."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.history.match import combine
from chalicelib.transform.merge import PLAYS, PLAYS_MS, merge_plays

T0 = 1_709_322_887_000


def row(source: str, at: int, track: str | None, episode: str | None, ms: int | None) -> dict:
    values = dict.fromkeys(PLAYS.names)
    ended = at if source == "export" else None
    return {**values, "played_at": at, "track_id": track, "episode_id": episode,
            "ms_played": ms, "source": source, "ended_at": ended}  # fmt: skip


items = st.one_of(
    st.tuples(st.sampled_from(["t1", "t2", "t10"]), st.none()),
    st.tuples(st.none(), st.sampled_from(["e1", "e2"])),
)
histories = st.tuples(
    st.sampled_from(["api", "export"]),
    st.lists(
        st.tuples(
            st.integers(0, 10).map(lambda n: T0 + n * 1_000),
            items,
            st.one_of(st.none(), st.sampled_from([1_000, 30_000])),
        ),  # fmt: skip
        max_size=30,
    ),
)


@settings(max_examples=300, deadline=None)
@given(histories)
def test_plays_of_one_source_come_out_as_combine_orders_them(history):
    source, plays = history
    rows = [row(source, at, track, episode, ms) for at, (track, episode), ms in plays]
    table = pa.Table.from_pylist(rows, schema=PLAYS_MS).cast(PLAYS)
    halves = [table.slice(0, len(rows) // 2), table.slice(len(rows) // 2)]
    merged = merge_plays(halves).cast(PLAYS_MS).to_pylist()
    assert merged == combine(rows)
