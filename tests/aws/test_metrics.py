"""Each run and transform logs its outcome as CloudWatch Embedded Metric Format on standard
output (moto's S3, the emulator): valid EMF, the run record's own numbers, and the metrics
glue/setup.py's alarms watch."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from chalice.local import LambdaContext
from stand_ins import BUCKET, PREFIX

from app import app
from chalicelib import raw
from chalicelib.accounts import AccountLake
from chalicelib.errors import PipelineError
from chalicelib.lake import get_json
from chalicelib.lease import Lease
from chalicelib.metrics import NAMESPACE
from emulator.config import Faults
from glue.operations import alarms
from spotify_etl.stage import Stage

pytestmark = [pytest.mark.integration, pytest.mark.account(seed=3, clocked=True)]


def emf_lines(text: str) -> list[dict]:
    """The EMF documents among the lines, each checked against the format's rules."""
    documents = []
    for line in text.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        document = json.loads(line)
        meta = document["_aws"]
        assert isinstance(meta["Timestamp"], int)
        for directive in meta["CloudWatchMetrics"]:
            assert directive["Namespace"] == NAMESPACE
            for dimensions in directive["Dimensions"]:
                assert all(isinstance(document[name], str) for name in dimensions)
            for metric in directive["Metrics"]:
                assert isinstance(document[metric["Name"]], int), metric
                assert metric["Unit"] == "Count"
        documents.append(document)
    return documents


def by_dimensions(document: dict) -> dict[tuple[str, ...], list[str]]:
    """The metrics of a document by the dimension set they are logged under."""
    return {
        tuple(dimensions): [metric["Name"] for metric in directive["Metrics"]]
        for directive in document["_aws"]["CloudWatchMetrics"]
        for dimensions in directive["Dimensions"]
    }


def invoke(function: str, event, deployed: str | None = None):
    context = LambdaContext(deployed or f"spotify-etl-test-{function}", 512, 900_000)
    return app.handler_map[function](event, context)


def queued(account: str, kind: str = raw.PLAYS_ONLY) -> dict:
    run = {"account": account, "run_id": raw.new_run_id(datetime.now(UTC))}
    return {"kind": kind, "streams": None, "runs": [run], "every_account": False}


def run_id_of(event: dict) -> str:
    return event["runs"][0]["run_id"]


def manifest_event(s3_app_client, event: dict, s3_lake) -> dict:
    [run] = event["runs"]
    view = AccountLake(s3_lake, run["account"])
    manifest = get_json(view, f"runs/{run['run_id']}.json")["manifest"]
    key = f"{PREFIX}{view.key(manifest)}"
    return s3_app_client.events.generate_s3_event(bucket=BUCKET, key=key)


def scheduled_event(s3_app_client) -> dict:
    return s3_app_client.events.generate_cw_event("Scheduled Event", "aws.events", {}, [])


def test_an_extract_logs_its_outcome_requests_and_429s_as_its_record_says(
    s3_app_client, s3_lake, emulator, listener, capsys
):
    emulator.faults = Faults(rate_limit=0.3, retry_after=0)
    event = queued(listener, raw.SNAPSHOT)
    invoke("run_extract", event)
    [document] = emf_lines(capsys.readouterr().out)
    record = get_json(AccountLake(s3_lake, listener), f"runs/{run_id_of(event)}.json")
    assert document["Function"] == "spotify-etl-test-run_extract"
    assert (document["run_id"], document["status"]) == (run_id_of(event), record["status"])
    assert document["RunsSucceeded"] == 1 and document["RunsIncomplete"] == 0
    assert document["Requests"] == record["counts"]["requests"] > 0
    assert document["RateLimited"] == record["counts"]["rate_limited"] > 0


def test_a_run_of_an_account_logs_its_incomplete_runs_by_account_as_well(
    s3_app_client, emulator, listener, capsys
):
    invoke("run_extract", queued(listener))
    [extracted] = emf_lines(capsys.readouterr().out)
    assert extracted["Account"] == listener
    assert by_dimensions(extracted) == {
        ("Function",): [
            "RunsSucceeded",
            "RunsPartial",
            "RunsFailed",
            "RunsSkipped",
            "RunsIncomplete",
            "Requests",
            "RateLimited",
        ],
        ("Function", "Account"): ["RunsIncomplete"],
    }
    emulator.revoke_refresh_token()
    invoke("plays", scheduled_event(s3_app_client))
    [failed] = emf_lines(capsys.readouterr().out)
    assert (failed["Account"], failed["RunsIncomplete"]) == (listener, 1)
    assert failed["status"] == "failed"
    assert ("Function", "Account") in by_dimensions(failed)


def test_a_run_whose_account_is_unknown_logs_by_function_alone(s3_app_client, emulator, capsys):
    emulator.revoke_refresh_token()  # the first run: GET /me never says whose the token is
    invoke("plays", scheduled_event(s3_app_client))
    [document] = emf_lines(capsys.readouterr().out)
    assert document["RunsFailed"] == document["RunsIncomplete"] == 1
    assert "Account" not in document
    assert list(by_dimensions(document)) == [("Function",)]


def test_a_scheduled_extract_finding_the_lease_held_logs_a_skipped_run_not_a_failed_one(
    s3_app_client, s3_lake, emulator, capsys
):
    Lease.take(s3_lake, "20261120T120000Z-abcdef", datetime.now(UTC), lambda: 900)
    invoke("plays", scheduled_event(s3_app_client))
    [document] = emf_lines(capsys.readouterr().out)
    assert (document["status"], document["RunsSkipped"], document["Requests"]) == ("skipped", 1, 0)
    assert document["RunsFailed"] == document["RunsIncomplete"] == document["RunsSucceeded"] == 0
    assert sum(emulator.requests.values()) == 0


def test_a_transform_logs_the_rows_it_wrote(s3_app_client, s3_lake, listener, capsys):
    event = queued(listener)
    invoke("run_extract", event)
    capsys.readouterr()
    outcome = invoke("on_manifest", manifest_event(s3_app_client, event, s3_lake))
    [document] = emf_lines(capsys.readouterr().out)
    assert document["Function"] == "spotify-etl-test-on_manifest"
    assert document["RowsWritten"] == sum(outcome["rows"].values()) > 0
    assert (document["RunsSucceeded"], document["Quarantined"]) == (1, 0)


def test_a_quarantined_transform_and_a_raising_one_log_a_failed_run(
    s3_app_client, s3_lake, s3, listener, capsys
):
    event = queued(listener)
    invoke("run_extract", event)
    page = next(
        key for key in s3_lake.list("raw/") if run_id_of(event) in key and "manifest" not in key
    )
    s3_lake.put(page, b"\x1f\x8b not gzip")
    capsys.readouterr()
    invoke("on_manifest", manifest_event(s3_app_client, event, s3_lake))
    [quarantined] = emf_lines(capsys.readouterr().out)
    assert (quarantined["RunsFailed"], quarantined["Quarantined"]) == (1, 1)

    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    s3.delete_bucket(Bucket=BUCKET)
    key = f"{PREFIX}raw/account_id={listener}/2026-11-20/{run_id_of(event)}/manifest.json"
    with pytest.raises(PipelineError):  # the lake's failure, raised so Lambda retries
        invoke("on_manifest", s3_app_client.events.generate_s3_event(bucket=BUCKET, key=key))
    [failed] = emf_lines(capsys.readouterr().out)
    assert (failed["RunsFailed"], failed["RunsIncomplete"], failed["status"]) == (1, 1, "failed")


def test_the_alarms_watch_metrics_the_functions_log(s3_app_client, listener, capsys):
    invoke("plays", scheduled_event(s3_app_client), deployed="spotify-etl-dev-plays")
    [document] = emf_lines(capsys.readouterr().out)
    stage = Stage("dev", "spotify-etl-dev-lake", "", "spotify_etl_dev", "spotify-etl-dev")
    wanted = alarms(stage, "arn:topic", 6, [listener])
    ours = [alarm for alarm in wanted if alarm.get("Namespace") == NAMESPACE]
    assert {alarm["MetricName"] for alarm in ours} == {"RunsIncomplete", "RunsSucceeded"}
    for alarm in ours:
        assert alarm["MetricName"] in document
        [dimension] = alarm["Dimensions"]
        assert dimension["Name"] in document
    plays = next(alarm for alarm in ours if alarm["AlarmName"].endswith("plays-stalled"))
    assert plays["Dimensions"] == [{"Name": "Function", "Value": document["Function"]}]

    [account] = [alarm for alarm in wanted if alarm["AlarmName"].endswith(f"{listener}-incomplete")]
    watched = [q["MetricStat"]["Metric"] for q in account["Metrics"] if "MetricStat" in q]
    logged = {name: document[name] for name in ("Function", "Account")}
    by_account = by_dimensions(document)[("Function", "Account")]
    assert any(
        {d["Name"]: d["Value"] for d in metric["Dimensions"]} == logged
        and metric["MetricName"] in by_account
        and metric["Namespace"] == NAMESPACE
        for metric in watched
    )
