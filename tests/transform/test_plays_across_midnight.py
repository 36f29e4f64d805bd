"""A playback across midnight UTC: the API's played_at (its start, on some clients) falls on
one day and the export's entry (dated by its end) on the next; it is still one play, on the
API's day, whichever arrives first."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest

from chalicelib import raw
from chalicelib.history.export import ExportFile
from chalicelib.history.importer import land
from chalicelib.transform import transform_all, transform_run
from chalicelib.transform.write import split_days

from .conftest import play, track

MOMENT = datetime(2026, 11, 27, 8, tzinfo=UTC)
EXPORT = (
    b'[{"ts": "2026-11-27T00:02:01Z", "ms_played": 245000,'
    b' "spotify_track_uri": "spotify:track:t1", "master_metadata_track_name": "Track t1",'
    b' "reason_start": "clickrow", "reason_end": "trackdone", "shuffle": false,'
    b' "skipped": false, "offline": false, "incognito_mode": false, "platform": "ios"}]'
)


def api_run(new_run) -> str:
    run = new_run("20261127T010000Z-aaaaaa", kind=raw.PLAYS_ONLY, date="2026-11-27")
    return run.plays(play(track("t1"), "2026-11-26T23:58:00.000Z")).finish()


def import_run(lake) -> str:
    record = land(
        lake,
        lambda: [ExportFile("Streaming_History_Audio_2026.json", lambda: EXPORT)],
        started=MOMENT,
        now=lambda: MOMENT,
    )
    return record.manifest


def plays_by_day(lake) -> dict[str, list[dict]]:
    found = {}
    for key in lake.list("processed/plays/"):
        days = split_days("plays", pq.ParquetFile(lake.uri(key)).read())
        found.update({day: table.to_pylist() for day, table in days.items()})
    return found


@pytest.mark.parametrize("api_first", [True, False])
def test_a_play_across_midnight_is_one_row_on_the_api_s_day_whichever_comes_first(
    lake, new_run, api_first
):
    steps = [lambda: api_run(new_run), lambda: import_run(lake)]
    for step in steps if api_first else steps[::-1]:
        transform_run(lake, step())
    days = plays_by_day(lake)
    assert [row["source"] for row in days["2026-11-26"]] == ["api+export"]
    assert days.get("2026-11-27", []) == []
    [merged] = days["2026-11-26"]
    assert merged["ms_played"] == 245000 and merged["context_uri"] == "spotify:playlist:pl1"


def test_rebuilding_every_run_keeps_it_one_row(lake, new_run):
    transform_run(lake, api_run(new_run))
    transform_run(lake, import_run(lake))
    before = plays_by_day(lake)
    transform_all(lake)
    assert plays_by_day(lake) == before
