"""The S3 handler on bad raw input: it returns normally (no Lambda retry loop), the run is
quarantined and recorded failed, and the other runs are unaffected."""

from __future__ import annotations

import pytest
from chalice_stage import s3_event

from chalicelib import raw
from chalicelib.accounts import AccountLake
from chalicelib.lake import LocalLake
from chalicelib.runs import RunStore

from .conftest import DAY, entry, play, playlist, processed_files, raw_files, rows, start_run, track

GOOD = "20261126T080000Z-aaaaaa"
BAD = "20261126T200000Z-bbbbbb"


@pytest.fixture
def listener_lake(tmp_path):
    """The listener's view of the lake whose manifests the handler is told of."""
    return AccountLake(LocalLake(tmp_path / "lake"), "listener")


@pytest.fixture
def handle(listener_lake, monkeypatch):
    """Deliver a manifest's S3 event to the app's handler, as S3 would."""
    monkeypatch.setenv("LAKE_URI", str(listener_lake.base.root))
    from app import on_manifest

    def deliver(manifest_key: str) -> dict:
        return on_manifest(s3_event("local", listener_lake.key(manifest_key)), None)

    return deliver


def good_run(listener_lake) -> str:
    run = start_run(listener_lake, GOOD).playlists(playlist("pl1", total=1))
    run.items("pl1", entry(track("t1"))).plays(play(track("t1"), f"{DAY}T07:00:00Z"))
    return run.finish()


BAD_PARTS = {
    "malformed JSON": (raw.PLAYS, b'{"items": [{"track": '),
    "truncated gzip": (raw.PLAYS, b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xab"),
    "an unknown shape": (raw.ALBUMS, b'{"albums": []}'),
    "an unknown stream": ("audio_features", b"{}"),
}


@pytest.mark.parametrize(("stream", "data"), BAD_PARTS.values(), ids=BAD_PARTS.keys())
def test_the_handler_returns_normally_for_a_bad_run(listener_lake, handle, stream, data):
    handle(good_run(listener_lake))
    before = processed_files(listener_lake)
    bad = start_run(listener_lake, BAD)
    part = bad.raw_part("broken/part", stream, data)
    key = bad.finish()
    raw_before = raw_files(listener_lake)
    summary = handle(key)
    assert summary["status"] == "failed" and summary["errors"]
    assert listener_lake.get(f"quarantine/{BAD}/{part}") == data
    assert RunStore(listener_lake).get(BAD).status == "failed"
    assert processed_files(listener_lake) == before
    assert raw_files(listener_lake) == raw_before
    assert RunStore(listener_lake).get(GOOD).status == "transformed"


def test_the_handler_returns_normally_for_a_manifest_naming_a_missing_part(listener_lake, handle):
    bad = start_run(listener_lake, BAD)
    bad.manifest.parts.append(raw.Part(key=f"{bad.folder}never-written.json.gz", stream=raw.PLAYS))
    summary = handle(bad.finish())
    assert summary["status"] == "failed"
    assert "missing" in RunStore(listener_lake).get(BAD).errors[0]
    handle(good_run(listener_lake))
    assert [i["item_id"] for i in rows(listener_lake, "playlist_items")] == ["t1"]
