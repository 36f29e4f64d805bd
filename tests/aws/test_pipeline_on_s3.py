"""The pipeline with its lake in S3 (moto): extract, manifest event, Parquet, run records."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import replace
from datetime import UTC, datetime

import boto3
import pyarrow.parquet as pq
import pytest
from botocore.stub import Stubber
from chalice.local import LambdaContext
from chalice_stage import stage_client
from stand_ins import BUCKET, PREFIX, REGION

from chalicelib import accounts, pipeline, raw
from chalicelib.accounts import AccountLake
from chalicelib.errors import PipelineError
from chalicelib.functions import Functions
from chalicelib.lake import get_json
from chalicelib.runs import RunRecord, RunStore
from chalicelib.schema import TABLES, stored_schema
from chalicelib.settings import Settings

pytestmark = pytest.mark.integration  # the AWS services, in moto

ACCOUNT = "listener"  # an account registered by hand, where no run asks Spotify


def extract_through_the_queued_handler(account: str, kind: str = raw.SNAPSHOT) -> str:
    """Invoke run_extract as Lambda would, with a 15-minute context (the test client's is 3 s),
    with a run queued for `account`."""
    from app import app

    run_id = raw.new_run_id(datetime.now(UTC))
    context = LambdaContext("run_extract", 512, max_runtime_ms=15 * 60 * 1000)
    event = {
        "kind": kind,
        "streams": None,
        "runs": [{"account": account, "run_id": run_id}],
        "every_account": False,
    }
    app.handler_map["run_extract"](event, context)
    return run_id


def test_a_queued_run_lands_in_s3_and_its_manifest_event_writes_the_tables(
    s3_app_client, s3_lake, listener
):
    run_id = extract_through_the_queued_handler(listener)
    view = AccountLake(s3_lake, listener)
    record = get_json(view, f"runs/{run_id}.json")
    assert record["status"] == "extracted", record["errors"]
    assert record["account"] == listener
    manifest = record["manifest"]
    assert view.exists(manifest)
    assert all(
        key.endswith(".json.gz") or key.endswith(raw.MANIFEST)
        for key in view.list(raw.run_folder(record["snapshot_date"], run_id))
    )

    key = f"{PREFIX}{view.key(manifest)}"
    s3_app_client.lambda_.invoke("on_manifest", s3_app_client.events.generate_s3_event(BUCKET, key))

    written = {key.split("/")[1] for key in s3_lake.list("processed/")}
    assert {"playlists", "playlist_items", "tracks", "plays"} <= written
    for key in s3_lake.list("processed/"):
        table = TABLES[key.split("/")[1]]
        assert key.startswith(f"processed/{table.name}/account_id={listener}/{table.partition}=")
        schema = pq.read_schema(io.BytesIO(s3_lake.get(key)))
        assert schema.remove_metadata() == stored_schema(table).remove_metadata()
    assert get_json(view, f"runs/{run_id}.json")["status"] == "transformed"


def test_a_run_of_every_account_queued_on_the_one_account_token_is_the_run_posted(
    s3_app_client, s3_env, s3_lake, listener
):
    """The secret's one-account shape names no account: the run POST /runs queued for the
    lake's account is the one its token's extract carries out, not a run of its own."""
    from app import app

    extract_through_the_queued_handler(listener, raw.PLAYS_ONLY)  # the lake now knows the account
    create_function("spotify-etl-test-run_extract", "run_extract")
    [queued] = pipeline.queue_run(Settings.from_env(s3_env), kind=raw.PLAYS_ONLY)
    event = {
        "kind": "plays",
        "streams": None,
        "runs": [{"account": listener, "run_id": queued.run_id}],
        "every_account": True,
    }
    app.handler_map["run_extract"](event, LambdaContext("run_extract", 512, 900_000))
    runs = RunStore(AccountLake(s3_lake, listener)).recent(10)
    assert len(runs) == 2
    assert RunStore(AccountLake(s3_lake, listener)).get(queued.run_id).status == "extracted"


def test_posting_a_run_on_an_s3_lake_queues_one_per_account_and_answers_at_once(
    s3_app_client, s3_lake
):
    for account in ("listener", "friend"):
        accounts.register(s3_lake, account, {})
    create_function("spotify-etl-test-run_extract", "run_extract")

    def post(body):
        return s3_app_client.http.post(
            "/runs", headers={"Content-Type": "application/json"}, body=json.dumps(body)
        )

    one = post({"kind": "plays", "account": "friend"})
    assert one.status_code == 202
    assert one.json_body["status"] == "queued" and one.json_body["account"] == "friend"
    assert one.json_body["runs"] == [
        {"run_id": one.json_body["run_id"], "account": "friend", "status": "queued"}
    ]
    record = get_json(AccountLake(s3_lake, "friend"), f"runs/{one.json_body['run_id']}.json")
    assert (record["status"], record["streams"]) == ("queued", ["plays"])
    every = post({"kind": "plays"})
    assert every.status_code == 202
    assert [run["account"] for run in every.json_body["runs"]] == ["friend", "listener"]
    assert {run["status"] for run in every.json_body["runs"]} == {"queued"}
    assert "run_id" not in every.json_body
    assert not any(s3_lake.list("raw/"))


def test_a_run_posted_without_credentials_or_a_secret_is_not_queued_but_a_409(
    s3_env, s3_lake, tmp_path, without_credentials
):
    from app import app

    create_function("spotify-etl-test-run_extract", "run_extract")
    with stage_client(app, tmp_path / "project", without_credentials(s3_env)) as client:
        response = client.http.post("/runs", headers={"Content-Type": "application/json"})
    assert response.status_code == 409
    assert "SPOTIFY_SECRET_ID" in response.json_body["Message"]
    assert not any(s3_lake.list(""))


def test_queuing_a_run_invokes_the_extract_function_asynchronously(s3_env, s3_lake):
    accounts.register(s3_lake, ACCOUNT, {})
    client = boto3.client("lambda", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_response("invoke", {"StatusCode": 202}, expected_params=None)
        [record] = pipeline.queue_run(
            Settings.from_env(s3_env),
            kind=raw.SNAPSHOT,
            streams=("top", "saved"),
            functions=Functions(client),
        )
        stub.assert_no_pending_responses()
    assert (record.status, record.account) == ("queued", ACCOUNT)


@pytest.mark.parametrize("account", [None, ACCOUNT])
def test_the_invocation_names_the_function_event_type_and_runs(s3_env, s3_lake, account):
    accounts.register(s3_lake, ACCOUNT, {})
    client = boto3.client("lambda", region_name=REGION)
    sent: list[dict] = []  # what botocore is asked to send, before the Stubber answers
    client.meta.events.register(
        "provide-client-params.lambda.Invoke", lambda params, **_: sent.append(dict(params))
    )
    with Stubber(client) as stub:
        stub.add_response("invoke", {"StatusCode": 202})
        [record] = pipeline.queue_run(
            settings_with(s3_env, "fn"), kind="plays", account=account, functions=Functions(client)
        )
        stub.assert_no_pending_responses()
    payload = {
        "kind": "plays",
        "streams": ["plays"],
        "runs": [{"account": ACCOUNT, "run_id": record.run_id}],
        "every_account": account is None,
    }
    expected = {"FunctionName": "fn", "InvocationType": "Event", "Payload": json.dumps(payload)}
    assert sent == [expected]


def test_a_refused_invocation_fails_the_run_record_and_says_why(s3_env, s3_lake):
    accounts.register(s3_lake, ACCOUNT, {})
    client = boto3.client("lambda", region_name=REGION)
    settings = settings_with(s3_env, "fn")
    with Stubber(client) as stub:
        stub.add_client_error("invoke", "ResourceNotFoundException", "Function not found: fn")
        with pytest.raises(PipelineError, match="could not start fn"):
            pipeline.queue_run(settings, functions=Functions(client))
    [key] = list(s3_lake.list("runs/"))
    assert key.startswith(f"runs/account_id={ACCOUNT}/")
    record = get_json(s3_lake, key)
    assert record["status"] == "failed"
    assert "Function not found" in record["errors"][0]


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"run_id": "20260101T000000Z-abcdef"},
        {"runs": [{"account": ACCOUNT, "run_id": "nope"}]},
        {"runs": [{"account": "not/an/id", "run_id": "20260101T000000Z-abcdef"}]},
        {"runs": [], "kind": "daily"},
        {"runs": [], "streams": ["podcasts"]},
        {"runs": [], "streams": [{"plays": 1}]},
        {"runs": [], "streams": "plays"},
    ],
)
def test_the_extract_function_refuses_a_malformed_event(event):
    with pytest.raises(PipelineError):
        pipeline.queued_run(event)


RUN = "20260101T000000Z-abcdef"


def land_manifest(s3_lake) -> str:
    """A run's manifest in the lake, under its account, as if its extract had finished."""
    accounts.register(s3_lake, ACCOUNT, {})
    key = raw.manifest_key("2026-01-01", RUN)
    AccountLake(s3_lake, ACCOUNT).put(key, b"{}")
    return key


def test_replaying_a_transform_in_aws_invokes_the_replay_function_with_the_run_and_account(
    s3_env, s3_lake
):
    land_manifest(s3_lake)
    client = boto3.client("lambda", region_name=REGION)
    payload = json.dumps({"run_id": RUN, "account": ACCOUNT})
    expected = {"FunctionName": "fn", "InvocationType": "Event", "Payload": payload}
    with Stubber(client) as stub:
        stub.add_response("invoke", {"StatusCode": 202}, expected_params=expected)
        settings = replace(Settings.from_env(s3_env), replay_function="fn")
        outcome = pipeline.queue_replay(settings, RUN, functions=Functions(client))
        stub.assert_no_pending_responses()
    assert outcome == {"run_id": RUN, "account": ACCOUNT, "status": "queued"}


def test_the_replay_function_transforms_the_run_it_is_given(s3_app_client, s3_lake, listener):
    run_id = extract_through_the_queued_handler(listener)
    response = s3_app_client.lambda_.invoke("replay", {"run_id": run_id, "account": listener})
    assert response.payload["status"] == "transformed"
    record = get_json(AccountLake(s3_lake, listener), f"runs/{run_id}.json")
    assert record["status"] == "transformed"
    assert any(s3_lake.list(f"processed/plays/account_id={listener}/"))


def test_a_run_queued_before_midnight_and_started_after_it_is_replayed_by_its_id(
    s3_app_client, s3_env, s3_lake, listener
):
    from app import app

    create_function("spotify-etl-test-run_extract", "run_extract")
    create_function("spotify-etl-test-replay", "replay")
    before_midnight = datetime(2025, 12, 31, 23, 59, 58, tzinfo=UTC)
    [queued] = pipeline.queue_run(
        Settings.from_env(s3_env), account=listener, now=lambda: before_midnight
    )
    context = LambdaContext("run_extract", 512, max_runtime_ms=15 * 60 * 1000)
    event = {
        "kind": "snapshot",
        "streams": None,
        "runs": [{"account": listener, "run_id": queued.run_id}],
        "every_account": False,
    }
    app.handler_map["run_extract"](event, context)  # on today's clock: days after its ID's date
    record = get_json(AccountLake(s3_lake, listener), f"runs/{queued.run_id}.json")
    assert record["manifest"] == f"raw/2025-12-31/{queued.run_id}/manifest.json"
    assert record["snapshot_date"] == "2025-12-31"

    response = s3_app_client.http.post(f"/runs/{queued.run_id}/transform")
    assert response.status_code == 202, response.json_body
    event = {"run_id": queued.run_id, "account": listener}
    replayed = s3_app_client.lambda_.invoke("replay", event)
    assert replayed.payload["status"] == "transformed"
    assert any(s3_lake.list("processed/playlists/"))


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"run_id": "nope", "account": ACCOUNT},
        {"run_id": RUN},
        {"run_id": RUN, "account": ACCOUNT},
    ],
)
def test_the_replay_function_refuses_a_malformed_or_unknown_run_and_writes_nothing(
    s3_app_client, s3_lake, event
):
    accounts.register(s3_lake, ACCOUNT, {})
    assert s3_app_client.lambda_.invoke("replay", event).payload is None
    assert not any(s3_lake.list("processed/")) and not any(s3_lake.list("runs/"))


def test_posting_a_replay_on_an_s3_lake_queues_it_and_answers_at_once(s3_app_client, s3_lake):
    create_function("spotify-etl-test-replay", "replay")
    land_manifest(s3_lake)
    response = s3_app_client.http.post(f"/runs/{RUN}/transform")
    assert response.status_code == 202
    assert response.json_body == {"run_id": RUN, "status": "queued"}
    assert not any(s3_lake.list("processed/"))


def test_replaying_a_run_without_a_manifest_in_aws_is_a_404(s3_app_client, s3_lake):
    accounts.register(s3_lake, ACCOUNT, {})
    failed = RunRecord.from_json({"run_id": RUN, "status": "failed"})  # before landing
    RunStore(AccountLake(s3_lake, ACCOUNT)).save(failed)
    response = s3_app_client.http.post(f"/runs/{RUN}/transform")
    assert response.status_code == 404
    assert "has no manifest" in response.json_body["Message"]


def test_replaying_an_unknown_run_in_aws_is_a_404_saying_there_is_no_such_run(
    s3_app_client, s3_lake
):
    accounts.register(s3_lake, ACCOUNT, {})
    response = s3_app_client.http.post(f"/runs/{RUN}/transform")
    assert response.status_code == 404
    assert response.json_body["Message"].startswith(f"no run {RUN}")


def test_a_refused_replay_says_which_function_could_not_start(s3_env, s3_lake):
    land_manifest(s3_lake)
    client = boto3.client("lambda", region_name=REGION)
    settings = replace(Settings.from_env(s3_env), replay_function="fn")
    with Stubber(client) as stub:
        stub.add_client_error("invoke", "ResourceNotFoundException", "Function not found: fn")
        with pytest.raises(PipelineError, match="could not start fn"):
            pipeline.queue_replay(settings, RUN, functions=Functions(client))


def settings_with(env: dict[str, str], extract_function: str) -> Settings:
    return replace(Settings.from_env(env), extract_function=extract_function)


def create_function(name: str, handler: str) -> None:
    """A Lambda function in moto under the stage's name for one of ours."""
    iam = boto3.client("iam", region_name=REGION)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": "lambda.amazonaws.com"},
            }
        ],
    }
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("app.py", f"def {handler}(event, context):\n    return event\n")
    boto3.client("lambda", region_name=REGION).create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler=f"app.{handler}",
        Code={"ZipFile": zipped.getvalue()},
    )
