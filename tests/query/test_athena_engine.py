"""The Athena engine: moto's seeded results for the happy path, Stubber for Athena's states."""

from __future__ import annotations

import json
import socket

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.stub import Stubber
from stand_ins import BUCKET, PREFIX, REGION

from chalicelib.accounts import register
from chalicelib.errors import ConfigError, NotFoundError, QueryError, ValidationError
from chalicelib.lake import S3Lake
from chalicelib.query.athena_engine import AthenaEngine, athena_value, execution_parameter
from chalicelib.query.named import get_query
from chalicelib.query.service import get_execution, run_query

pytestmark = pytest.mark.integration  # the AWS services, in moto

EXECUTION_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
TOP_TRACKS_COLUMNS = [
    ("rank", "bigint"),
    ("track_id", "varchar"),
    ("track_name", "varchar"),
    ("artist_names", "varchar"),
    ("plays", "bigint"),
    ("minutes", "double"),
]


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def column_info(columns):
    return [
        {
            "Name": name,
            "Label": name,
            "Type": kind,
            "CatalogName": "hive",
            "SchemaName": "",
            "TableName": "",
            "Nullable": "UNKNOWN",
            "CaseSensitive": False,
        }
        for name, kind in columns
    ]


def row(*values):
    return {"Data": [{} if value is None else {"VarCharValue": value} for value in values]}


def header(columns):
    return row(*(name for name, _ in columns))


def seed_results(rows, columns):
    """Queue a result in moto for the next execution, through moto's documented endpoint."""
    body = {"region": REGION, "results": [{"rows": rows, "column_info": column_info(columns)}]}
    response = requests.post(
        "http://motoapi.amazonaws.com/moto-api/static/athena/query-results", json=body, timeout=5
    )
    assert response.status_code == 201


@pytest.fixture
def stubbed(aws_credentials):
    client = boto3.client("athena", region_name=REGION)
    with Stubber(client) as stub:
        yield AthenaEngine("wg", "db", client), stub
        stub.assert_no_pending_responses()


def execution(state, reason=None, error=None):
    status = {"State": state}
    if reason:
        status["StateChangeReason"] = reason
    if error:
        status["AthenaError"] = {"ErrorCategory": 2, "ErrorType": 1100, "ErrorMessage": error}
    return {"QueryExecution": {"QueryExecutionId": EXECUTION_ID, "Status": status}}


def results(rows, columns, next_token=None):
    response = {
        "ResultSet": {"Rows": rows, "ResultSetMetadata": {"ColumnInfo": column_info(columns)}}
    }
    if next_token:
        response["NextToken"] = next_token
    return response


@pytest.fixture
def workgroup(aws):
    boto3.client("athena", region_name=REGION).create_work_group(
        Name="spotify-etl-test",
        Configuration={"ResultConfiguration": {"OutputLocation": "s3://results/athena/"}},
    )


def test_a_named_query_runs_on_athena_with_typed_rows(workgroup):
    seed_results(
        [
            header(TOP_TRACKS_COLUMNS),
            row("1", "t1", "Song", "A, B", "12", "40.5"),
            row("2", "t2", None, None, "7", "21.0"),
        ],
        TOP_TRACKS_COLUMNS,
    )
    engine = AthenaEngine(
        "spotify-etl-test", "spotify_etl_test", boto3.client("athena", region_name=REGION)
    )
    outcome = run_query(
        engine,
        "top_tracks",
        {"start_date": "2026-01-01", "end_date": "2026-01-31", "limit": 2, "account": "ann"},
        sleep=Sleeps(),
    )
    assert outcome["state"] == "SUCCEEDED"
    assert outcome["columns"] == [{"name": n, "type": t} for n, t in TOP_TRACKS_COLUMNS]
    assert outcome["rows"] == [[1, "t1", "Song", "A, B", 12, 40.5], [2, "t2", None, None, 7, 21.0]]
    assert outcome["next_token"] is None


def test_the_start_binds_dates_quoted_and_integers_bare_in_the_workgroup_and_database(stubbed):
    engine, stub = stubbed
    query = get_query("top_tracks")
    stub.add_response(
        "start_query_execution",
        {"QueryExecutionId": EXECUTION_ID},
        {
            "QueryString": query.sql,
            "QueryExecutionContext": {"Database": "db", "Catalog": "AwsDataCatalog"},
            "WorkGroup": "wg",
            "ExecutionParameters": ["'2026-01-01'", "'2026-01-31'", "10"],
        },
    )
    assert engine.start(query, ["2026-01-01", "2026-01-31", 10]) == EXECUTION_ID


@pytest.mark.parametrize("value", ["2026-13-01", "1 OR 1=1", "2026-01-01' OR '1'='1", True, 1.5])
def test_a_value_that_is_no_date_or_integer_is_never_sent(value):
    with pytest.raises(ValidationError):
        execution_parameter(value)


@pytest.mark.parametrize(
    ("state", "reason", "error", "message"),
    [
        (
            "FAILED",
            "fallback",
            "COLUMN_NOT_FOUND: line 3:5: Column 'x' cannot be resolved",
            "Column 'x' cannot be resolved",
        ),
        ("CANCELLED", "Query was cancelled by user", None, "cancelled by user"),
        ("FAILED", "Query exhausted resources at this scale factor", None, "exhausted resources"),
    ],
)
def test_a_failed_or_cancelled_execution_is_a_query_error_with_athenas_message(
    stubbed, state, reason, error, message
):
    engine, stub = stubbed
    stub.add_response(
        "get_query_execution", execution(state, reason, error), {"QueryExecutionId": EXECUTION_ID}
    )
    with pytest.raises(QueryError, match=message) as raised:
        get_execution(engine, EXECUTION_ID)
    assert state in str(raised.value)


def test_the_service_polls_a_queued_execution_with_the_injected_sleep(stubbed):
    engine, stub = stubbed
    columns = [("hour", "integer"), ("plays", "bigint")]
    stub.add_response("start_query_execution", {"QueryExecutionId": EXECUTION_ID}, None)
    for state in ("QUEUED", "RUNNING", "SUCCEEDED"):
        stub.add_response("get_query_execution", execution(state), None)
    stub.add_response(
        "get_query_results",
        results([header(columns), row("9", "3")], columns),
        {"QueryExecutionId": EXECUTION_ID, "MaxResults": 101},
    )
    sleeps = Sleeps()
    outcome = run_query(engine, "listening_by_hour", {"account": "ann"}, sleep=sleeps)
    assert len(sleeps) == 2
    assert outcome["rows"] == [[9, 3]]


def test_a_still_running_execution_answers_its_state_without_rows(stubbed):
    engine, stub = stubbed
    stub.add_response("get_query_execution", execution("RUNNING"), None)
    assert get_execution(engine, EXECUTION_ID) == {"execution_id": EXECUTION_ID, "state": "RUNNING"}


def test_pages_follow_athenas_next_token_and_only_the_first_has_a_header(stubbed):
    engine, stub = stubbed
    columns = [("n", "integer")]
    stub.add_response("get_query_execution", execution("SUCCEEDED"), None)
    stub.add_response(
        "get_query_results",
        results([header(columns), row("1"), row("2")], columns, "token-2"),
        {"QueryExecutionId": EXECUTION_ID, "MaxResults": 3},
    )
    stub.add_response("get_query_execution", execution("SUCCEEDED"), None)
    stub.add_response(
        "get_query_results",
        results([row("3")], columns),
        {"QueryExecutionId": EXECUTION_ID, "MaxResults": 2, "NextToken": "token-2"},
    )
    first = get_execution(engine, EXECUTION_ID, page_size=2)
    assert (first["rows"], first["next_token"]) == ([[1], [2]], "token-2")
    second = get_execution(engine, EXECUTION_ID, "token-2", page_size=2)
    assert (second["rows"], second["next_token"]) == ([[3]], None)


def test_a_missing_workgroup_says_to_run_the_setup(aws):
    engine = AthenaEngine("absent", "db", boto3.client("athena", region_name=REGION))
    with pytest.raises(ConfigError, match="glue/setup.py"):
        engine.start(get_query("listening_by_hour"), ["2026-01-01", "2026-01-31"])


def test_an_unknown_execution_is_not_found(stubbed):
    engine, stub = stubbed
    stub.add_client_error(
        "get_query_execution",
        "InvalidRequestException",
        f"QueryExecution {EXECUTION_ID} was not found",
    )
    with pytest.raises(NotFoundError):
        engine.status(EXECUTION_ID)


def test_a_foreign_next_token_is_a_bad_request(stubbed):
    engine, stub = stubbed
    stub.add_client_error("get_query_results", "InvalidRequestException", "Invalid NextToken")
    with pytest.raises(ValidationError, match="next_token"):
        engine.results(EXECUTION_ID, "forged", 10)


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("42", "bigint", 42),
        ("3", "integer", 3),
        ("2.5", "double", 2.5),
        ("7.0", "decimal(10,1)", 7),
        ("7.5", "decimal(10,1)", 7.5),
        ("true", "boolean", True),
        ("2026-11-26", "date", "2026-11-26"),
        ("2026-11-26 13:52:00.000", "timestamp", "2026-11-26T13:52:00"),
        ("[pop, rock]", "array(varchar)", ["pop", "rock"]),
        ("[]", "array(varchar)", []),
        (None, "varchar", None),
        ("x", "varchar", "x"),
    ],
)
def test_result_cells_become_the_json_values_duckdb_gives(text, kind, value):
    assert athena_value(text, kind) == value


def test_the_rest_api_answers_a_named_query_from_athena(s3_app_client, workgroup):
    register(S3Lake(boto3.client("s3", region_name=REGION), BUCKET, PREFIX), "ann", {})
    columns = [("weekday", "bigint"), ("hour", "bigint"), ("plays", "bigint")]
    seed_results([header(columns), row("1", "9", "4")], columns)
    response = s3_app_client.http.post(
        "/queries/listening_by_hour",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"params": {"start_date": "2026-01-01"}, "wait_seconds": 5}),
    )
    assert response.status_code == 200, response.json_body
    assert response.json_body["rows"] == [[1, 9, 4]]


def test_the_engine_builds_its_client_only_when_first_used(aws_credentials, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("no client at construction")

    monkeypatch.setattr(boto3, "client", refuse)
    AthenaEngine("wg", "db")


@pytest.fixture
def closed_port():
    """A local port nothing listens on (discard): connecting is refused."""
    return 9


@pytest.fixture
def silent_port():
    """A local port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.mark.parametrize("port", ["closed_port", "silent_port"])
def test_an_athena_that_cannot_be_reached_or_does_not_answer_is_a_query_error(
    aws_credentials, request, port
):
    port = request.getfixturevalue(port)
    config = Config(connect_timeout=0.5, read_timeout=0.2, retries={"total_max_attempts": 1})
    client = boto3.client(
        "athena", region_name=REGION, endpoint_url=f"http://127.0.0.1:{port}", config=config
    )
    with pytest.raises(QueryError, match=f"get_query_execution for {EXECUTION_ID} failed: "
                       "Athena could not be reached or did not answer in time .*; try again"):
        AthenaEngine("wg", "db", client).status(EXECUTION_ID)


def test_an_athena_call_without_credentials_is_a_query_error_saying_so(no_credentials):
    client = boto3.session.Session().client("athena", region_name=REGION)  # none cached
    with pytest.raises(QueryError, match="get_query_execution .* Unable to locate credentials"):
        AthenaEngine("wg", "db", client).status(EXECUTION_ID)


def test_the_default_client_gives_up_within_the_api_lambdas_30_seconds(aws, monkeypatch):
    built = []
    client = boto3.client

    def keep(*args, **kwargs):
        built.append(client(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(boto3, "client", keep)
    with pytest.raises(ConfigError):
        AthenaEngine("absent", "db").start(get_query("listening_by_hour"), [])
    config = built[0].meta.config
    attempts = config.retries["total_max_attempts"]
    assert (config.connect_timeout + config.read_timeout) * attempts < 30
