"""`spotify-etl auth`: the one-time authorization-code flow that yields a refresh token."""

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

from chalicelib.errors import AuthError, ConfigError, SpotifyError
from chalicelib.secrets import secrets_manager
from chalicelib.settings import DEFAULT_AUTH_URL
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
        return cls(values["SPOTIFY_CLIENT_ID"], values["SPOTIFY_CLIENT_SECRET"],
                   auth_url.rstrip("/"))  # fmt: skip

    def __repr__(self) -> str:
        return f"SpotifyApp(client_id={self.client_id!r}, client_secret=***)"

    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """The page where the user logs in to Spotify and approves the scopes."""
        query = {"client_id": self.client_id, "response_type": "code",
                 "redirect_uri": redirect_uri, "scope": SCOPES, "state": state}  # fmt: skip
        return f"{self.auth_url}/authorize?{urlencode(query)}"

    def exchange(self, code: str, redirect_uri: str) -> str:
        """Trade an authorization code for a refresh token at the token endpoint."""
        token_url = f"{self.auth_url}/api/token"
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
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
        if response.status_code != 200 or not body.get("refresh_token"):
            reason = body.get("error_description") or body.get("error") or response.status_code
            raise AuthError(f"Spotify refused the authorization code ({reason}); {AGAIN}")
        return body["refresh_token"]


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
) -> str:
    """Run the authorization-code flow through the user's browser; return the refresh token."""
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

    def put(self, secret_id: str, value: dict[str, str]) -> str:
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
    secret_id: str | None = None,
    dotenv: Path = environment.DOTENV,
    secrets_client: Callable[[], Any] = get_secrets_client,
) -> str:
    """Store the refresh token in the secret, or else in `.env`; say where."""
    if secret_id:
        value = {"client_id": app.client_id, "client_secret": app.client_secret,
                 "refresh_token": token}  # fmt: skip
        done = SecretStore(secrets_client()).put(secret_id, value)
        return f"secret {secret_id} {done} in AWS Secrets Manager"
    environment.write_dotenv(dotenv, {"SPOTIFY_REFRESH_TOKEN": token})
    where = f"SPOTIFY_REFRESH_TOKEN stored in {dotenv}"
    if "SPOTIFY_REFRESH_TOKEN" in os.environ:
        where += " (unset SPOTIFY_REFRESH_TOKEN in this shell: it takes precedence over .env)"
    return where


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
    """The whole command: authorize in the browser, then store the refresh token."""
    app = SpotifyApp.from_env(env)
    timeout = TIMEOUT_SECONDS if timeout is None else timeout
    token = obtain_refresh_token(app, port, open_browser, timeout, say)
    say(f"Authorized: {store_refresh_token(app, token, secret_id, dotenv, secrets_client)}.")

