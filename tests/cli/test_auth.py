"""`spotify-etl auth` over real HTTP: the emulator plays Spotify, `requests` plays the browser."""

import json
import socket
import stat
import webbrowser
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests
from dotenv import dotenv_values
from moto import mock_aws

from chalicelib.errors import AuthError, ConfigError
from chalicelib.pipeline import credentials_for
from chalicelib.settings import Credentials, Settings
from chalicelib.spotify.client import connect
from spotify_etl import auth
from spotify_etl.cli import main

SECRET_ID = "spotify-etl/test"


class Browser:
    """Opens the authorize URL as a browser would, following redirects to the loopback server."""

    def __init__(self) -> None:
        self.pages: list[requests.Response] = []

    def __call__(self, url: str) -> None:
        self.pages.append(requests.get(url, timeout=5))


@pytest.fixture
def workdir(tmp_path, monkeypatch) -> Path:
    """An empty working directory, so no developer's .env or exported token is read."""
    monkeypatch.chdir(tmp_path)
    for name in ("SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET", "SPOTIFY_REFRESH_TOKEN",
                 "SPOTIFY_AUTH_URL", "SPOTIFY_API_URL", "SPOTIFY_SECRET_ID",
                 "SPOTIFY_ACCOUNTS_FILE"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return tmp_path


@pytest.fixture
def app_env(workdir, emulator, monkeypatch) -> dict[str, str]:
    """The app's credentials in the environment, its accounts service the emulator."""
    values = {"SPOTIFY_CLIENT_ID": emulator.client_id,
              "SPOTIFY_CLIENT_SECRET": emulator.client_secret,
              "SPOTIFY_AUTH_URL": emulator.auth_url,
              "SPOTIFY_API_URL": emulator.api_url}  # fmt: skip
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def fake_browser(monkeypatch) -> Browser:
    """The user's browser, opened by the command through webbrowser.open."""
    opened = Browser()
    monkeypatch.setattr(webbrowser, "open", opened)
    return opened


def _dotenv_token(workdir: Path) -> str:
    return dotenv_values(workdir / ".env")["SPOTIFY_REFRESH_TOKEN"] or ""


def _works(emulator, token: str) -> bool:
    credentials = Credentials(emulator.client_id, emulator.client_secret, token)
    return bool(connect(credentials, emulator.api_url, emulator.auth_url).get("me")["id"])


def test_auth_creates_a_private_env_file_holding_a_working_refresh_token(
    app_env, workdir, emulator, fake_browser
):
    assert main(["auth", "--port", "0"]) == 0
    assert stat.S_IMODE((workdir / ".env").stat().st_mode) == 0o600
    assert _works(emulator, _dotenv_token(workdir))


def test_auth_keeps_the_other_lines_of_an_existing_env_file(workdir, emulator, fake_browser):
    dotenv = workdir / ".env"
    dotenv.write_text(
        "# my settings\nLAKE_URI=./my-lake\n"
        f"SPOTIFY_CLIENT_ID={emulator.client_id}\nSPOTIFY_CLIENT_SECRET={emulator.client_secret}\n"
        f"SPOTIFY_AUTH_URL={emulator.auth_url}\nSPOTIFY_API_URL={emulator.api_url}\n"
        "SPOTIFY_REFRESH_TOKEN=old-token\n"
    )
    dotenv.chmod(0o644)
    assert main(["auth", "--port", "0"]) == 0
    lines = dotenv.read_text().splitlines()
    assert "# my settings" in lines and "LAKE_URI=./my-lake" in lines
    assert f"SPOTIFY_CLIENT_SECRET={emulator.client_secret}" in lines
    assert _dotenv_token(workdir) != "old-token"
    assert sum(line.startswith("SPOTIFY_REFRESH_TOKEN=") for line in lines) == 1
    assert stat.S_IMODE(dotenv.stat().st_mode) == 0o600


def test_the_authorize_url_asks_for_the_extractor_scopes_and_a_loopback_redirect(
    app_env, emulator, fake_browser
):
    assert main(["auth", "--port", "0"]) == 0
    url = urlsplit(fake_browser.pages[0].history[0].url)
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == emulator.auth_url + "/authorize"
    assert query["client_id"] == emulator.client_id and query["response_type"] == "code"
    assert query["redirect_uri"].startswith("http://127.0.0.1:")
    assert query["redirect_uri"].endswith("/callback")
    assert set(query["scope"].split()) == set(auth.SCOPES.split())
    assert len(query["state"]) >= 16


def test_the_browser_is_told_it_can_close_the_tab(app_env, fake_browser):
    main(["auth", "--port", "0"])
    [page] = fake_browser.pages
    assert page.status_code == 200
    assert "close this tab" in page.text


def test_output_never_shows_the_refresh_token_or_the_client_secret(
    app_env, workdir, emulator, fake_browser, capsys
):
    assert main(["auth", "--port", "0"]) == 0
    out, err = capsys.readouterr()
    assert "stored in .env" in out
    for secret in (_dotenv_token(workdir), emulator.client_secret):
        assert secret not in out and secret not in err


def test_no_browser_only_prints_the_url(app_env, monkeypatch, capsys):
    opened = []
    monkeypatch.setattr(webbrowser, "open", opened.append)
    monkeypatch.setattr(auth, "TIMEOUT_SECONDS", 0)
    assert main(["auth", "--port", "0", "--no-browser"]) == 1
    out, err = capsys.readouterr()
    assert opened == []
    assert "/authorize?client_id=" in out
    assert "no answer from Spotify within 0 s" in err


def test_secret_id_creates_the_secret_and_a_second_run_updates_it(
    aws_credentials, app_env, workdir, emulator, fake_browser, capsys
):
    with mock_aws():
        client = boto3.client("secretsmanager")
        assert main(["auth", "--port", "0", "--secret-id", SECRET_ID]) == 0
        first = json.loads(client.get_secret_value(SecretId=SECRET_ID)["SecretString"])
        assert main(["auth", "--port", "0", "--secret-id", SECRET_ID]) == 0
        second = json.loads(client.get_secret_value(SecretId=SECRET_ID)["SecretString"])
        versions = client.list_secret_version_ids(SecretId=SECRET_ID)["Versions"]
        read_back = credentials_for(Settings(secret_id=SECRET_ID), secrets_client=client)
    out, err = capsys.readouterr()
    assert set(first) == {"client_id", "client_secret", "refresh_token"}
    assert first["client_id"] == emulator.client_id
    assert first["client_secret"] == emulator.client_secret
    assert second["refresh_token"] != first["refresh_token"]
    assert len(versions) == 2
    assert read_back.refresh_token == second["refresh_token"]
    assert _works(emulator, second["refresh_token"])
    assert not (workdir / ".env").exists()
    assert "created" in out and "updated" in out
    for secret in (first["refresh_token"], second["refresh_token"], emulator.client_secret):
        assert secret not in out and secret not in err


@pytest.mark.account(seed=1, users=2)
def test_a_second_listener_is_added_beside_the_first_and_renewed_in_place(
    app_env, workdir, emulator, fake_browser, capsys
):
    """Locally: the first account's token in .env, the second's in the accounts file (0600);
    in the secret: the second in its accounts map. Logging in again renews in place."""
    first, second = emulator.users
    assert main(["auth", "--port", "0"]) == 0  # the first user logs in
    emulator.login_as = second.user_id
    assert main(["auth", "--port", "0"]) == 0
    accounts = workdir / ".spotify-accounts.json"
    assert stat.S_IMODE(accounts.stat().st_mode) == 0o600
    kept = json.loads(accounts.read_text())
    assert list(kept) == [second.user_id] and _works(
        emulator, kept[second.user_id]["refresh_token"]
    )
    assert _works(emulator, _dotenv_token(workdir))
    assert main(["auth", "--port", "0"]) == 0  # the second again: renewed
    renewed = json.loads(accounts.read_text())[second.user_id]["refresh_token"]
    assert renewed != kept[second.user_id]["refresh_token"]
    out = capsys.readouterr().out
    assert f"account {second.user_id} added" in out and f"account {second.user_id} renewed" in out
    settings = Settings.from_env({**app_env, "SPOTIFY_REFRESH_TOKEN": _dotenv_token(workdir)})
    assert credentials_for(settings, second.user_id).refresh_token == renewed


@pytest.mark.account(seed=1, users=2)
def test_a_second_listener_goes_into_the_secrets_accounts_map(
    aws_credentials, app_env, emulator, fake_browser
):
    first, second = emulator.users
    with mock_aws():
        client = boto3.client("secretsmanager")
        assert main(["auth", "--port", "0", "--secret-id", SECRET_ID]) == 0
        emulator.login_as = second.user_id
        assert main(["auth", "--port", "0", "--secret-id", SECRET_ID]) == 0
        value = json.loads(client.get_secret_value(SecretId=SECRET_ID)["SecretString"])
        settings = Settings(secret_id=SECRET_ID)
        mine = credentials_for(settings, second.user_id, secrets_client=client)
    assert set(value) == {"client_id", "client_secret", "refresh_token", "accounts"}
    assert list(value["accounts"]) == [second.user_id]
    assert mine.refresh_token == value["accounts"][second.user_id]["refresh_token"]
    assert _works(emulator, value["refresh_token"]) and _works(emulator, mine.refresh_token)


def test_declined_consent_is_a_clear_error_and_stores_nothing(
    app_env, workdir, emulator, fake_browser, capsys
):
    emulator.consent = False
    assert main(["auth", "--port", "0"]) == 1
    assert "declined" in capsys.readouterr().err
    assert "not granted" in fake_browser.pages[0].text
    assert not (workdir / ".env").exists()


def test_a_redirect_with_another_state_is_refused_and_stores_nothing(app_env, workdir):
    def forged(url: str) -> None:
        redirect_uri = parse_qs(urlsplit(url).query)["redirect_uri"][0]
        requests.get(redirect_uri, params={"code": "stolen", "state": "forged"}, timeout=5)

    with pytest.raises(AuthError, match="state does not match"):
        auth.run(app_env, port=0, open_browser=forged)
    assert not (workdir / ".env").exists()


def test_no_redirect_within_the_timeout_is_a_clear_error(app_env, workdir):
    with pytest.raises(AuthError, match="no answer from Spotify within 0 s"):
        auth.run(app_env, port=0, open_browser=None, timeout=0)
    assert not (workdir / ".env").exists()


def test_a_wrong_client_secret_is_refused_at_the_code_exchange(
    app_env, workdir, fake_browser, monkeypatch, capsys
):
    monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", "not-the-secret")
    assert main(["auth", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "SPOTIFY_CLIENT_SECRET" in err and "not-the-secret" not in err
    assert not (workdir / ".env").exists()


def test_a_busy_port_is_a_clear_error_asking_for_another(app_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"127.0.0.1:{port}.*--port"):
            auth.run(app_env, port=port, open_browser=None, timeout=0)


@pytest.mark.parametrize("missing", ["SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET"])
def test_a_missing_credential_exits_1_with_one_line_naming_it(
    app_env, monkeypatch, capsys, missing
):
    monkeypatch.delenv(missing)
    assert main(["auth", "--no-browser"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and missing in err
