"""LAKE_URI is checked: a scheme or bucket name that cannot be a lake is refused naming the
variable, and whatever only reads (runs, queries, the API, the dashboard) says when its
folder holds no lake, and creates nothing there; only extract, transform and demo make one."""

import json

import pytest
from chalice_stage import stage_client

from chalicelib.errors import ConfigError
from chalicelib.settings import Settings
from spotify_etl.cli import main


@pytest.mark.parametrize(
    "uri",
    [
        "ftp://lake",
        "S3://bucket",
        "s3:/bucket",
        "file://tmp/lake",
        "s3://Bucket_With_Caps",
        "s3://ab",
        "s3://two..dots",
        "s3://192.168.1.1",
        "s3://-starts-with-a-hyphen",
    ],
)
def test_a_lake_uri_that_cannot_be_a_lake_is_refused_naming_it(uri):
    with pytest.raises(ConfigError, match="LAKE_URI"):
        Settings.from_env({"LAKE_URI": uri})


@pytest.mark.parametrize("uri", ["s3://my-lake", "s3://my.lake-2/spotify/", "./lake", "/tmp/x"])
def test_buckets_and_folders_are_accepted(uri):
    assert Settings.from_env({"LAKE_URI": uri}).lake_uri == uri


@pytest.fixture
def nowhere(env, tmp_path, monkeypatch):
    """LAKE_URI at a folder that does not exist yet."""
    folder = tmp_path / "no-lake-here"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAKE_URI", str(folder))
    return folder


@pytest.mark.parametrize(
    "argv",
    [
        ["runs"],
        ["query", "top_tracks"],
        ["query", "listening_by_hour", "--format", "json"],
        ["migrate"],
    ],
)
def test_reading_commands_on_a_folder_without_a_lake_say_so_and_create_nothing(
    nowhere, capsys, argv
):
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "holds no lake" in err and "spotify-etl extract" in err
    assert "LAKE_URI=.lake-demo" in err  # where `spotify-etl demo` put its lake
    assert not nowhere.exists()


def test_a_file_is_not_a_lake(nowhere, monkeypatch, capsys):
    monkeypatch.setenv("LAKE_URI", "/etc/passwd")
    assert main(["runs"]) == 1
    assert "is not a folder" in capsys.readouterr().err


def test_an_extract_makes_the_lake_and_then_it_can_be_read(nowhere, capsys):
    assert main(["extract", "--streams", "saved"]) == 0
    assert main(["runs", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out.splitlines()[-1])) == 1


def test_the_api_on_a_folder_without_a_lake_answers_404_and_the_dashboard_says_what_to_run(
    env, tmp_path
):
    folder = tmp_path / "no-lake-here"
    with stage_client_over(env, tmp_path, folder) as client:
        for response in (
            client.http.get("/runs"),
            client.http.post(
                "/queries/top_tracks", body=b"{}", headers={"Content-Type": "application/json"}
            ),
        ):
            assert response.status_code == 404
            assert "holds no lake" in response.json_body["Message"]
        page = client.http.get("/dashboard")
        assert page.status_code == 200 and b'id="empty"' in page.body
    assert not folder.exists()


def stage_client_over(env, tmp_path, folder):
    from app import app

    return stage_client(app, tmp_path / "project", {**env, "LAKE_URI": str(folder)})
