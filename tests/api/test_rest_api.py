"""The REST API's contract through chalice.test.Client: keys, validation, paging, the page cap."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from chalicelib import accounts, api

DESCRIPTION = yaml.safe_load((Path(__file__).parents[2] / "docs/openapi.yaml").read_text())


def post(client, path, raw_body, content_type="application/json"):
    return client.http.post(path, headers={"Content-Type": content_type}, body=raw_body)


def test_every_route_but_health_and_the_signed_pages_requires_an_api_key_in_aws():
    from app import app

    keyless = {
        (path, method)
        for path, methods in app.routes.items()
        for method, entry in methods.items()
        if not entry.api_key_required
    }
    signed = {("/view/dashboard", "GET"), ("/view/recap/{year}", "GET")}
    assert keyless == {("/health", "GET"), *signed}


def test_the_openapi_description_lists_exactly_the_apps_routes():
    from app import app

    routes = {(path, m.lower()) for path, methods in app.routes.items() for m in methods}
    described = {(path, m) for path, ops in DESCRIPTION["paths"].items() for m in ops}
    assert described == routes


def test_the_openapi_description_knows_every_named_query_parameter():
    from chalicelib.query import named

    body = DESCRIPTION["paths"]["/queries/{name}"]["post"]["requestBody"]
    described = body["content"]["application/json"]["schema"]["properties"]["params"]
    params = {p["name"] for query in named.describe() for p in query["params"]}
    assert params == set(described["properties"])


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/runs?limit=5&colour=red", "colour"),
        ("/runs?limit=1&limit=2", "2 times"),
        ("/runs?limit=99999999999999999999999", "out of range"),
        ("/runs?limit=%EF%BC%95", "not a whole number"),
        ("/queries?x=1", "'x'"),
        ("/runs/20260101T000000Z-abcdef?x=1", "'x'"),
        ("/queries/executions/4b0b5e0e-51c4-4e54-9d8b-0c1a6f9a1f00?page_size=0", "page_size"),
        ("/queries/executions/4b0b5e0e-51c4-4e54-9d8b-0c1a6f9a1f00?next_token=%%%", "next_token"),
        ("/queries/executions/not-an-id", "execution ID"),
    ],
)
def test_a_bad_parameter_gets_a_400_that_names_it(app_client, path, message):
    response = app_client.http.get(path)
    assert response.status_code == 400
    assert response.json_body["Code"] == "BadRequestError"
    assert message in response.json_body["Message"]


@pytest.mark.parametrize(
    "raw_body",
    [
        b"[" * 100_000,
        b"\xff\xfe",
        b'{"params": {"limit": 1e999}}',
        b'{"wait_seconds": NaN}',
        b'{"wait_seconds": -1}',
        b'{"wait_seconds": true}',
        b'{"params": {"limit": 99999999999999999999999999999}}',
        b'{"params": {"start_date": "\\u0662\\u0660\\u0662\\u0666-01-01"}}',
        b'"just a string"',
    ],
)
def test_a_malformed_query_body_gets_a_400_never_a_500(app_client, raw_body):
    response = post(app_client, "/queries/top_tracks", raw_body)
    assert response.status_code == 400, response.body


def test_a_body_that_is_not_json_by_content_type_gets_a_415(app_client):
    response = post(app_client, "/queries/top_tracks", b"limit=3", "text/plain")
    assert response.status_code == 415
    assert set(response.json_body) == {"Code", "Message"}


def test_a_huge_wait_counts_as_25_seconds(app_client, lake):
    accounts.register(lake, "listener", {})  # a lake with an account but no data yet
    response = post(app_client, "/queries/top_tracks", json.dumps({"wait_seconds": 10**400}))
    assert response.status_code == 200
    assert response.json_body["state"] == "SUCCEEDED"


@pytest.mark.parametrize("name", ["%F0%9F%8E%A7", "..%2F..%2Fetc", "a" * 2000, "top_tracks%00"])
def test_an_unknown_query_name_of_any_shape_is_a_404(app_client, name):
    assert post(app_client, f"/queries/{name}", b"{}").status_code == 404


def test_an_upload_url_on_a_local_lake_is_a_400_saying_to_import_with_the_cli(app_client):
    response = app_client.http.post("/imports")
    assert response.status_code == 400
    assert "spotify-etl import PATH" in response.json_body["Message"]


def test_a_transform_replay_refuses_a_body_with_fields(app_client):
    response = post(app_client, "/runs/20260101T000000Z-abcdef/transform", b'{"force": true}')
    assert response.status_code == 400


def test_pages_stop_before_the_byte_cap_and_resume_exactly_after(app_client, monkeypatch):
    app_client.http.post("/runs", headers={"Content-Type": "application/json"}, body="{}")
    body = {"params": {"start_date": "2000-01-01", "limit": 1000}, "wait_seconds": 25}
    whole = post(app_client, "/queries/top_tracks", json.dumps(body)).json_body
    execution = whole["execution_id"]
    everything = app_client.http.get(f"/queries/executions/{execution}?page_size=1000")
    rows = everything.json_body["rows"]
    assert len(rows) > 20
    monkeypatch.setattr(api, "MAX_PAGE_BYTES", 2_000)
    token, paged, pages = None, [], 0
    while True:
        query = f"?page_size=7&next_token={token}" if token else "?page_size=7"
        page = app_client.http.get(f"/queries/executions/{execution}{query}")
        assert page.status_code == 200 and len(page.body) <= 2_000
        paged += page.json_body["rows"]
        pages += 1
        token = page.json_body["next_token"]
        if not token:
            break
    assert paged == rows
    assert pages > len(rows) / 7


def test_the_dashboard_is_html_and_says_what_to_run_on_an_empty_lake(app_client):
    response = app_client.http.get("/dashboard")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.body.decode()
    assert "spotify-etl extract" in page and "POST /runs" in page
    assert not re.search(r"""(src|href)=["'](https?:)?//""", page)


def test_the_dashboard_draws_its_charts_after_a_run(app_client):
    app_client.http.post("/runs", headers={"Content-Type": "application/json"}, body="{}")
    page = app_client.http.get("/dashboard").body.decode()
    heatmap = page[page.index('id="heatmap"') :]  # drawn for a wide card and a phone
    assert heatmap.index('class="chart wide-only"><svg') < heatmap.index("</section>")
    assert heatmap.index('class="chart narrow-only"><svg') < heatmap.index("</section>")
    sizes = page[page.index('id="playlist-sizes"') :]  # a row and a line per playlist
    assert sizes.index('<span class="spark"><svg') < sizes.index("</section>")
    # top artists and tracks, the longest streaks and sessions, playlist sizes
    assert page.count('<ol class="bars">') == 5
    assert "No entries added or removed in this period." in page  # one snapshot: no churn yet
    assert not re.search(r"""(src|href)=["'](https?:)?//|url\((https?:)?//|@import""", page)


@pytest.fixture
def two_accounts(lake):
    for account, name in (("listener", "Lee"), ("friend", None)):
        accounts.register(lake, account, {"display_name": name})
    return lake


def test_the_accounts_are_listed_in_id_order_with_their_plays_and_last_run(
    app_client, two_accounts
):
    response = app_client.http.get("/accounts")
    assert response.status_code == 200
    assert response.json_body == {
        "accounts": [
            {
                "account": account,
                "display_name": name,
                "plays": 0,
                "first_play": None,
                "last_play": None,
                "last_run": None,
                "last_run_status": None,
            }
            for account, name in (("friend", None), ("listener", "Lee"))
        ]
    }


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/runs", 400, "friend, listener (Lee)"),
        ("/runs?account=stranger", 404, "no account stranger"),
        ("/runs?account=..%2Fx", 400, "not a Spotify user ID"),
        ("/runs/20260101T000000Z-abcdef", 404, "no run 20260101T000000Z-abcdef"),
        ("/runs/20260101T000000Z-abcdef?account=friend", 404, "no run"),
    ],
)
def test_what_reads_one_account_of_several_names_it(
    app_client, two_accounts, path, status, message
):
    response = app_client.http.get(path)
    assert response.status_code == status
    assert message in response.json_body["Message"]


def test_a_dashboard_of_several_accounts_asked_for_none_links_each_and_what_they_share(
    app_client, two_accounts
):
    page = app_client.http.get("/dashboard")
    assert page.status_code == 200
    text = page.body.decode()
    assert "Whose dashboard?" in text and "account=friend" in text and "account=listener" in text
    assert 'href="dashboard/together"' in text
    assert app_client.http.get("/dashboard/together").status_code == 200


def test_an_account_of_several_is_read_when_named(app_client, two_accounts):
    runs = app_client.http.get("/runs?account=friend")
    assert runs.status_code == 200
    assert runs.json_body == {"account": "friend", "runs": []}
    body = {"params": {"account": "friend"}, "wait_seconds": 25}
    assert post(app_client, "/queries/top_tracks", json.dumps(body)).status_code == 200
    several = post(app_client, "/queries/top_tracks", b"{}")
    assert several.status_code == 400
    assert "several accounts" in several.json_body["Message"]
