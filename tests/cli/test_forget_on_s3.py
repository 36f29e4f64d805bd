"""`spotify-etl forget --account ID --yes --stage S` on a deployed stage (moto): every object
of that account leaves the stage's bucket, its token leaves the stage's secret, and the other
account keeps all of its own."""

from __future__ import annotations

import json

import boto3
import pytest
from stand_ins import REGION

from chalicelib.accounts import AccountLake, register, registered
from chalicelib.lake import S3Lake
from spotify_etl.cli import main

pytestmark = pytest.mark.integration  # S3 and Secrets Manager, in moto
BUCKET, SECRET = "spotify-etl-dev-lake", "spotify-etl/dev"
KEYS = (
    "raw/2026-11-20/20261120T031500Z-aaaaaa/me.json.gz",
    "runs/20261120T031500Z-aaaaaa.json",
    "state/streams/plays.json",
    "processed/plays/played_month=2026-11/data.parquet",
    "imports/20261120T031500Z-export.zip",
)


@pytest.fixture
def stage(tmp_path, aws):
    """A stage whose bucket holds two accounts' objects and whose secret their tokens."""
    chalice = tmp_path / ".chalice"
    chalice.mkdir()
    variables = {"LAKE_URI": f"s3://{BUCKET}", "GLUE_DATABASE": "spotify_etl_dev",
                 "ATHENA_WORKGROUP": "spotify-etl-dev", "SPOTIFY_SECRET_ID": SECRET}  # fmt: skip
    config = {"app_name": "spotify-etl", "stages": {"dev": {"environment_variables": variables}}}
    (chalice / "config.json").write_text(json.dumps(config))
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    lake = S3Lake(s3, BUCKET)
    for account in ("ann", "bob"):
        register(lake, account, {})
        for key in KEYS:
            AccountLake(lake, account).put(key, f"{account}:{key}".encode())
    tokens = {account: {"refresh_token": f"{account}-token"} for account in ("ann", "bob")}
    secret = {"client_id": "id", "client_secret": "secret", "accounts": tokens}
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name=SECRET, SecretString=json.dumps(secret)
    )
    return chalice / "config.json", lake


def test_forget_on_a_stage_lists_then_removes_one_account_and_its_token(stage, capsys):
    config, lake = stage
    argv = ["forget", "--account", "ann", "--stage", "dev", "--config", str(config)]
    before = {key: lake.get(key) for key in lake.list("")}
    assert main(argv) == 0
    assert {key: lake.get(key) for key in lake.list("")} == before  # only listed
    assert "account_id=ann/" in capsys.readouterr().out
    assert main([*argv, "--yes"]) == 0
    out = capsys.readouterr().out
    assert "removed from secret" in out and "processed/plays" in out
    after = {key: lake.get(key) for key in lake.list("")}
    assert not [key for key in after if "account_id=ann/" in key]
    bob = {key: value for key, value in before.items() if "account_id=bob/" in key}
    assert {key: after[key] for key in bob} == bob and len(bob) == len(KEYS)
    assert list(registered(lake)) == ["bob"]
    value = boto3.client("secretsmanager", region_name=REGION).get_secret_value(SecretId=SECRET)
    assert json.loads(value["SecretString"])["accounts"] == {"bob": {"refresh_token": "bob-token"}}
