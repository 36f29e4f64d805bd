"""Signed dashboard links: POST /dashboard/links (behind the API key) answers an expiring
link to one account's dashboard that GET /view/dashboard opens without the key; an expired
or altered one (another account's, too) gets a 403 page saying how to get a new one. Locally
the key is DASHBOARD_KEY; in AWS a secret."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from chalice_stage import stage_client
from stand_ins import REGION

from app import app
from chalicelib import accounts, links

KEY = "0123456789abcdef" * 4
JSON = {"Content-Type": "application/json"}
ACCOUNT = "listener"


@pytest.fixture
def linked_client(tmp_path, env, lake):
    accounts.register(lake, ACCOUNT, {})
    with stage_client(app, tmp_path / "links", {**env, "DASHBOARD_KEY": KEY}) as client:
        yield client


def make_link(linked_client, body=None, headers=None):
    answer = linked_client.http.post(
        "/dashboard/links", headers={**JSON, **(headers or {})}, body=json.dumps(body or {})
    )
    assert answer.status_code == 201, answer.json_body
    return answer.json_body


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_a_link_opens_the_dashboard_without_the_api_key_for_an_hour_by_default(linked_client):
    link = make_link(linked_client)
    assert link["url"].startswith(f"http://localhost/view/dashboard?account={ACCOUNT}&expires=")
    assert 3590 <= link["expires"] - time.time() <= 3600
    assert link["expires_at"].endswith("Z")
    page = linked_client.http.get(path_of(link["url"]))
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    html = page.body.decode()
    assert "<h1>Listening from" in html
    query = urlsplit(link["url"]).query
    signature = parse_qs(query)["signature"][0]
    assert f'name="signature" value="{signature}"' in html, "the period form keeps the link"
    assert f"signature={signature}" in html, "so do the quick period links"


def test_a_link_is_for_the_account_asked_for_and_opens_its_pages_only(linked_client, lake):
    accounts.register(lake, "friend", {})
    several = linked_client.http.post("/dashboard/links", headers=JSON, body="{}")
    assert several.status_code == 400
    assert "friend" in several.json_body["Message"] and ACCOUNT in several.json_body["Message"]
    unknown = linked_client.http.post(
        "/dashboard/links", headers=JSON, body=json.dumps({"account": "stranger"})
    )
    assert unknown.status_code == 404
    link = make_link(linked_client, {"account": "friend"})
    assert parse_qs(urlsplit(link["url"]).query)["account"] == ["friend"]
    assert linked_client.http.get(path_of(link["url"])).status_code == 200
    other = path_of(link["url"]).replace("account=friend", f"account={ACCOUNT}")
    assert "was changed" in refused(linked_client, other)


def test_the_link_route_needs_the_api_key_and_the_view_does_not():
    routes = {path: methods for path, methods in app.routes.items()}
    assert routes["/dashboard/links"]["POST"].api_key_required is True
    assert not routes["/view/dashboard"]["GET"].api_key_required


def test_behind_api_gateway_the_link_keeps_the_scheme_and_the_stage_path(linked_client):
    link = make_link(linked_client, headers={"Host": "abc.execute-api.us-east-1.amazonaws.com",
                                      "X-Forwarded-Proto": "https"})  # fmt: skip
    assert link["url"].startswith("https://abc.execute-api.us-east-1.amazonaws.com/view/")


@pytest.mark.parametrize("hours", [0.25, 24, links.MAX_HOURS])
def test_a_lifetime_can_be_chosen(linked_client, hours):
    link = make_link(linked_client, {"hours": hours})
    assert abs(link["expires"] - time.time() - hours * 3600) < 5


@pytest.mark.parametrize("hours", [0, 0.001, -1, links.MAX_HOURS + 1, "2", True, None, [1]])
def test_a_bad_lifetime_is_a_400_that_says_what_is_allowed(linked_client, hours):
    answer = linked_client.http.post(
        "/dashboard/links", headers=JSON, body=json.dumps({"hours": hours})
    )
    assert answer.status_code == 400
    assert "hours" in answer.json_body["Message"]


def refused(linked_client, path: str) -> str:
    page = linked_client.http.get(path)
    assert page.status_code == 403
    html = page.body.decode()
    assert "spotify-etl dashboard-link --stage" in html and "POST /dashboard/links" in html
    return html


def test_an_altered_link_is_refused_with_a_page_saying_how_to_get_a_new_one(linked_client):
    url = make_link(linked_client)["url"]
    query = parse_qs(urlsplit(url).query)
    expires, signature = query["expires"][0], query["signature"][0]
    flipped = signature[:-1] + ("0" if signature[-1] != "0" else "1")
    view = f"/view/dashboard?account={ACCOUNT}"
    assert "was changed" in refused(linked_client, f"{view}&expires={expires}&signature={flipped}")
    later = int(expires) + 3600
    assert "was changed" in refused(linked_client, f"{view}&expires={later}&signature={signature}")
    assert "not a whole dashboard link" in refused(linked_client, "/view/dashboard")
    assert "not a whole dashboard link" in refused(
        linked_client, f"{view}&expires=soon&signature={signature}"
    )
    assert "not a whole dashboard link" in refused(
        linked_client, f"/view/dashboard?expires={expires}&signature={signature}"
    )


def test_an_expired_link_is_refused(linked_client):
    old = links.make(KEY, "http://localhost", 1, ACCOUNT, now=time.time() - 2 * 3600)
    assert "has expired" in refused(linked_client, path_of(old.url))


def test_a_link_made_with_another_key_is_refused(linked_client):
    other = links.make("f" * 64, "http://localhost", 1, ACCOUNT)
    assert "was changed" in refused(linked_client, path_of(other.url))


def test_without_a_key_the_route_says_how_to_set_one_up_and_the_view_refuses(app_client):
    answer = app_client.http.post("/dashboard/links", headers=JSON, body="{}")
    assert answer.status_code == 409
    assert "DASHBOARD_KEY" in answer.json_body["Message"]
    signed = links.make(KEY, "http://localhost", 1, ACCOUNT)
    assert "not set up" in refused(app_client, path_of(signed.url))


@pytest.mark.integration
def test_in_aws_the_key_is_the_stages_secret(tmp_path, s3_env, s3_lake):
    accounts.register(s3_lake, ACCOUNT, {})
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="spotify-etl/test/dashboard-key", SecretString=json.dumps({"key": KEY})
    )
    boto3.client("athena", region_name=REGION).create_work_group(
        Name=s3_env["ATHENA_WORKGROUP"],
        Configuration={"ResultConfiguration": {"OutputLocation": "s3://results/athena/"}},
    )
    env = {**s3_env, "DASHBOARD_KEY_SECRET_ID": "spotify-etl/test/dashboard-key"}
    with stage_client(app, tmp_path / "aws", env) as client:
        link = make_link(client)
        params = {k: v[0] for k, v in parse_qs(urlsplit(link["url"]).query).items()}
        assert links.check(KEY, params) == ACCOUNT  # signed with the secret's key, or raises
        page = client.http.get(path_of(link["url"]))
        assert page.status_code == 200
