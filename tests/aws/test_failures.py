"""No event lost: a transform that fails every retry lands in the stage's failure queue
(set by glue/setup.py as its on-failure destination), `spotify-etl failures` lists it with
the reason, and `--redrive` replays it into the same tables a fault-free transform writes.

moto holds the queue, the functions and their invoke configurations; tests/aws/
lambda_service.py runs the handlers as Lambda's asynchronous invocation does."""

from __future__ import annotations

import io
import json
from contextlib import contextmanager
from datetime import UTC, datetime

import boto3
import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError
from chalice.local import LambdaContext
from stand_ins import BUCKET, PREFIX, REGION

from app import app
from chalicelib import pipeline, raw, settings
from chalicelib.accounts import AccountLake
from chalicelib.lake import get_json
from glue import setup
from spotify_etl.cli import main
from spotify_etl.stage import RETRIES
from tests.aws.lambda_service import AsyncLambda
from tests.aws.test_pipeline_on_s3 import create_function

pytestmark = [pytest.mark.integration, pytest.mark.account(seed=4, clocked=True)]
STAGE = "test"


@pytest.fixture
def stage_config(tmp_path, s3_env):
    """The test stage as .chalice/config.json names it, over the moto lake."""
    path = tmp_path / "config.json"
    variables = {k: s3_env[k] for k in ("LAKE_URI", "GLUE_DATABASE", "ATHENA_WORKGROUP")}
    config = {"app_name": "spotify-etl", "stages": {STAGE: {"environment_variables": variables}}}
    path.write_text(json.dumps(config))
    return path


@pytest.fixture
def lambda_service(stage_config, s3_lake, capsys):
    """The stage deployed and set up: its functions in moto, then glue/setup.py."""
    for function in RETRIES:
        create_function(f"spotify-etl-{STAGE}-{function}", function)
    assert setup.main(["--stage", STAGE, "--config", str(stage_config)]) == 0
    capsys.readouterr()
    service = AsyncLambda(app, f"spotify-etl-{STAGE}-")
    with service.installed():
        yield service


@contextmanager
def slow_down(prefix: str):
    """S3 refusing every PutObject under the prefix, as it does under load (503 SlowDown)."""
    session = boto3._get_default_session()

    def refuse(params, **_):
        if params["Key"].startswith(prefix):
            error = {"Code": "SlowDown", "Message": "Please reduce your request rate."}
            raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 503}},
                              "PutObject")  # fmt: skip

    session.events.register("before-parameter-build.s3.PutObject", refuse, unique_id="slow-down")
    try:
        yield
    finally:
        session.events.unregister("before-parameter-build.s3.PutObject", unique_id="slow-down")


def tables(s3_lake) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for key in s3_lake.list("processed/"):
        table = pq.read_table(io.BytesIO(s3_lake.get(key))).to_pylist()
        rows.setdefault(key.split("/")[1], []).extend(table)
    return {name: sorted(rows[name], key=repr) for name in sorted(rows)}


def failures(stage_config, capsys, *options: str) -> tuple[int, list[dict]]:
    code = main(["failures", "--stage", STAGE, "--config", str(stage_config), "--format",
                 "json", *options])  # fmt: skip
    # The redriven handlers run in this process: their EMF lines come before the answer.
    captured = capsys.readouterr()
    assert captured.out, captured.err
    *_, answer = captured.out.splitlines()
    return code, json.loads(answer)


def test_a_failing_transform_event_lands_in_the_queue_and_is_redriven_to_the_same_tables(
    lambda_service, stage_config, s3_lake, capsys, s3_app_client, emulator
):
    account = emulator.users[0].user_id
    view = AccountLake(s3_lake, account)
    run_id = raw.new_run_id(datetime.now(UTC))
    context = LambdaContext("run_extract", 512, max_runtime_ms=900_000)
    event = {"kind": "snapshot", "runs": [{"account": account, "run_id": run_id}]}
    app.handler_map["run_extract"](event, context)
    manifest = view.key(get_json(view, f"runs/{run_id}.json")["manifest"])
    event = s3_app_client.events.generate_s3_event(bucket=BUCKET, key=f"{PREFIX}{manifest}")

    with slow_down(f"{PREFIX}processed/"):
        lambda_service.deliver("on_manifest", event)
    assert [error is not None for _, error in lambda_service.attempts] == [True] * 3
    assert get_json(view, f"runs/{run_id}.json")["transform"] != "transformed"
    capsys.readouterr()

    code, [waiting] = failures(stage_config, capsys)
    assert code == 0
    assert waiting["function"] == "on_manifest"
    assert waiting["event"] == f"s3://{BUCKET}/{PREFIX}{manifest}"
    assert (waiting["attempts"], waiting["condition"]) == (3, "RetriesExhausted")
    assert "SlowDown" in waiting["error"]
    assert failures(stage_config, capsys)[1] == [waiting], "listing leaves it in the queue"

    code, [redriven] = failures(stage_config, capsys, "--redrive")
    assert code == 0 and redriven["redriven"] == "yes"
    assert lambda_service.attempts[-1] == ("on_manifest", None)
    assert failures(stage_config, capsys) == (0, [])
    assert get_json(view, f"runs/{run_id}.json")["status"] == "transformed"

    redriven_tables = tables(s3_lake)
    assert redriven_tables["plays"] and redriven_tables["playlists"]
    pipeline.replay(settings.load(), run_id)  # a fault-free transform of the same run
    assert tables(s3_lake) == redriven_tables


def test_a_message_lambda_did_not_write_is_listed_and_kept(lambda_service, stage_config, capsys):
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName=f"spotify-etl-{STAGE}-failures")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello")
    code, [listed] = failures(stage_config, capsys)
    assert (listed["function"], listed["condition"]) == (None, "unreadable")
    assert listed["event"] == "hello"
    code, [outcome] = failures(stage_config, capsys, "--redrive")
    assert code == 1 and outcome["redriven"] == "no"
    assert "not a Lambda failure record" in outcome["reason"]
    assert len(failures(stage_config, capsys)[1]) == 1
    argv = ["failures", "--stage", STAGE, "--config", str(stage_config)]
    assert main([*argv, "--delete", listed["message_id"]]) == 0
    assert "removed 1 message(s)" in capsys.readouterr().out
    assert main(argv) == 0
    assert capsys.readouterr().out.strip() == f"no failed events in spotify-etl-{STAGE}-failures"
    assert main([*argv, "--delete", "no-such-id"]) == 1
    assert "not in the queue: no-such-id" in capsys.readouterr().err


def test_a_stage_without_its_queue_says_to_run_setup(s3_env, stage_config, capsys):
    code = main(["failures", "--stage", STAGE, "--config", str(stage_config)])
    assert code == 1
    error = capsys.readouterr().err
    assert "there is no queue spotify-etl-test-failures" in error and "glue/setup.py" in error
