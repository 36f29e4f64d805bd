"""Every Lambda function of the app run once or more in moto against the emulator, under the
dev stage's own names, with each AWS call recorded under the function that made it: what
the per-function policies are checked against.

The run covers each function's paths that call AWS, for two listeners (the secret holding
the first one's token in the one-account shape and the second's in its `accounts` map): a
snapshot of both whose tokens Spotify rotates, a plays poll, queued extracts, each run's
transform, a replay, an import and a broken one, an upload URL for an account the lake does
not know yet, and every route of the API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import requests
from chalice.local import LambdaContext
from chalice_stage import s3_event, stage_client
from moto import mock_aws
from stand_ins import REGION, START

from app import app
from emulator import Emulator
from emulator.clock import SimulatedClock
from emulator.config import Faults
from emulator.export import write_export
from tests.aws.recorder import Recorder
from tests.aws.test_pipeline_on_s3 import create_function

PROJECT = Path(__file__).resolve().parents[2]
JSON = {"Content-Type": "application/json"}


def stage_variables(stage: str) -> dict[str, str]:
    config = json.loads((PROJECT / ".chalice" / "config.json").read_text())
    return {**config["environment_variables"], **config["stages"][stage]["environment_variables"]}


@contextmanager
def recorded_run(tmp_path: Path, monkeypatch) -> Iterator[dict[str, list]]:
    """Moto, fake credentials and a clocked emulator for the scenario; its recorded calls."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    with (
        mock_aws(config={"lambda": {"use_docker": False}}),
        Emulator(seed=8, users=2, clock=SimulatedClock(START).time) as emulator,
    ):
        yield dict(run_every_function(emulator, tmp_path, monkeypatch).calls)


def run_every_function(emulator, tmp_path: Path, monkeypatch) -> Recorder:
    """The recorded calls of every function, on the dev stage's resources in moto."""
    variables = stage_variables("dev")
    spotify = emulator.variables()
    env = {
        **variables,
        "SPOTIFY_API_URL": spotify["SPOTIFY_API_URL"],
        "SPOTIFY_AUTH_URL": spotify["SPOTIFY_AUTH_URL"],
        "SPOTIFY_RATE_LIMIT": "0",
    }
    for name in spotify:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    bucket = env["LAKE_URI"].removeprefix("s3://")
    _provision(env, bucket, spotify, emulator.accounts_file_data())
    first, second = (user.user_id for user in emulator.users)
    s3 = boto3.client("s3", region_name=REGION)

    recorder = Recorder()
    with (
        recorder.installed(),
        stage_client(app, tmp_path / "project", env, lambda_timeout=900) as client,
    ):

        def invoke(function: str, event: Any) -> Any:
            """The handler as Lambda runs it, with its deployed timeout (chalice.test's
            context gives every function three seconds)."""
            context = LambdaContext(function, 512, max_runtime_ms=900_000)
            with recorder.running(function):
                return app.handler_map[function](event, context)

        def route(method: str, path: str, body: Any = None) -> Any:
            with recorder.running("api_handler"):
                request = getattr(client.http, method)
                options = {"headers": JSON, "body": json.dumps(body)} if body is not None else {}
                response = request(path, **options)
            assert response.status_code < 300, (path, response.body[:500])
            return response

        def transform_new_runs() -> None:
            for key in _manifests(s3, bucket) - transformed:
                invoke("on_manifest", s3_event(bucket, key))
                transformed.add(key)

        transformed: set[str] = set()
        scheduled = client.events.generate_cw_event("Scheduled Event", "aws.events", {}, [])
        emulator.faults = Faults(rotate_refresh_token=True)
        invoke("snapshot", scheduled)
        emulator.faults = Faults()
        transform_new_runs()
        invoke("snapshot", scheduled)  # an unchanged account: what a later snapshot reads
        invoke("plays", scheduled)
        transform_new_runs()

        runs = route("post", "/runs", {"kind": "plays"}).json_body["runs"]
        assert sorted(run["account"] for run in runs) == sorted((first, second))
        event = {"kind": "plays", "streams": [], "runs": runs, "every_account": True}
        invoke("run_extract", event)
        [queued] = [run for run in runs if run["account"] == first]
        [page, *_] = sorted(_pages(s3, bucket, queued["run_id"]))
        s3.put_object(Bucket=bucket, Key=page, Body=b"\x1f\x8b truncated")  # a damaged page
        transform_new_runs()  # quarantines the run
        invoke("replay", {"run_id": queued["run_id"], "account": first})

        export = write_export(emulator.world, tmp_path / "my_spotify_data.zip", emulator.clock())
        broken = tmp_path / "broken.zip"
        broken.write_bytes(export.read_bytes()[: export.stat().st_size // 2])
        route("post", "/imports", {"account": "newcomer"})  # added to the lake's register
        for path in (export, broken):
            upload = route("post", "/imports", {"filename": path.name, "account": first})
            upload = upload.json_body
            requests.put(upload["url"], data=path.read_bytes(), timeout=30).raise_for_status()
            # A presigned PUT is authorized as the API function that signed it.
            put = {"Bucket": bucket, "Key": upload["key"]}
            recorder.add("api_handler", "s3", "put_object", put)
            invoke("on_import", s3_event(bucket, upload["key"]))
        transform_new_runs()

        run_id = queued["run_id"]
        route("get", "/health")
        route("get", "/accounts")
        route("get", f"/runs?account={first}")
        route("get", f"/runs/{run_id}")
        route("post", f"/runs/{run_id}/transform", {"account": first})
        route("get", "/queries")
        top = {"params": {"account": first}, "wait_seconds": 0}
        started = route("post", "/queries/top_tracks", top).json_body
        route("get", f"/queries/executions/{started['execution_id']}")
        route("post", "/queries/listening_time", {"params": {"monthly": 1, "account": second}})
        route("get", f"/dashboard?account={first}")
        link = route("post", "/dashboard/links", {"hours": 1, "account": second}).json_body
        route("get", "/" + link["url"].split("://", 1)[1].split("/", 1)[1])
    return recorder


def _provision(
    env: dict[str, str], bucket: str, spotify: dict[str, str], tokens: dict[str, dict]
) -> None:
    """The stage's bucket, secrets, workgroup and functions; the secret keeps the first
    user's token in the one-account shape, as a deployment from before accounts did, and
    the second user's in its `accounts` map, as `spotify-etl auth` adds a listener."""
    boto3.client("s3", region_name=REGION).create_bucket(Bucket=bucket)
    added = {user: entry for user, entry in tokens.items()
             if entry["refresh_token"] != spotify["SPOTIFY_REFRESH_TOKEN"]}  # fmt: skip
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name=env["SPOTIFY_SECRET_ID"],
        SecretString=json.dumps(
            {
                "client_id": spotify["SPOTIFY_CLIENT_ID"],
                "client_secret": spotify["SPOTIFY_CLIENT_SECRET"],
                "refresh_token": spotify["SPOTIFY_REFRESH_TOKEN"],
                "accounts": added,
            }
        ),
    )
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name=env["DASHBOARD_KEY_SECRET_ID"], SecretString=json.dumps({"key": "k" * 64})
    )
    boto3.client("athena", region_name=REGION).create_work_group(
        Name=env["ATHENA_WORKGROUP"],
        Configuration={"ResultConfiguration": {"OutputLocation": f"s3://{bucket}/athena-results/"}},
    )
    create_function(env["EXTRACT_FUNCTION"], "run_extract")
    create_function(env["REPLAY_FUNCTION"], "replay")


def _pages(s3, bucket: str, run_id: str) -> set[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="raw/")
    return {
        item["Key"]
        for page in pages
        for item in page.get("Contents", [])
        if f"/{run_id}/" in item["Key"] and not item["Key"].endswith("manifest.json")
    }


def _manifests(s3, bucket: str) -> set[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="raw/")
    return {
        item["Key"]
        for page in pages
        for item in page.get("Contents", [])
        if item["Key"].endswith("manifest.json")
    }
