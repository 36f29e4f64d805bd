"""S3 refusing a write mid-run (moto, with a botocore hook failing one PutObject): the run is
recorded failed with the reason, raw/ keeps what landed, and a retry completes."""

from __future__ import annotations

from urllib.parse import unquote

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from chalicelib import pipeline
from chalicelib.accounts import AccountLake
from chalicelib.errors import LakeError
from chalicelib.lake import open_lake
from chalicelib.runs import RunStore
from chalicelib.settings import Settings
from chalicelib.transform import transform_run

from .conftest import ACCOUNT, assert_no_duplicates, assert_raw_kept, extract, raw_files, tables

BUCKET = "spotify-etl-faults"
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fault_case"), ACCOUNT]


class FailOnePut:
    """Answers the nth PutObject under a prefix with S3's 500 InternalError, once."""

    def __init__(self, prefix: str, nth: int):
        self.prefix, self.nth, self.failed = prefix, nth, []

    def __call__(self, params, **_) -> tuple[AWSResponse, dict] | None:
        key = unquote(params["url_path"]).split(f"/{BUCKET}/", 1)[-1].lstrip("/")
        if self.failed or not key.startswith(self.prefix):
            return None
        self.nth -= 1
        if self.nth:
            return None
        self.failed.append(key)
        error = {"Code": "InternalError", "Message": "We encountered an internal error."}
        response = AWSResponse("https://s3.amazonaws.com", 500, {}, None)
        return response, {"Error": error, "ResponseMetadata": {"HTTPStatusCode": 500}}


@pytest.fixture
def hooked_s3_env(aws_credentials, env, monkeypatch):
    """The pipeline's variables with the lake in a moto bucket; one boto3 session for all."""
    with mock_aws():
        boto3.setup_default_session(region_name="us-east-1")
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        monkeypatch.setenv("LAKE_URI", f"s3://{BUCKET}")
        yield {**env, "LAKE_URI": f"s3://{BUCKET}"}
        boto3.DEFAULT_SESSION = None


def fail_one_put(prefix: str, nth: int) -> FailOnePut:
    hook = FailOnePut(prefix, nth)
    boto3.DEFAULT_SESSION.events.register("before-call.s3.PutObject", hook)
    return hook


@pytest.fixture
def hooked_s3_lake(hooked_s3_env, listener) -> AccountLake:
    """The listener's view of the S3 lake the runs land in."""
    return AccountLake(open_lake(hooked_s3_env["LAKE_URI"]), listener)


def test_a_raw_write_failing_mid_extract_fails_the_run_and_a_retry_completes(
    hooked_s3_env, hooked_s3_lake, clock
):
    hook = fail_one_put("raw/", nth=6)
    with pytest.raises(LakeError, match="S3 put_object on raw/.* failed: InternalError"):
        extract(hooked_s3_env, clock)
    [failed] = RunStore(hooked_s3_lake).recent()
    assert failed.status == "failed" and "InternalError" in failed.errors[0]
    landed = raw_files(hooked_s3_lake)
    assert hook.failed and hook.failed[0] not in landed
    assert not any(key.endswith("manifest.json") for key in landed)  # no transform starts
    retried = extract(hooked_s3_env, clock)
    assert retried.status == "extracted" and retried.errors == []
    assert_raw_kept(landed, hooked_s3_lake)
    assert transform_run(hooked_s3_lake, retried.manifest, now=clock.now)["status"] == "transformed"
    assert_no_duplicates(hooked_s3_lake)


def test_a_processed_write_failing_mid_transform_keeps_raw_and_the_retried_event_completes(
    hooked_s3_env, hooked_s3_lake, clock, reference
):
    record = extract(hooked_s3_env, clock)
    before = raw_files(hooked_s3_lake)
    fail_one_put("processed/", nth=3)
    with pytest.raises(LakeError, match="S3 put_object on processed/.* failed: InternalError"):
        settings = Settings.from_env(hooked_s3_env)
        pipeline.transform(settings, hooked_s3_lake.key(record.manifest))  # the handler's path
    failed = RunStore(hooked_s3_lake).get(record.run_id)
    assert failed.status == "failed" and "retried" in failed.transform["error"]
    assert raw_files(hooked_s3_lake) == before
    summary = transform_run(hooked_s3_lake, record.manifest, now=clock.now)  # Lambda's retry
    assert summary["status"] == "transformed"
    assert_raw_kept(before, hooked_s3_lake)
    assert tables(hooked_s3_lake) == tables(reference)
    assert_no_duplicates(hooked_s3_lake)
