"""Bad raw input: the run is quarantined with its reason and recorded failed; nothing raises,
raw/ is untouched and the other runs go on as before."""

from __future__ import annotations

import gzip
import json

import pytest

from chalicelib import raw
from chalicelib.runs import RunStore
from chalicelib.transform import transform_run

from .conftest import (
    DAY,
    entry,
    fixed_now,
    play,
    playlist,
    processed_files,
    raw_files,
    rows,
    track,
)

GOOD = "20261126T080000Z-aaaaaa"
BAD = "20261126T200000Z-bbbbbb"


def good_run(new_run, run_id=GOOD):
    return (
        new_run(run_id)
        .playlists(playlist("pl1"))
        .items("pl1", entry(track("t1")))
        .plays(play(track("t1"), f"{DAY}T07:00:00Z"))
        .finish()
    )


def with_page(new_run, data: bytes, stream=raw.PLAYLIST_ITEMS):
    run = new_run(BAD).playlists(playlist("pl1"))
    run.raw_part("playlist_items/pl1/page-00000", stream, data, playlist_id="pl1")
    return run.finish(), run.folder + "playlist_items/pl1/page-00000.json.gz"


def gz(value) -> bytes:
    return gzip.compress(json.dumps(value).encode())


BROKEN = {
    "malformed JSON": gzip.compress(b'{"items": [{"item": '),
    "truncated gzip": gz({"items": [entry(track("t9"))]})[:40],
    "not gzip nor JSON": b"\x00\x01binary",
    "a list where a page belongs": gz([1, 2, 3]),
    "entries that are not objects": gz({"items": ["spotify:track:t9"]}),
    "an item of the wrong type": gz({"items": [{"item": {"id": "t9", "name": 7}}]}),
    "a timestamp that is no timestamp": gz({"items": [entry(track("t9"), added_at="yesterday")]}),
}


@pytest.mark.parametrize("data", BROKEN.values(), ids=BROKEN.keys())
def test_a_bad_part_quarantines_the_run_and_records_it_failed(lake, new_run, data):
    key, part_key = with_page(new_run, data)
    before = raw_files(lake)
    summary = transform_run(lake, key, now=fixed_now)
    assert summary["status"] == "failed"
    assert summary["snapshot"] == "none"
    assert raw_files(lake) == before
    assert lake.get(f"quarantine/{BAD}/{part_key}") == data
    assert lake.exists(f"quarantine/{BAD}/{key}")
    reason = json.loads(lake.get(f"quarantine/{BAD}/reason.json"))
    assert reason["run_id"] == BAD and reason["problems"][0]["key"] in (part_key, key)
    record = RunStore(lake).get(BAD)
    assert record.status == "failed" and record.errors
    assert record.transform["quarantine"] == f"quarantine/{BAD}/"
    assert list(lake.list("processed/")) == []


def test_an_unknown_stream_quarantines_the_run(lake, new_run):
    key, _ = with_page(new_run, gz({"items": []}), stream="podcasts")
    summary = transform_run(lake, key, now=fixed_now)
    assert summary["status"] == "failed"
    assert "unknown stream" in summary["errors"][0]


def test_a_manifest_naming_a_missing_part_quarantines_the_run(lake, new_run):
    run = new_run(BAD).playlists(playlist("pl1"))
    run.manifest.parts.append(raw.Part(key=f"{run.folder}gone.json.gz", stream=raw.PLAYS))
    summary = transform_run(lake, run.finish(), now=fixed_now)
    assert summary["status"] == "failed"
    assert summary["errors"] == [
        f"{run.folder}gone.json.gz: missing: the manifest names it but the lake does not hold it"
    ]
    assert lake.exists(f"quarantine/{BAD}/reason.json")


@pytest.mark.parametrize(
    "manifest",
    [b"{not json", b"[]", b'{"run_id": "x"}', b'{"run_id": "20261126T200000Z-bbbbbb"}'],
    ids=["not JSON", "a list", "another run", "fields missing"],
)
def test_a_malformed_manifest_quarantines_the_run(lake, manifest):
    key = raw.manifest_key(DAY, BAD)
    lake.put(key, manifest)
    summary = transform_run(lake, key, now=fixed_now)
    assert summary["status"] == "failed"
    assert lake.get(f"quarantine/{BAD}/{key}") == manifest
    assert RunStore(lake).get(BAD).status == "failed"


def test_a_bad_run_leaves_the_other_runs_tables_as_they_were(lake, new_run):
    transform_run(lake, good_run(new_run), now=fixed_now)
    before = processed_files(lake)
    key, _ = with_page(new_run, b"garbage")
    transform_run(lake, key, now=fixed_now)
    assert processed_files(lake) == before
    assert RunStore(lake).get(GOOD).status == "transformed"


def test_a_newer_bad_run_found_first_leaves_the_snapshot_to_the_good_one(lake, new_run):
    good = good_run(new_run)
    bad, _ = with_page(new_run, b"garbage")
    assert transform_run(lake, good, now=fixed_now)["snapshot"] == "applied"
    assert RunStore(lake).get(BAD).status == "failed"
    assert lake.exists(f"quarantine/{BAD}/reason.json")
    assert transform_run(lake, bad, now=fixed_now)["status"] == "failed"
    assert [i["item_id"] for i in rows(lake, "playlist_items")] == ["t1"]
    assert [t["track_id"] for t in rows(lake, "tracks")] == ["t1"]


def test_a_key_that_is_no_manifest_is_refused(lake):
    from chalicelib.errors import NotFoundError, ValidationError

    with pytest.raises(ValidationError):
        transform_run(lake, "raw/2026-11-26/x/page.json.gz")
    with pytest.raises(NotFoundError):
        transform_run(lake, raw.manifest_key(DAY, BAD))


def test_a_quarantined_run_transformed_after_all_counts_again(lake, new_run):
    run = new_run(BAD).playlists(playlist("pl1"))
    late_part = run.folder + "tracks/t7.json.gz"
    run.manifest.parts.append(raw.Part(key=late_part, stream=raw.TRACKS))
    key = run.finish()
    assert transform_run(lake, key, now=fixed_now)["status"] == "failed"
    lake.put(late_part, gz(track("t7")))
    assert transform_run(lake, key, now=fixed_now)["status"] == "transformed"
    assert json.loads(lake.get(f"quarantine/{BAD}/reason.json"))["lifted_at"]
    transform_run(lake, good_run(new_run), now=fixed_now)
    assert [t["track_id"] for t in rows(lake, "tracks")] == ["t1", "t7"]
    assert [p["playlist_id"] for p in rows(lake, "playlists")] == ["pl1"]
    assert RunStore(lake).get(BAD).status == "transformed"
