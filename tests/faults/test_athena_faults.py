"""Athena failing a named query (botocore Stubber in place of Athena): FAILED, CANCELLED, a
query still running when the wait ends, and a table missing from the Glue catalog. Each
is a clear QueryError or state, and the REST route answers Chalice's error shape."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber
from chalice_stage import stage_client

from chalicelib.accounts import register
from chalicelib.errors import QueryError
from chalicelib.query.athena_engine import AthenaEngine
from chalicelib.query.service import get_execution, run_query

from .conftest import ACCOUNT, Sleeps

EXECUTION_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
LISTENER = "listener"
PARAMS = {"start_date": "2026-11-01", "end_date": "2026-11-30", "account": LISTENER}
MISSING_TABLE = (
    "TABLE_NOT_FOUND: line 3:6: Table 'awsdatacatalog.spotify_etl_dev.plays' does not exist"
)
pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fault_case"), ACCOUNT]


def execution(state: str, error: str | None = None, reason: str | None = None) -> dict:
    status: dict = {"State": state}
    if error:
        status["AthenaError"] = {"ErrorCategory": 2, "ErrorType": 1006, "ErrorMessage": error}
    if reason:
        status["StateChangeReason"] = reason
    return {"QueryExecution": {"QueryExecutionId": EXECUTION_ID, "Status": status}}


@pytest.fixture
def athena(aws_credentials):
    client = boto3.client("athena", region_name="us-east-1")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def started(stub, *states: dict) -> None:
    stub.add_response("start_query_execution", {"QueryExecutionId": EXECUTION_ID}, None)
    for state in states:
        stub.add_response("get_query_execution", state, {"QueryExecutionId": EXECUTION_ID})


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


CASES = {
    "FAILED": (execution("FAILED", error="SYNTAX_ERROR: line 1:8"), "FAILED: SYNTAX_ERROR"),
    "CANCELLED": (execution("CANCELLED", reason="Query cancelled by user"), "CANCELLED: Query"),
}


@pytest.mark.parametrize("outcome, message", CASES.values(), ids=CASES.keys())
def test_a_failed_or_cancelled_execution_is_a_query_error_naming_its_state_and_reason(
    athena, outcome, message
):
    client, stub = athena
    started(stub, execution("RUNNING"), outcome)
    engine = AthenaEngine("spotify-etl-dev", "spotify_etl_dev", client)
    with pytest.raises(QueryError, match=f"{EXECUTION_ID} {message}"):
        run_query(engine, "top_tracks", PARAMS, sleep=Sleeps())


def test_a_query_still_running_when_the_wait_ends_answers_its_state_to_poll(athena):
    client, stub = athena
    clock = Clock()
    started(stub, *[execution("RUNNING")] * 28)  # polls at 0.2, 0.5, then each second
    engine = AthenaEngine("spotify-etl-dev", "spotify_etl_dev", client)
    outcome = run_query(
        engine, "top_tracks", PARAMS, wait_seconds=60, sleep=clock.sleep, clock=clock
    )
    assert outcome == {"execution_id": EXECUTION_ID, "state": "RUNNING"}
    assert clock.now == 25.0  # wait_seconds is capped at 25: API Gateway answers within 29 s
    stub.add_response("get_query_execution", execution("RUNNING"), None)
    assert get_execution(engine, EXECUTION_ID)["state"] == "RUNNING"


def test_a_table_missing_from_the_catalog_is_a_query_error_that_says_to_run_the_setup(athena):
    client, stub = athena
    started(stub, execution("FAILED", error=MISSING_TABLE))
    engine = AthenaEngine("spotify-etl-dev", "spotify_etl_dev", client)
    with pytest.raises(QueryError, match="does not exist; create the workgroup and tables"):
        run_query(engine, "top_tracks", PARAMS, sleep=Sleeps())


@pytest.fixture
def athena_app(athena, env, lake, tmp_path, monkeypatch):
    """The REST API on a stage whose engine is Athena, its client the stubbed one, over a
    lake of one account."""
    from app import app

    register(lake, LISTENER, {})
    client, stub = athena
    real_client = boto3.client
    monkeypatch.setattr(
        boto3,
        "client",
        lambda service, *a, **k: (
            client if service == "athena" else real_client(service, *a, **k)
        ),  # fmt: skip
    )
    variables = {**env, "QUERY_ENGINE": "athena", "GLUE_DATABASE": "spotify_etl_dev",
                 "ATHENA_WORKGROUP": "spotify-etl-dev"}  # fmt: skip
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with stage_client(app, tmp_path / "athena-project", variables) as http_client:
        yield http_client.http, stub


def test_the_route_answers_a_missing_table_as_chalices_error_with_what_to_do(athena_app):
    http, stub = athena_app
    started(stub, execution("FAILED", error=MISSING_TABLE))
    response = http.post(
        "/queries/top_tracks",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"params": PARAMS, "wait_seconds": 0}),
    )
    body = response.json_body
    assert set(body) == {"Code", "Message"} and "Traceback" not in response.body.decode()
    assert "TABLE_NOT_FOUND" in body["Message"] and "glue/setup.py" in body["Message"]
    assert response.status_code == 500  # the deployment is missing a table: not the caller's
