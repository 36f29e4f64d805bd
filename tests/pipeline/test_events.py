"""What the pipeline's Lambda functions are handed is checked before anything runs: an S3
event's key is read relative to the lake's prefix and must be an account's manifest or an
upload, and a queued run or replay must be what `queue` sends."""

import pytest

from chalicelib import pipeline
from chalicelib.errors import ValidationError
from chalicelib.pipeline import events
from chalicelib.settings import Settings

RUN = "20260101T000000Z-abcdef"
ACCOUNT = "listener"
MANIFEST = f"raw/account_id={ACCOUNT}/2026-01-01/{RUN}/manifest.json"
IN_BUCKET = Settings.from_env({"LAKE_URI": "s3://bucket/lake"})


def test_an_s3_events_key_is_read_relative_to_the_lakes_prefix():
    assert pipeline.manifest_key_of(IN_BUCKET, "bucket", f"lake/{MANIFEST}") == MANIFEST
    upload = f"imports/account_id={ACCOUNT}/export.zip"
    assert events.upload_key_of(IN_BUCKET, "bucket", f"lake/{upload}") == upload


@pytest.mark.parametrize(
    "key",
    [
        f"other/{MANIFEST}",
        f"lake/raw/account_id={ACCOUNT}/2026-01-01/{RUN}/playlists/0001.json.gz",
        f"lake/raw/2026-01-01/{RUN}/manifest.json",
        f"lake/raw/account_id=../2026-01-01/{RUN}/manifest.json",
        "lake/imports/export.zip",
    ],
)
def test_an_object_that_is_no_accounts_manifest_of_the_lake_is_refused_naming_it(key):
    with pytest.raises(
        ValidationError, match=f"s3://bucket/{key} is not an account's raw run manifest"
    ):
        pipeline.manifest_key_of(IN_BUCKET, "bucket", key)


@pytest.mark.parametrize("key", ["lake/imports/", f"lake/{MANIFEST}", "other/imports/x.zip"])
def test_an_object_that_is_no_upload_of_the_lake_is_refused_naming_it(key):
    with pytest.raises(ValidationError, match=f"s3://bucket/{key} is not an upload"):
        events.upload_key_of(IN_BUCKET, "bucket", key)


def test_a_queued_run_gives_the_extracts_options_its_runs_and_streams_checked():
    event = {
        "kind": "plays",
        "streams": ["plays"],
        "runs": [{"account": ACCOUNT, "run_id": RUN}],
        "every_account": False,
    }
    assert pipeline.queued_run(event) == {
        "run_ids": {ACCOUNT: RUN},
        "every_account": False,
        "kind": "plays",
        "streams": ("plays",),
    }
    assert pipeline.queued_run({"runs": [], "every_account": True}) == {
        "run_ids": {},
        "every_account": True,
        "kind": "snapshot",
        "streams": None,
    }


@pytest.mark.parametrize(
    "event",
    [
        None,
        {"run_id": RUN},
        {"runs": {ACCOUNT: RUN}},
        {"runs": [{"account": "../x", "run_id": RUN}]},
        {"runs": [{"account": ACCOUNT, "run_id": "nope"}]},
        {"runs": [], "kind": "everything"},
        {"runs": [], "streams": "plays"},
        {"runs": [], "streams": ["nope"]},
    ],
)
def test_a_queued_run_that_queue_did_not_send_is_refused(event):
    with pytest.raises(ValidationError):
        pipeline.queued_run(event)


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        {},
        {"run_id": RUN},
        {"run_id": "nope", "account": ACCOUNT},
        {"run_id": RUN, "account": "../x"},
        {"run_id": RUN, "account": ACCOUNT, "kind": "snapshot"},
    ],
)
def test_a_replay_is_handed_a_run_id_and_its_account_and_nothing_else(event):
    with pytest.raises(ValidationError):
        pipeline.queued_replay(event)
    assert pipeline.queued_replay({"run_id": RUN, "account": ACCOUNT}) == (RUN, ACCOUNT)
