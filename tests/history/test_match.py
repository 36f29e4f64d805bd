"""One row per play: an API play and the export entry of the same playback merge, whether
the API's played_at is the playback's end or its start; real repeats stay apart; combining
is idempotent and order-free."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.history.match import API, BOTH, EXPORT, SLACK_MS, combine

T0 = 1_709_322_887_000  # 2024-03-01T19:54:47Z
MINUTE = 60_000


def api(at, track="t1", context="spotify:playlist:p1"):
    return {"played_at": at, "track_id": track, "context_type": "playlist",
            "context_uri": context, "source": API}  # fmt: skip


def export(ended, track="t1", ms_played=3 * MINUTE, **fields):
    return {"played_at": ended, "track_id": track, "context_type": None, "context_uri": None,
            "source": EXPORT, "ended_at": ended, "ms_played": ms_played, "reason_end": "trackdone",
            "platform": "ios", "track_name": f"name of {track}", **fields}  # fmt: skip


def sources(rows):
    return [(row["played_at"], row["track_id"], row["source"]) for row in rows]


@pytest.mark.parametrize(
    "api_at",
    [T0 + 3 * MINUTE + 1_500, T0 + 3 * MINUTE - 2_000, T0 + 500, T0 - SLACK_MS + 1],
    ids=["end-later", "end-earlier", "start", "start-with-clock-skew"],
)
def test_an_api_play_within_the_entry_s_playback_is_the_same_play(api_at):
    [row] = combine([api(api_at), export(T0 + 3 * MINUTE)])
    assert row["source"] == BOTH
    assert row["played_at"] == api_at and row["context_uri"] == "spotify:playlist:p1"
    assert row["ms_played"] == 3 * MINUTE and row["platform"] == "ios"
    assert row["track_name"] == "name of t1"


def test_plays_outside_the_playback_or_of_another_track_stay_apart():
    rows = combine(
        [
            api(T0 + 3 * MINUTE + SLACK_MS + 1),  # after the entry ended, past the slack
            api(T0 + 3 * MINUTE, track="t2"),  # the same moment, another track
            export(T0 + 3 * MINUTE),
        ]
    )
    assert sources(rows) == [
        (T0 + 3 * MINUTE, "t1", EXPORT),
        (T0 + 3 * MINUTE, "t2", API),
        (T0 + 3 * MINUTE + SLACK_MS + 1, "t1", API),
    ]


def test_a_track_played_twice_minutes_apart_is_two_plays():
    rows = combine(
        [api(T0), api(T0 + 10 * MINUTE), export(T0 + 1_000), export(T0 + 10 * MINUTE + 1_000)]
    )
    assert sources(rows) == [(T0, "t1", BOTH), (T0 + 10 * MINUTE, "t1", BOTH)]


@pytest.mark.parametrize("api_marks", ["start", "end"])
def test_a_short_track_played_twice_in_a_row_is_two_plays_paired_in_order(api_marks):
    length = 40_000  # the second playback starts the moment the first ends
    ends = [T0 + length, T0 + 2 * length]
    played = [T0, T0 + length] if api_marks == "start" else ends
    rows = combine([*(api(at) for at in played), *(export(e, ms_played=length) for e in ends)])
    assert [row["source"] for row in rows] == [BOTH, BOTH]
    assert [row["played_at"] for row in rows] == played


def test_an_entry_or_a_play_seen_by_one_side_only_is_kept_as_it_is():
    rows = combine([api(T0), export(T0 + 30 * MINUTE, track="t9")])
    assert sources(rows) == [(T0, "t1", API), (T0 + 30 * MINUTE, "t9", EXPORT)]


def test_episodes_are_matched_as_episodes():
    entry = export(T0, track=None, episode_id="e1")
    [row] = combine([entry, dict(entry)])
    assert row["episode_id"] == "e1" and row["source"] == EXPORT


HISTORY = [
    api(T0),
    api(T0),  # polled twice
    api(T0 + 10 * MINUTE, context="spotify:album:a1"),
    api(T0 + 50 * MINUTE, track="t3"),
    export(T0 + 2_000),
    export(T0 + 10 * MINUTE + 3 * MINUTE - 1_000),
    export(T0 + 20 * MINUTE, track="t2"),
    export(T0 + 20 * MINUTE, track="t2"),  # overlapping exports list it twice
]


def test_combining_again_or_importing_the_export_again_changes_nothing():
    once = combine(HISTORY)
    assert combine(once) == once
    assert combine([*once, *(row for row in HISTORY if row["source"] == EXPORT)]) == once
    assert combine([*once, *(row for row in HISTORY if row["source"] == API)]) == once
    assert [row["source"] for row in once] == [BOTH, BOTH, EXPORT, API]


def test_the_order_of_arrival_does_not_matter():
    api_rows = [row for row in HISTORY if row["source"] == API]
    export_rows = [row for row in HISTORY if row["source"] == EXPORT]
    expected = combine(HISTORY)
    assert combine([*combine(export_rows), *api_rows]) == expected  # import, then extract
    assert combine([*combine(api_rows), *export_rows]) == expected  # extract, then import
    for order in itertools.permutations(HISTORY[:5]):
        assert combine(order) == combine(HISTORY[:5])


plays = st.lists(
    st.builds(
        api, st.integers(0, 30 * MINUTE).map(lambda m: T0 + m), st.sampled_from(["t1", "t2"])
    ),
    max_size=8,
)
entries = st.lists(
    st.builds(
        export,
        st.integers(0, 30 * MINUTE).map(lambda m: T0 + m),
        st.sampled_from(["t1", "t2"]),
        st.sampled_from([20_000, 40_000, 3 * MINUTE]),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(plays, entries)
def test_any_history_combines_the_same_in_any_order_and_once_for_all(api_rows, export_rows):
    expected = combine([*api_rows, *export_rows])
    assert combine(expected) == expected
    assert combine([*combine(export_rows), *api_rows]) == expected
    assert combine([*combine(api_rows), *export_rows]) == expected
    assert len(expected) <= len(api_rows) + len(export_rows)
