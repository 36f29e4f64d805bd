from pathlib import Path

import pytest

from chalicelib.errors import ConfigError
from chalicelib.settings import DeploySettings, Settings, load

SETTING = {"SPOTIFY_RATE_LIMIT": "rate_limit", "CATALOG_DETAIL_BUDGET": "catalog_detail_budget"}
CREDENTIALS = {
    "SPOTIFY_CLIENT_ID": "client-id",
    "SPOTIFY_CLIENT_SECRET": "client-secret-value",
    "SPOTIFY_REFRESH_TOKEN": "refresh-token-value",
}


def test_defaults_give_a_local_lake_queried_by_duckdb():
    settings = Settings.from_env({})
    assert settings.lake_uri == "./.lake"
    assert settings.query_engine == "duckdb"
    assert settings.api_url == "https://api.spotify.com/v1"
    assert settings.auth_url == "https://accounts.spotify.com"
    assert settings.playlists is None


def test_an_s3_lake_is_queried_by_athena_by_default():
    assert Settings.from_env({"LAKE_URI": "s3://bucket/prefix"}).query_engine == "athena"


def test_playlists_takes_a_comma_list_of_ids():
    settings = Settings.from_env({"PLAYLISTS": " 37i9dQZF1DXcBWIGoYBM5M, 5ABHKGoOzxkaa28ttQV9sE "})
    assert settings.playlists == ("37i9dQZF1DXcBWIGoYBM5M", "5ABHKGoOzxkaa28ttQV9sE")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"QUERY_ENGINE": "postgres"}, "QUERY_ENGINE"),
        ({"SPOTIFY_API_URL": "api.spotify.com"}, "SPOTIFY_API_URL"),
        ({"SPOTIFY_AUTH_URL": "ftp://accounts"}, "SPOTIFY_AUTH_URL"),
        ({"LAKE_URI": "s3://"}, "LAKE_URI"),
        ({"PLAYLISTS": "abc,not an id!"}, "PLAYLISTS"),
        ({"GLUE_DATABASE": "drop table;"}, "GLUE_DATABASE"),
        ({"SPOTIFY_CLIENT_ID": "only-the-id"}, "SPOTIFY_CLIENT_SECRET"),
    ],
)
def test_a_malformed_setting_fails_with_a_message_naming_it(env, named):
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)


def test_missing_credentials_say_which_variables_to_set():
    with pytest.raises(ConfigError, match="SPOTIFY_REFRESH_TOKEN.*SPOTIFY_ACCOUNTS_FILE.*auth"):
        Settings.from_env({}).require_app_keys()


def test_the_app_keys_come_as_a_pair_with_or_without_a_token():
    keys = {"SPOTIFY_CLIENT_ID": "id", "SPOTIFY_CLIENT_SECRET": "secret"}
    assert Settings.from_env(keys).credentials is None  # the accounts file holds the tokens
    with pytest.raises(ConfigError, match="SPOTIFY_CLIENT_SECRET not set"):
        Settings.from_env({"SPOTIFY_CLIENT_ID": "id", "SPOTIFY_REFRESH_TOKEN": "t"})


def test_credentials_never_show_their_secrets_in_repr():
    settings = Settings.from_env(CREDENTIALS)
    assert "client-secret-value" not in repr(settings)
    assert "refresh-token-value" not in repr(settings)


def test_deploy_settings_take_the_bucket_and_raw_prefix_from_the_lake_uri():
    deploy = DeploySettings.from_env(
        {"LAKE_URI": "s3://my-lake/spotify/", "PLAYS_SCHEDULE": "rate(1 hour)"}
    )
    assert (deploy.bucket, deploy.raw_prefix) == ("my-lake", "spotify/raw/")
    assert deploy.plays_schedule == "rate(1 hour)"


@pytest.mark.parametrize(
    ("name", "default"),
    [("SPOTIFY_RATE_LIMIT", Settings().rate_limit), ("CATALOG_DETAIL_BUDGET", 0)],
)
def test_the_readme_lists_the_request_settings_with_their_defaults(name, default):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    [row] = [line for line in readme.splitlines() if line.startswith(f"| `{name}` |")]
    assert row.rstrip().endswith(f"| `{default}` |")
    assert getattr(Settings.from_env({}), SETTING[name]) == default


@pytest.mark.parametrize(("name", "field"), SETTING.items())
def test_the_request_settings_take_whole_numbers_and_refuse_anything_else(name, field):
    assert getattr(Settings.from_env({name: "0"}), field) == 0
    assert getattr(Settings.from_env({name: "250"}), field) == 250
    for bad in ("-1", "ten", "2.5", "9999999"):
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({name: bad})


def test_the_loader_reads_dotenv_under_the_process_environment(tmp_path, monkeypatch):
    dotenv = tmp_path / ".env"
    dotenv.write_text("LAKE_URI=/from/dotenv\nGLUE_DATABASE=from_dotenv\n")
    monkeypatch.setenv("GLUE_DATABASE", "from_process")
    loaded = load(dotenv)
    assert (loaded.lake_uri, loaded.glue_database) == ("/from/dotenv", "from_process")


def test_the_loader_parses_once_per_environment_and_again_when_it_changes(tmp_path, monkeypatch):
    missing = tmp_path / "no.env"
    monkeypatch.setenv("LAKE_URI", str(tmp_path / "one"))
    first = load(missing)
    assert load(missing) is first
    monkeypatch.setenv("LAKE_URI", str(tmp_path / "two"))
    assert load(missing).lake_uri == str(tmp_path / "two")


def test_the_extract_and_replay_functions_are_settings():
    loaded = Settings.from_env({"EXTRACT_FUNCTION": "x-run_extract", "REPLAY_FUNCTION": "x-replay"})
    assert (loaded.extract_function, loaded.replay_function) == ("x-run_extract", "x-replay")
