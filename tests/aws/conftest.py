"""Layered AWS fixtures: credentials -> mock_aws -> bucket -> S3 environment -> app client."""

from __future__ import annotations

import boto3
import pytest
from chalice_stage import stage_client
from moto import mock_aws

from app import app  # imported before any fixture sets LAKE_URI: its event sources stay local
from chalicelib.lake import S3Lake

BUCKET = "spotify-etl-test-lake"
PREFIX = "lake/"
REGION = "us-east-1"


@pytest.fixture
def aws(aws_credentials):
    """moto in place of AWS; Lambda invocations succeed without running (no Docker here)."""
    with mock_aws(config={"lambda": {"use_docker": False}}):
        yield


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    """No AWS credentials anywhere botocore looks (environment, files, instance metadata)."""
    for name in (
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
        "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def s3(aws):
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def s3_lake(s3):
    return S3Lake(s3, BUCKET, PREFIX)


@pytest.fixture
def s3_env(monkeypatch, env, s3):
    """The pipeline's variables with the lake in S3 and queries on Athena."""
    values = {
        **env,
        "LAKE_URI": f"s3://{BUCKET}/{PREFIX.rstrip('/')}",
        "QUERY_ENGINE": "athena",
        "GLUE_DATABASE": "spotify_etl_test",
        "ATHENA_WORKGROUP": "spotify-etl-test",
        "EXTRACT_FUNCTION": "spotify-etl-test-run_extract",
        "REPLAY_FUNCTION": "spotify-etl-test-replay",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def s3_app_client(tmp_path, s3_env):
    """chalice.test.Client on a stage whose lake is the moto bucket."""
    with stage_client(app, tmp_path / "s3-project", s3_env, lambda_timeout=900) as client:
        yield client
