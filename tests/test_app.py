"""The Chalice handlers and routes through chalice.test.Client, on the emulator and a local lake."""

import json

import pytest
from chalice.local import LambdaContext
from chalice_stage import stage_client

from chalicelib import raw
from chalicelib.accounts import scoped_key
from chalicelib.lake import get_json

FIFTEEN_MINUTES = 15 * 60 * 1000


def post(client, path, body=None, raw_body=None):
    payload = raw_body if raw_body is not None else json.dumps(body or {})
    return client.http.post(path, headers={"Content-Type": "application/json"}, body=payload)


def run_records(lake):
    return [get_json(lake, key) for key in lake.list("runs/")]


def scheduled(client, name, runtime_ms=FIFTEEN_MINUTES):
    """Invoke a schedule handler with its EventBridge event, as a Lambda of that timeout."""
    from app import app

    event = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    return app.handler_map[name](event, LambdaContext(name, 1024, max_runtime_ms=runtime_ms))


def test_health_answers_ok(app_client):
    response = app_client.http.get("/health")
    assert response.status_code == 200
    assert response.json_body == {"status": "ok"}


def test_posting_a_run_extracts_and_transforms_it_on_a_local_lake(app_client, lake):
    response = post(app_client, "/runs")
    assert response.status_code == 202
    run_id = response.json_body["run_id"]
    assert response.json_body["status"] == "transformed"
    record = app_client.http.get(f"/runs/{run_id}").json_body
    assert record["transform"]["rows"]["playlist_items"] > 0
    assert any(lake.list("processed/playlists/"))


def test_listing_runs_shows_the_newest_first(app_client):
    first = post(app_client, "/runs", {"kind": "plays"}).json_body["run_id"]
    second = post(app_client, "/runs", {"kind": "plays"}).json_body["run_id"]
    runs = app_client.http.get("/runs?limit=5").json_body["runs"]
    assert [r["run_id"] for r in runs] == sorted([first, second], reverse=True)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/runs/not-a-run", 400),
        ("/runs/20260101T000000Z-abcdef", 404),
        ("/runs?limit=0", 400),
        ("/runs?limit=ten", 400),
    ],
)
def test_bad_or_unknown_run_requests_get_a_4xx_with_a_message(app_client, path, status):
    response = app_client.http.get(path)
    assert response.status_code == status
    assert set(response.json_body) == {"Code", "Message"}
    assert response.json_body["Message"]


@pytest.mark.parametrize(
    "raw_body",
    [
        "{not json",
        "[1, 2]",
        '{"kind": "hourly"}',
        '{"kind": ["snapshot"]}',
        '{"streams": ["everything"]}',
        '{"streams": [["plays"]]}',
        '{"run": 1}',
    ],
)
def test_a_malformed_run_request_gets_a_400_that_says_what_was_wrong(app_client, raw_body, lake):
    response = post(app_client, "/runs", raw_body=raw_body)
    assert response.status_code == 400
    assert response.json_body["Code"] == "BadRequestError"
    assert run_records(lake) == []


def test_a_run_posted_without_credentials_is_a_409_saying_what_to_set_and_leaves_no_run(
    env, lake, tmp_path, without_credentials
):
    from app import app

    with stage_client(app, tmp_path / "project", without_credentials(env)) as client:
        response = post(client, "/runs")
    assert response.status_code == 409
    assert response.json_body["Code"] == "ConflictError"
    assert "SPOTIFY_REFRESH_TOKEN" in response.json_body["Message"]
    assert run_records(lake) == []


def test_the_daily_schedule_runs_a_snapshot_extract(app_client, lake):
    scheduled(app_client, "snapshot")
    [record] = run_records(lake)
    assert record["kind"] == "snapshot"
    assert record["status"] == "extracted"


def test_the_frequent_schedule_runs_a_plays_extract(app_client, lake):
    scheduled(app_client, "plays")
    [record] = run_records(lake)
    assert (record["kind"], record["streams"]) == ("plays", ["plays"])


def test_a_lambda_about_to_time_out_lands_what_it_has_as_a_partial_run(app_client, lake):
    scheduled(app_client, "plays")  # the lake knows the account: the run is its own
    app_client.lambda_.invoke(  # chalice.test's Lambda context has 3 s to run: too little
        "snapshot",
        app_client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
        ),
    )
    [record] = [r for r in run_records(lake) if r["kind"] == "snapshot"]
    assert record["status"] == "partial"
    assert "out of time" in record["errors"][0]
    assert lake.exists(scoped_key(record["manifest"], record["account"]))


def test_a_failed_scheduled_run_leaves_a_failed_record_under_the_account(
    app_client, lake, emulator
):
    scheduled(app_client, "plays")
    emulator.revoke_refresh_token()
    scheduled(app_client, "snapshot")
    [record] = [r for r in run_records(lake) if r["kind"] == "snapshot"]
    assert record["status"] == "failed"
    assert record["account"] == emulator.users[0].user_id
    assert "spotify-etl auth" in record["errors"][0]


def test_a_first_run_failing_before_spotify_says_whose_it_is_is_counted_failed(
    app_client, lake, emulator, capsys
):
    emulator.revoke_refresh_token()
    scheduled(app_client, "snapshot")
    assert run_records(lake) == []  # no account to keep it under
    [document] = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line
    ]
    assert document["RunsFailed"] == document["RunsIncomplete"] == 1
    assert "Account" not in document


def test_the_manifest_event_transforms_the_run_and_a_duplicate_changes_nothing(app_client, lake):
    scheduled(app_client, "plays")
    [record] = run_records(lake)
    key = scoped_key(record["manifest"], record["account"])
    event = app_client.events.generate_s3_event(bucket="local", key=key)
    first = app_client.lambda_.invoke("on_manifest", event).payload
    tables = {key: lake.get(key) for key in lake.list("processed/")}
    second = app_client.lambda_.invoke("on_manifest", event).payload
    assert first["status"] == second["status"] == "transformed"
    assert {key: lake.get(key) for key in lake.list("processed/")} == tables
    assert any(key.startswith("processed/plays/") for key in tables)


def test_replaying_a_runs_transform_answers_202(app_client):
    run_id = post(app_client, "/runs", {"kind": "plays"}).json_body["run_id"]
    response = post(app_client, f"/runs/{run_id}/transform")
    assert response.status_code == 202
    assert response.json_body == {"run_id": run_id, "status": "transformed"}


def test_replaying_a_run_that_never_landed_is_a_404(app_client):
    response = post(app_client, "/runs/20260101T000000Z-abcdef/transform")
    assert response.status_code == 404


def test_the_named_queries_are_listed_with_typed_parameters(app_client):
    queries = {q["name"]: q for q in app_client.http.get("/queries").json_body["queries"]}
    assert {"top_artists", "top_tracks", "listening_by_hour", "playlist_changes"} <= set(queries)
    params = {p["name"]: p["type"] for p in queries["top_tracks"]["params"]}
    assert params == {
        "start_date": "date",
        "end_date": "date",
        "limit": "integer",
        "account": "account",
    }


def test_a_named_query_answers_rows_computed_from_the_lake(app_client):
    record = post(app_client, "/runs").json_body
    day = record["run_id"][:8]
    date = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    body = {"params": {"start_date": "2020-01-01", "end_date": date, "limit": 3}}
    response = post(app_client, "/queries/top_tracks", body)
    assert response.status_code == 200
    result = response.json_body
    assert [c["name"] for c in result["columns"]][:3] == ["rank", "track_id", "track_name"]
    assert [row[0] for row in result["rows"]] == [1, 2, 3]
    page = app_client.http.get(f"/queries/executions/{result['execution_id']}?page_size=2")
    assert page.status_code == 200
    assert len(page.json_body["rows"]) == 2 and page.json_body["next_token"]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/queries/no_such_query", {}, 404),
        ("/queries/top_tracks", {"params": {"limit": "ten"}}, 400),
        ("/queries/top_tracks", {"params": {"start_date": "2026-13-01"}}, 400),
        ("/queries/top_tracks", {"params": {"colour": "red"}}, 400),
        ("/queries/top_tracks", {"params": ["2026-01-01"]}, 400),
        ("/queries/top_tracks", {"wait_seconds": "soon"}, 400),
        ("/queries/top_tracks", {"params": {"start_date": "2026-01-01' OR 1=1 --"}}, 400),
    ],
)
def test_a_bad_query_request_gets_a_4xx_never_a_500(app_client, path, body, status):
    response = post(app_client, path, body)
    assert response.status_code == status
    assert response.json_body["Message"]


def test_an_unknown_execution_is_a_404(app_client):
    response = app_client.http.get("/queries/executions/4b0b5e0e-51c4-4e54-9d8b-0c1a6f9a1f00")
    assert response.status_code == 404


def test_event_sources_listen_for_raw_manifests_and_uploads_under_imports():
    from app import app

    buckets = {e.name: (e.prefix, e.suffix) for e in app.event_sources if hasattr(e, "bucket")}
    assert buckets == {"on_manifest": ("raw/", raw.MANIFEST), "on_import": ("imports/", None)}
    schedules = {e.name: e.schedule_expression for e in app.event_sources if e.name not in buckets}
    assert set(schedules) == {"snapshot", "plays"}
