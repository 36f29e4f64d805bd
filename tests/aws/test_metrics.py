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
        [directive] = meta["CloudWatchMetrics"]
        assert directive["Namespace"] == NAMESPACE
        for dimensions in directive["Dimensions"]:
            assert all(isinstance(document[name], str) for name in dimensions)
        for metric in directive["Metrics"]:
            assert isinstance(document[metric["Name"]], int), metric
            assert metric["Unit"] == "Count"
        documents.append(document)
    return documents


def invoke(function: str, event, deployed: str | None = None):
    context = LambdaContext(deployed or f"spotify-etl-test-{function}", 512, 900_000)
    return app.handler_map[function](event, context)


def queued(kind: str = raw.PLAYS_ONLY) -> dict:
    return {"run_id": raw.new_run_id(datetime.now(UTC)), "kind": kind, "streams": None}


def manifest_event(s3_app_client, run_id: str, s3_lake) -> dict:
    manifest = get_json(s3_lake, f"runs/{run_id}.json")["manifest"]
    return s3_app_client.events.generate_s3_event(bucket=BUCKET, key=f"{PREFIX}{manifest}")


def test_an_extract_logs_its_outcome_requests_and_429s_as_its_record_says(
    s3_app_client, s3_lake, emulator, capsys
):
    emulator.faults = Faults(rate_limit=0.3, retry_after=0)
    event = queued(raw.SNAPSHOT)
    invoke("run_extract", event)
    [document] = emf_lines(capsys.readouterr().out)
    record = get_json(s3_lake, f"runs/{event['run_id']}.json")
    assert document["Function"] == "spotify-etl-test-run_extract"
    assert (document["run_id"], document["status"]) == (event["run_id"], record["status"])
    assert document["RunsSucceeded"] == 1 and document["RunsIncomplete"] == 0
    assert document["Requests"] == record["counts"]["requests"] > 0
    assert document["RateLimited"] == record["counts"]["rate_limited"] > 0


def test_a_scheduled_extract_finding_the_lease_held_logs_a_skipped_run_not_a_failed_one(
    s3_app_client, s3_lake, emulator, capsys
):
    Lease.take(s3_lake, "20261120T120000Z-abcdef", datetime.now(UTC), lambda: 900)
    invoke("plays", s3_app_client.events.generate_cw_event("Scheduled Event", "aws.events", {}, []))
    [document] = emf_lines(capsys.readouterr().out)
    assert (document["status"], document["RunsSkipped"], document["Requests"]) == ("skipped", 1, 0)
    assert document["RunsFailed"] == document["RunsIncomplete"] == document["RunsSucceeded"] == 0
    assert sum(emulator.requests.values()) == 0


def test_a_transform_logs_the_rows_it_wrote(s3_app_client, s3_lake, capsys):
    event = queued()
    invoke("run_extract", event)
    capsys.readouterr()
    outcome = invoke("on_manifest", manifest_event(s3_app_client, event["run_id"], s3_lake))
    [document] = emf_lines(capsys.readouterr().out)
    assert document["Function"] == "spotify-etl-test-on_manifest"
    assert document["RowsWritten"] == sum(outcome["rows"].values()) > 0
    assert (document["RunsSucceeded"], document["Quarantined"]) == (1, 0)


def test_a_quarantined_transform_and_a_raising_one_log_a_failed_run(
    s3_app_client, s3_lake, s3, capsys
):
    event = queued()
    invoke("run_extract", event)
    page = next(
        key for key in s3_lake.list("raw/") if event["run_id"] in key and "manifest" not in key
    )
    s3_lake.put(page, b"\x1f\x8b not gzip")
    capsys.readouterr()
    invoke("on_manifest", manifest_event(s3_app_client, event["run_id"], s3_lake))
    [quarantined] = emf_lines(capsys.readouterr().out)
    assert (quarantined["RunsFailed"], quarantined["Quarantined"]) == (1, 1)

    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    s3.delete_bucket(Bucket=BUCKET)
    key = f"{PREFIX}raw/2026-11-20/{event['run_id']}/manifest.json"
    with pytest.raises(PipelineError):  # the lake's failure, raised so Lambda retries
        invoke("on_manifest", s3_app_client.events.generate_s3_event(bucket=BUCKET, key=key))
    [failed] = emf_lines(capsys.readouterr().out)
    assert (failed["RunsFailed"], failed["RunsIncomplete"], failed["status"]) == (1, 1, "failed")


def test_the_alarms_watch_metrics_the_functions_log(s3_app_client, capsys):
    scheduled = s3_app_client.events.generate_cw_event("Scheduled Event", "aws.events", {}, [])
    invoke("plays", scheduled, deployed="spotify-etl-dev-plays")
    [document] = emf_lines(capsys.readouterr().out)
    stage = Stage("dev", "spotify-etl-dev-lake", "", "spotify_etl_dev", "spotify-etl-dev")
    ours = [alarm for alarm in alarms(stage, "arn:topic", 6) if alarm["Namespace"] == NAMESPACE]
    assert {alarm["MetricName"] for alarm in ours} == {"RunsIncomplete", "RunsSucceeded"}
    for alarm in ours:
        assert alarm["MetricName"] in document
        [dimension] = alarm["Dimensions"]
        assert dimension["Name"] in document
    plays = next(alarm for alarm in ours if alarm["AlarmName"].endswith("plays-stalled"))
    assert plays["Dimensions"] == [{"Name": "Function", "Value": document["Function"]}]
