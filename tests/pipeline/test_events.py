"""What the pipeline's Lambda functions are handed is checked before anything runs: an S3
event's key is read relative to the lake's prefix and must be a manifest or an upload, and a
queued run or replay must be what `queue` sends."""

import pytest

from chalicelib import pipeline
from chalicelib.errors import ValidationError
from chalicelib.pipeline import events
from chalicelib.settings import Settings

RUN = "20260101T000000Z-abcdef"
MANIFEST = f"raw/2026-01-01/{RUN}/manifest.json"
IN_BUCKET = Settings.from_env({"LAKE_URI": "s3://bucket/lake"})


def test_an_s3_events_key_is_read_relative_to_the_lakes_prefix():
    assert pipeline.manifest_key_of(IN_BUCKET, "bucket", f"lake/{MANIFEST}") == MANIFEST
    assert events.upload_key_of(IN_BUCKET, "bucket", "lake/imports/export.zip") == (
        "imports/export.zip"
    )


@pytest.mark.parametrize(
    "key",
    [
        f"other/{MANIFEST}",
        f"lake/raw/2026-01-01/{RUN}/playlists/0001.json.gz",
        "lake/imports/export.zip",
    ],
)
def test_an_object_that_is_no_manifest_of_the_lake_is_refused_naming_it(key):
    with pytest.raises(ValidationError, match=f"s3://bucket/{key} is not a raw run manifest"):
        pipeline.manifest_key_of(IN_BUCKET, "bucket", key)


@pytest.mark.parametrize("key", ["lake/imports/", f"lake/{MANIFEST}", "other/imports/x.zip"])
def test_an_object_that_is_no_upload_of_the_lake_is_refused_naming_it(key):
    with pytest.raises(ValidationError, match=f"s3://bucket/{key} is not an upload"):
        events.upload_key_of(IN_BUCKET, "bucket", key)


def test_a_queued_run_gives_the_extracts_options_its_streams_checked():
    event = {"run_id": RUN, "kind": "plays", "streams": ["plays"]}
    assert pipeline.queued_run(event) == {"run_id": RUN, "kind": "plays", "streams": ("plays",)}
    assert pipeline.queued_run({"run_id": RUN}) == {
        "run_id": RUN,
        "kind": "snapshot",
        "streams": None,
    }


@pytest.mark.parametrize(
    "event", [None, [], {}, {"run_id": "nope"}, {"run_id": RUN, "kind": "snapshot"}]
)
def test_a_replay_is_handed_a_run_id_and_nothing_else(event):
    with pytest.raises(ValidationError):
        pipeline.queued_replay(event)
    assert pipeline.queued_replay({"run_id": RUN}) == RUN
