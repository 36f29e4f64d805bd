"""`spotify-etl dashboard-link --stage S`: a link signed with the stage's key from Secrets
Manager (moto) for the API `chalice deploy` recorded; the app accepts it."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from stand_ins import REGION

from chalicelib import links
from chalicelib.accounts import register
from chalicelib.lake import S3Lake
from spotify_etl.cli import main

pytestmark = pytest.mark.integration  # Secrets Manager, in moto
KEY = "c0ffee" * 11
API = "https://abc123.execute-api.us-east-1.amazonaws.com/api/"


@pytest.fixture
def deployed_project(tmp_path, aws):
    """A deployed_project folder with the dev stage's config and what `chalice deploy` left."""
    chalice = tmp_path / ".chalice"
    (chalice / "deployed").mkdir(parents=True)
    variables = {
        "LAKE_URI": "s3://spotify-etl-dev-lake",
        "GLUE_DATABASE": "spotify_etl_dev",
        "ATHENA_WORKGROUP": "spotify-etl-dev",
        "DASHBOARD_KEY_SECRET_ID": "spotify-etl/dev/dashboard-key",
    }
    config = {"app_name": "spotify-etl", "stages": {"dev": {"environment_variables": variables}}}
    (chalice / "config.json").write_text(json.dumps(config))
    deployed = {
        "resources": [
            {"name": "api_handler", "resource_type": "lambda_function"},
            {"name": "rest_api", "resource_type": "rest_api", "rest_api_url": API},
        ],
        "schema_version": "2.0",
    }
    (chalice / "deployed" / "dev.json").write_text(json.dumps(deployed))
    boto3.client("secretsmanager", region_name=REGION).create_secret(
        Name="spotify-etl/dev/dashboard-key", SecretString=json.dumps({"key": KEY})
    )
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="spotify-etl-dev-lake")
    register(S3Lake(s3, "spotify-etl-dev-lake"), "listener", {})  # the stage's one account
    return chalice / "config.json"


def test_the_link_is_for_the_deployed_api_and_signed_with_the_stages_key(deployed_project, capsys):
    assert main(["dashboard-link", "--stage", "dev", "--config", str(deployed_project)]) == 0
    captured = capsys.readouterr()
    [url] = captured.out.splitlines()
    assert url.startswith(f"{API.rstrip('/')}/view/dashboard?account=listener&expires=")
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert links.check(KEY, params) == "listener"  # raises if the app would refuse it
    assert 3590 <= int(params["expires"]) - time.time() <= 3600
    assert "works until" in captured.err and KEY not in captured.out + captured.err


def test_hours_and_an_explicit_api_url(deployed_project, capsys):
    argv = ["dashboard-link", "--stage", "dev", "--config", str(deployed_project), "--hours", "0.5",
            "--api-url", "https://example.org/api"]  # fmt: skip
    assert main(argv) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith("https://example.org/api/view/dashboard?")
    expires = int(parse_qs(urlsplit(url).query)["expires"][0])
    assert 1790 <= expires - time.time() <= 1800


def test_an_undeployed_stage_or_a_missing_key_says_what_to_do(deployed_project, capsys):
    (deployed_project.parent / "deployed" / "dev.json").unlink()
    assert main(["dashboard-link", "--stage", "dev", "--config", str(deployed_project)]) == 1
    assert "chalice deploy --stage dev" in capsys.readouterr().err
    boto3.client("secretsmanager", region_name=REGION).delete_secret(
        SecretId="spotify-etl/dev/dashboard-key", ForceDeleteWithoutRecovery=True
    )
    argv = ["dashboard-link", "--stage", "dev", "--config", str(deployed_project), "--api-url", API]
    assert main(argv) == 1
    assert "glue/setup.py --stage STAGE creates it" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("api_url", "problem"),
    [
        ("example.org/api", "is not the API's URL"),
        ("https://example.org/api?x=1", "takes no query"),
    ],
)
def test_an_api_url_that_is_not_one_is_refused(deployed_project, capsys, api_url, problem):
    argv = ["dashboard-link", "--stage", "dev", "--config", str(deployed_project)]
    assert main([*argv, "--api-url", api_url]) == 1
    assert problem in capsys.readouterr().err


def test_a_link_to_the_view_itself_is_taken_as_the_api(deployed_project, capsys):
    argv = ["dashboard-link", "--stage", "dev", "--config", str(deployed_project),
            "--api-url", "https://example.org/api/view/dashboard/"]  # fmt: skip
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("https://example.org/api/view/dashboard?account=")


def test_a_link_opens_the_account_named_and_a_lake_of_several_needs_one_named(
    deployed_project, capsys
):
    s3 = boto3.client("s3", region_name=REGION)
    register(S3Lake(s3, "spotify-etl-dev-lake"), "second", {})
    argv = ["dashboard-link", "--stage", "dev", "--config", str(deployed_project)]
    assert main(argv) == 2
    assert "listener, second" in capsys.readouterr().err
    assert main([*argv, "--account", "second"]) == 0
    url = capsys.readouterr().out.strip()
    assert links.check(KEY, {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}) == (
        "second"
    )


def test_a_link_to_a_year_in_review_opens_that_year_and_a_year_that_is_not_one_is_refused(
    deployed_project, capsys
):
    argv = ["dashboard-link", "--stage", "dev", "--config", str(deployed_project)]
    assert main([*argv, "--recap", "2025"]) == 0
    url = capsys.readouterr().out.strip()
    assert url.startswith(f"{API.rstrip('/')}/view/recap/2025?account=listener&expires=")
    links.check(KEY, {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()})
    assert main([*argv, "--recap", "0"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "year 0 is before Spotify's first" in captured.err
