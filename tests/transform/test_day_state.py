"""A day's digests are kept reduced to one: the day's last transform reads what its first
poll reads, and the day's catalog is the one a rebuild from raw/ makes of every run."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa

from chalicelib import raw
from chalicelib.transform import transform_all, transform_run
from chalicelib.transform.digest import DayState, day_state_keys

from .conftest import DAY, entry, fixed_now, play, playlist, processed_files, rows, start_run, track

POLLS = 12


def snapshot(lake) -> str:
    return (
        start_run(lake, f"{DAY.replace('-', '')}T031500Z-aaaaaa")
        .playlists(playlist("pl1"))
        .items("pl1", entry(track("t1")), entry(track("t2", artists=("ar1", "ar2"))))
        .finish()
    )


def poll(lake, number: int) -> str:
    """The day's plays run `number`, with a track of its own."""
    run_id = f"{DAY.replace('-', '')}T{4 + number:02d}0000Z-{number:06x}"
    plays = start_run(lake, run_id, kind=raw.PLAYS_ONLY).plays(
        play(track(f"p{number}", artists=(f"ar{number}",)), f"{DAY}T{4 + number:02d}:00:00Z")
    )
    return plays.finish()


def landed_and_transformed(lake) -> list[str]:
    """A day of one snapshot run and POLLS plays runs, each transformed once it landed."""
    keys = []
    for land in [snapshot, *(lambda lake, n=n: poll(lake, n) for n in range(POLLS))]:
        keys.append(land(lake))
        assert transform_run(lake, keys[-1], now=fixed_now)["status"] == "transformed"
    return keys


def s3_calls(s3) -> Counter:
    """The S3 operations the client makes from now on, by name."""
    called: Counter = Counter()
    s3.meta.events.register("before-call.s3", lambda model, **_: called.update([model.name]))
    return called


def test_the_last_transform_of_a_busy_day_reads_what_its_first_poll_reads(s3, s3_lake):
    transform_run(s3_lake, snapshot(s3_lake), now=fixed_now)
    called = s3_calls(s3)
    costs = []
    for number in range(POLLS):
        key = poll(s3_lake, number)
        called.clear()
        assert transform_run(s3_lake, key, now=fixed_now)["status"] == "transformed"
        costs.append({name: count for name, count in called.items() if name != "PutObject"})
    assert costs[-1] == costs[0] and sum(costs[0].values()) < 25, costs
    assert [row["track_id"] for row in rows(s3_lake, "tracks")][:POLLS] == sorted(
        f"p{number}" for number in range(POLLS)
    )


def test_the_days_reduction_holds_every_run_and_gives_the_tables_a_rebuild_gives(lake):
    landed_and_transformed(lake)
    by_run = processed_files(lake)
    transform_all(lake, now=fixed_now)
    assert processed_files(lake) == by_run
    assert all(lake.exists(key) for key in day_state_keys(DAY).values())


def test_a_reduction_an_interrupted_write_left_uneven_is_made_whole_again(lake):
    keys = landed_and_transformed(lake)
    tracks = day_state_keys(DAY)["tracks"]
    whole = {**processed_files(lake), tracks: lake.get(tracks)}
    earlier = DayState.read({key: lake.get(key) for key in day_state_keys(DAY).values()}, DAY)
    del earlier.runs[raw.run_of_manifest(keys[-1])[1]]
    lake.put(tracks, earlier.objects(DAY)[tracks])  # as if the last write stopped before it
    assert transform_run(lake, keys[-1], now=fixed_now)["status"] == "transformed"
    assert {**processed_files(lake), tracks: lake.get(tracks)} == whole


def test_a_replay_makes_the_day_again_from_its_raw_answers_not_from_the_reduction(lake):
    keys = landed_and_transformed(lake)
    state_keys = day_state_keys(DAY)
    held = DayState.read({key: lake.get(key) for key in state_keys.values()}, DAY)
    names = held.tables["tracks"].column("name").to_pylist()
    renamed = held.tables["tracks"].set_column(  # as an earlier parser might have read them
        held.tables["tracks"].column_names.index("name"), "name", pa.array(["?"] * len(names))
    )
    stale = DayState({**held.tables, "tracks": renamed}, held.runs)
    for key, data in stale.objects(DAY).items():
        lake.put(key, data)
    assert transform_run(lake, keys[0], now=fixed_now)["status"] == "transformed"
    assert "?" not in {row["name"] for row in rows(lake, "tracks")}
