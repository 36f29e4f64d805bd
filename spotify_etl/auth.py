"""`spotify-etl auth`: the one-time authorization-code flow that yields a refresh token, kept
for the account that logged in (SPEC §9), where the credentials come from:

- locally, SPOTIFY_REFRESH_TOKEN in `.env` while it is the only account (or where the token
  there is this account's, or refused by Spotify); another account's goes into the accounts
  file (SPOTIFY_ACCOUNTS_FILE, mode 0600), added or renewed by its user ID;
- with --secret-id, the secret: its one-account shape while it holds no other account's
  token, else its `accounts` map.

Whose token it is, GET /me answers (one request with the new access token; one more to
learn whose an earlier token is, when there is one).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlparse, urlsplit

import requests
from dotenv import dotenv_values

from chalicelib.accounts import check_account_id
from chalicelib.errors import AuthError, ConfigError, SpotifyError
from chalicelib.pipeline.credentials import write_account
from chalicelib.secrets import secrets_manager
from chalicelib.settings import DEFAULT_ACCOUNTS_FILE, DEFAULT_API_URL, DEFAULT_AUTH_URL
from chalicelib.spotify.client import json_object
from spotify_etl import environment

SCOPES = (
    "user-read-private playlist-read-private playlist-read-collaborative "
    "user-read-recently-played user-top-read user-library-read"
)
TIMEOUT_SECONDS = 300.0
AGAIN = "nothing was stored; run `spotify-etl auth` again"
PAGE = (
    "<!doctype html><title>spotify-etl</title>"
    "<p>{message} You can close this tab and return to the terminal.</p>"
)


@dataclass(frozen=True)
class SpotifyApp:
    """The Spotify app's credentials and the accounts service that authorizes it."""

    client_id: str
    client_secret: str
    auth_url: str = DEFAULT_AUTH_URL
    api_url: str = DEFAULT_API_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SpotifyApp:
        """Read SPOTIFY_CLIENT_ID, _SECRET and SPOTIFY_AUTH_URL; ConfigError naming a bad one."""
        values = {}
        for name in ("SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET"):
            values[name] = (env.get(name) or "").strip()
            if not values[name]:
                raise ConfigError(f"{name} is not set: put it in .env or the environment")
        auth_url = (env.get("SPOTIFY_AUTH_URL") or "").strip() or DEFAULT_AUTH_URL
        parsed = urlparse(auth_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError(f"SPOTIFY_AUTH_URL={auth_url!r} is not an http(s) URL")
        api_url = (env.get("SPOTIFY_API_URL") or "").strip() or DEFAULT_API_URL
        if urlparse(api_url).scheme not in ("http", "https"):
            raise ConfigError(f"SPOTIFY_API_URL={api_url!r} is not an http(s) URL")
        return cls(values["SPOTIFY_CLIENT_ID"], values["SPOTIFY_CLIENT_SECRET"],
                   auth_url.rstrip("/"), api_url.rstrip("/"))  # fmt: skip

    def __repr__(self) -> str:
        return f"SpotifyApp(client_id={self.client_id!r}, client_secret=***)"

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """The page where the user logs in to Spotify and approves the scopes."""
        query = {"client_id": self.client_id, "response_type": "code",
                 "redirect_uri": redirect_uri, "scope": SCOPES, "state": state}  # fmt: skip
        return f"{self.auth_url}/authorize?{urlencode(query)}"

    def exchange(self, code: str, redirect_uri: str) -> tuple[str, str]:
        """Trade an authorization code for a refresh token and an access token."""
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        body = self._token(form)
        if not body.get("refresh_token"):
            raise AuthError(f"Spotify answered the authorization code without a token; {AGAIN}")
        return body["refresh_token"], body["access_token"]

    def owner(self, access_token: str) -> dict[str, Any]:
        """GET /me with an access token: whose it is (`id`, `display_name`)."""
        url = f"{self.api_url}/me"
        try:
            response = requests.get(
                url, headers={"Authorization": f"Bearer {access_token}"}, timeout=10
            )
        except requests.RequestException as error:
            raise SpotifyError(f"cannot reach {url}: {type(error).__name__}; {AGAIN}") from None
        user = json_object(response)
        if response.status_code != 200 or not isinstance(user.get("id"), str):
            raise SpotifyError(f"{url} answered {response.status_code}; {AGAIN}")
        return user

    def owner_of_refresh_token(self, token: str) -> str | None:
        """Whose an earlier refresh token is; None where Spotify refuses it (revoked)."""
        try:
            body = self._token({"grant_type": "refresh_token", "refresh_token": token})
        except AuthError:
            return None
        return str(self.owner(body["access_token"])["id"])

    def _token(self, form: dict[str, str]) -> dict[str, Any]:
        token_url = f"{self.auth_url}/api/token"
        try:
            response = requests.post(
                token_url, data=form, auth=(self.client_id, self.client_secret), timeout=10
            )
        except requests.RequestException as error:
            raise SpotifyError(f"cannot reach {token_url}: {type(error).__name__}") from None
        body = json_object(response)
        if body.get("error") == "invalid_client":
            raise AuthError("Spotify refused the client ID or secret: check SPOTIFY_CLIENT_ID "
                            f"and SPOTIFY_CLIENT_SECRET; {AGAIN}")  # fmt: skip
        if response.status_code != 200 or not body.get("access_token"):
            reason = body.get("error_description") or body.get("error") or response.status_code
            raise AuthError(f"Spotify refused the authorization ({reason}); {AGAIN}")
        return body


class CallbackServer:
    """A loopback HTTP server that receives Spotify's redirect to /callback."""

    def __init__(self, port: int) -> None:
        try:
            self._server = HTTPServer(("127.0.0.1", port), _callback_handler(self))
        except OSError as error:
            raise ConfigError(
                f"cannot listen on 127.0.0.1:{port} ({error.strerror}): pass --port with a "
                "free port, and add its redirect URI to the Spotify app"
            ) from None
        self._received = threading.Event()
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.params: dict[str, str] = {}

    @property
    def redirect_uri(self) -> str:
        """Where Spotify sends the browser back: http://127.0.0.1:PORT/callback."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/callback"

    def receive(self, params: dict[str, str]) -> bool:
        """Keep the first redirect's query parameters; False for any later one."""
        if self._received.is_set():
            return False
        self.params = params
        self._received.set()
        return True

    def wait(self, timeout: float) -> dict[str, str]:
        """The redirect's query parameters, or AuthError after `timeout` seconds."""
        if not self._received.wait(timeout):
            raise AuthError(f"no answer from Spotify within {timeout:g} s; {AGAIN}")
        return self.params

    def __enter__(self) -> CallbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def _callback_handler(callback: CallbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            params = dict(parse_qsl(parts.query))
            if parts.path != "/callback" or not callback.receive(params):
                self.send_error(404)
                return
            declined = "error" in params
            message = "Spotify access was not granted." if declined else "Authorization received."
            page = PAGE.format(message=message).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Stay quiet: the query string carries the authorization code."""

    return Handler


def code_from(params: Mapping[str, str], state: str) -> str:
    """The authorization code of a redirect, after checking its state and its error."""
    if not secrets.compare_digest(params.get("state", ""), state):
        raise AuthError(f"the redirect's state does not match this request; {AGAIN}")
    if params.get("error") == "access_denied":
        raise AuthError(f"you declined access in Spotify; {AGAIN} and choose Agree")
    if params.get("error") or not params.get("code"):
        raise AuthError(f"Spotify did not authorize ({params.get('error', 'no code')}); {AGAIN}")
    return params["code"]


def say_now(text: str) -> None:
    """Print at once, also into a pipe: the user must see the URL before the wait starts."""
    print(text, flush=True)


def obtain_refresh_token(
    app: SpotifyApp,
    port: int,
    open_browser: Callable[[str], object] | None,
    timeout: float = TIMEOUT_SECONDS,
    say: Callable[[str], None] = say_now,
) -> tuple[str, str]:
    """Run the authorization-code flow through the user's browser; return the refresh token
    and an access token."""
    state = secrets.token_urlsafe(24)
    with CallbackServer(port) as callback:
        url = app.authorize_url(callback.redirect_uri, state)
        say(f"Open this URL, log in to Spotify and approve:\n\n  {url}\n")
        say(f"Waiting up to {timeout:g} s for the redirect to {callback.redirect_uri} "
            "(the Spotify app must list that redirect URI)…")  # fmt: skip
        if open_browser is not None:
            open_browser(url)
        params = callback.wait(timeout)
    return app.exchange(code_from(params, state), callback.redirect_uri)


class SecretStore:
    """The Secrets Manager secret that holds the app's credentials and the refresh token."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def get(self, secret_id: str) -> dict[str, Any] | None:
        """The secret's JSON value; None where there is no such secret (or it is no JSON)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            text = self._client.get_secret_value(SecretId=secret_id)["SecretString"]
        except self._client.exceptions.ResourceNotFoundException:
            return None
        except (BotoCoreError, ClientError) as error:
            raise ConfigError(f"cannot read secret {secret_id} ({error}); {AGAIN}") from None
        try:
            value = json.loads(text)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def put(self, secret_id: str, value: dict[str, Any]) -> str:
        """Create the secret, or store a new version of it; say which."""
        from botocore.exceptions import BotoCoreError, ClientError

        text = json.dumps(value)
        try:
            try:
                self._client.describe_secret(SecretId=secret_id)
            except self._client.exceptions.ResourceNotFoundException:
                self._client.create_secret(Name=secret_id, SecretString=text)
                return "created"
            self._client.put_secret_value(SecretId=secret_id, SecretString=text)
            return "updated"
        except (BotoCoreError, ClientError) as error:
            raise ConfigError(
                f"cannot store the refresh token in secret {secret_id} ({error}); check the AWS "
                f"credentials and secretsmanager permissions; {AGAIN}"
            ) from None


def get_secrets_client() -> Any:
    """A Secrets Manager client for the region the environment names."""
    from botocore.exceptions import BotoCoreError

    try:
        return secrets_manager()
    except BotoCoreError as error:
        raise ConfigError(f"cannot reach AWS Secrets Manager ({error}); {AGAIN}") from None


def store_refresh_token(
    app: SpotifyApp,
    token: str,
    account: str,
    secret_id: str | None = None,
    dotenv: Path = environment.DOTENV,
    secrets_client: Callable[[], Any] = get_secrets_client,
    accounts_file: Path = Path(DEFAULT_ACCOUNTS_FILE),
) -> str:
    """Keep the refresh token for `account` where the credentials come from; say where."""
    if secret_id:
        store = SecretStore(secrets_client())
        value = store.get(secret_id) or {}
        value.update(client_id=app.client_id, client_secret=app.client_secret)
        earlier = value.get("refresh_token")
        if not value.get("accounts") and _replaceable(app, earlier, account):
            value["refresh_token"] = token
        else:
            value["accounts"] = {**value.get("accounts", {}), account: {"refresh_token": token}}
        done = store.put(secret_id, value)
        return f"secret {secret_id} {done} in AWS Secrets Manager for account {account}"
    earlier = dotenv_values(dotenv).get("SPOTIFY_REFRESH_TOKEN") if dotenv.is_file() else None
    if not accounts_file.exists() and _replaceable(app, earlier, account):
        environment.write_dotenv(dotenv, {"SPOTIFY_REFRESH_TOKEN": token})
        where = f"SPOTIFY_REFRESH_TOKEN stored in {dotenv} for account {account}"
        if "SPOTIFY_REFRESH_TOKEN" in os.environ:
            where += " (unset SPOTIFY_REFRESH_TOKEN in this shell: it takes precedence over .env)"
        return where
    done = write_account(accounts_file, account, token)
    return f"account {account} {done} in {accounts_file} (SPOTIFY_ACCOUNTS_FILE)"


def _replaceable(app: SpotifyApp, earlier: str | None, account: str) -> bool:
    """Whether the one-account token may be replaced by this account's: there is none, it
    is this account's, or Spotify refuses it."""
    return not earlier or app.owner_of_refresh_token(earlier) in (None, account)


def run(
    env: Mapping[str, str],
    *,
    port: int,
    open_browser: Callable[[str], object] | None,
    secret_id: str | None = None,
    timeout: float | None = None,
    dotenv: Path = environment.DOTENV,
    secrets_client: Callable[[], Any] = get_secrets_client,
    say: Callable[[str], None] = say_now,
) -> None:
    """The whole command: authorize in the browser, learn whose account it is, then keep the
    refresh token for it."""
    app = SpotifyApp.from_env(env)
    timeout = TIMEOUT_SECONDS if timeout is None else timeout
    token, access = obtain_refresh_token(app, port, open_browser, timeout, say)
    user = app.owner(access)
    account = check_account_id(user["id"])
    accounts_file = Path(env.get("SPOTIFY_ACCOUNTS_FILE") or DEFAULT_ACCOUNTS_FILE)
    kept = store_refresh_token(
        app, token, account, secret_id, dotenv, secrets_client, accounts_file
    )
    name = user.get("display_name") or account
    say(f"Authorized {name}: {kept}.")
