"""The emulator: a real HTTP server on 127.0.0.1 speaking the 2026 Spotify Web API."""

import base64
import binascii
import json
import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from emulator.account import Account, World
from emulator.api import Api, ApiError, Request, match
from emulator.config import Faults, Scale
from emulator.ids import base62, stream
from emulator.render import Json, Renderer

DEMO_CLIENT_ID = "emulator-client-id"
DEMO_CLIENT_SECRET = "emulator-client-secret"
DEMO_REFRESH_TOKEN = "emulator-refresh-token"
TOKEN_LIFETIME = 3600
USER_SCOPE = (
    "playlist-read-private playlist-read-collaborative user-library-read "
    "user-read-email user-read-private user-read-recently-played user-top-read"
)
LOOPBACK_REDIRECT = "http://127.0.0.1:"
SERVER_ERRORS = {500: "Internal server error", 502: "Bad gateway", 503: "Service unavailable"}


@dataclass(frozen=True)
class AppUser:
    """A user who authorized the app: who they are, and the refresh token they gave it."""

    user_id: str
    display_name: str
    refresh_token: str


@dataclass
class Answer:
    """An HTTP answer: status, JSON body and extra headers."""

    status: int
    body: Json
    headers: dict[str, str] = field(default_factory=dict)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, {"error": {"status": status, "message": message}}, headers or {})


def _oauth_error(error: str, description: str) -> Answer:
    return Answer(400, {"error": error, "error_description": description})


def _redirect(redirect_uri: str, **params: str) -> Answer:
    separator = "&" if "?" in redirect_uri else "?"
    return Answer(302, {}, {"Location": redirect_uri + separator + urlencode(params)})


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or not header.startswith("Basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:], validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


class Emulator:
    """A Spotify Web API emulator for one app with `users` users (1 to 5), whose accounts
    are pure functions of its arguments."""

    def __init__(
        self,
        seed: int = 0,
        scale: Scale | None = None,
        faults: Faults | None = None,
        clock: Callable[[], float] = time.time,
        start: float | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        refresh_token: str | None = None,
        port: int = 0,
        users: int = 1,
    ) -> None:
        self.seed, self.scale, self.faults = seed, scale or Scale(), faults or Faults()
        self.clock, self.port = clock, port
        self.start_at = clock() if start is None else start
        env = os.environ.get
        self.client_id = client_id or env("SPOTIFY_CLIENT_ID") or DEMO_CLIENT_ID
        self.client_secret = client_secret or env("SPOTIFY_CLIENT_SECRET") or DEMO_CLIENT_SECRET
        self.refresh_token = refresh_token or env("SPOTIFY_REFRESH_TOKEN") or DEMO_REFRESH_TOKEN
        self.world = World(seed, self.scale, self.start_at, users)
        tokens = [self.refresh_token, *(f"{DEMO_REFRESH_TOKEN}-{n}" for n in range(2, users + 1))]
        self.users = [
            AppUser(listener.user.id, listener.user.display_name, token)
            for listener, token in zip(self.world.listeners, tokens, strict=True)
        ]
        self._login_as = self.users[0].user_id
        self.requests: Counter[str] = Counter()
        self.arrivals: list[tuple[float, str]] = []
        self.arrivals_by_user: list[tuple[float, str, str | None]] = []
        self._v1_requests = 0
        self._lock = threading.Lock()
        self._fault_rng = stream(seed, "faults")
        self._refresh_tokens = {user.refresh_token: user.user_id for user in self.users}
        self._codes: dict[str, tuple[str, str, str]] = {}
        self.consent = True
        self._access_tokens: dict[str, tuple[str | None, float]] = {}
        self._issued = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._api: Api | None = None

    @property
    def auth_url(self) -> str:
        """Base URL of the accounts service; the token endpoint is auth_url + "/api/token"."""
        if self._server is None:
            raise RuntimeError("The emulator is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        """Base URL of the Web API, ending in /v1."""
        return self.auth_url + "/v1"

    def variables(self) -> dict[str, str]:
        """The pipeline's SPOTIFY_* variables that point it at this emulator."""
        return {
            "SPOTIFY_API_URL": self.api_url,
            "SPOTIFY_AUTH_URL": self.auth_url,
            "SPOTIFY_CLIENT_ID": self.client_id,
            "SPOTIFY_CLIENT_SECRET": self.client_secret,
            "SPOTIFY_REFRESH_TOKEN": self.refresh_token,
        }

    @property
    def login_as(self) -> str:
        """The user ID of who consents at GET /authorize: the first user's unless set."""
        return self._login_as

    @login_as.setter
    def login_as(self, user_id: str) -> None:
        self._login_as = self.world.listener(user_id).user.id

    def accounts_file_data(self) -> dict[str, dict[str, str]]:
        """Every user's refresh token, in the shape of the pipeline's SPOTIFY_ACCOUNTS_FILE."""
        return {user.user_id: {"refresh_token": user.refresh_token} for user in self.users}

    def write_accounts_file(self, path: Path) -> Path:
        """Write `accounts_file_data()` as JSON to `path`, readable by its owner alone, as
        the pipeline wants a file of refresh tokens; the path."""
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(json.dumps(self.accounts_file_data(), indent=2) + "\n")
        os.chmod(path, 0o600)  # a file that was already there keeps its mode through open
        return path

    @property
    def account(self) -> Account:
        """The first user's account as of the emulator's clock."""
        return self.account_at(self.clock())

    def account_at(self, now: float, user_id: str | None = None) -> Account:
        """A user's account (the first user's for None) as of `now` (epoch seconds)."""
        return self.world.account_at(now, user_id)

    @property
    def total_requests(self) -> int:
        """How many /v1 requests arrived since construction or the last reset."""
        with self._lock:
            return self._v1_requests

    def reset_counts(self) -> None:
        """Forget all request counts and arrivals."""
        with self._lock:
            self.requests.clear()
            self.arrivals.clear()
            self.arrivals_by_user.clear()
            self._v1_requests = 0

    def revoke_refresh_token(self, token: str | None = None) -> None:
        """Revoke one refresh token, whoever's it is, or every one issued so far."""
        with self._lock:
            if token is None:
                self._refresh_tokens.clear()
            else:
                self._refresh_tokens.pop(token, None)

    def expire_tokens(self) -> None:
        """Make every access token issued so far expire now."""
        with self._lock:
            self._access_tokens = {t: (user, 0.0) for t, (user, _) in self._access_tokens.items()}

    def start(self) -> "Emulator":
        """Listen on 127.0.0.1 and serve from a background thread."""
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler_for(self))
        self._server.daemon_threads = True
        self._api = Api(Renderer(self.world.catalog, self.api_url), self.auth_url)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
        self._server = self._thread = None

    def wait(self) -> None:
        """Block while the started server runs; return on Ctrl-C."""
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            return

    def serve_forever(self) -> None:
        """Serve in the foreground until interrupted (Ctrl-C), then stop."""
        if self._thread is None:
            self.start()
        try:
            self.wait()
        finally:
            self.stop()

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def answer(self, method: str, target: str, headers: Any, body: bytes) -> Answer:
        """Answer one HTTP request (called by the server threads)."""
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if parts.path == "/api/token":
            self._count(f"{method} /api/token", v1=False)
            if method != "POST":
                return _error(405, "Method not allowed")
            return self._token(headers.get("Authorization"), body)
        if parts.path == "/authorize":
            self._count(f"{method} /authorize", v1=False)
            if method != "GET":
                return _error(405, "Method not allowed")
            return self._consent(query)
        if parts.path == "/v1" or parts.path.startswith("/v1/"):
            return self._v1(method, parts.path, query, headers.get("Authorization"))
        self._count(f"{method} {parts.path}", v1=False)
        return _error(404, "Service not found")

    def _count(self, key: str, v1: bool, authorization: str | None = None) -> None:
        """Count a request for the app: one app, one count, whichever user's token it has."""
        with self._lock:
            self.requests[key] += 1
            self._v1_requests += v1
            if v1:
                moment, user_id = self.clock(), self._bearer(authorization)
                self.arrivals.append((moment, key))
                self.arrivals_by_user.append((moment, key, user_id))

    def _bearer(self, authorization: str | None) -> str | None:
        """The user a bearer token was issued for, valid or not; None for anything else."""
        token = (authorization or "").removeprefix("Bearer ").strip()
        return self._access_tokens.get(token, (None, 0.0))[0]

    def _issue(self, user_id: str | None) -> str:
        """An access token for a user, or for the app alone (None)."""
        with self._lock:
            self._issued += 1
            token = "BQ" + base62(64, self.seed, "access", self._issued)
            self._access_tokens[token] = (user_id, self.clock() + self.faults.token_ttl)
        return token

    def _rotate(self, user_id: str) -> str:
        with self._lock:
            self._issued += 1
            token = "AQ" + base62(96, self.seed, "refresh", self._issued)
            self._refresh_tokens[token] = user_id
        return token

    def _consent(self, query: dict[str, str]) -> Answer:
        """GET /authorize: the user's answer, given at once (`consent`), as a redirect."""
        redirect_uri, state = query.get("redirect_uri", ""), query.get("state", "")
        if query.get("client_id") != self.client_id:
            return _oauth_error("invalid_client", "Invalid client")
        if query.get("response_type") != "code":
            return _oauth_error("unsupported_response_type", "response_type must be code")
        if not redirect_uri.startswith(LOOPBACK_REDIRECT):
            return _oauth_error("invalid_request", "Invalid redirect URI")
        if not self.consent:
            return _redirect(redirect_uri, error="access_denied", state=state)
        with self._lock:
            self._issued += 1
            code = "AQ" + base62(128, self.seed, "code", self._issued)
            self._codes[code] = (redirect_uri, query.get("scope", ""), self.login_as)
        return _redirect(redirect_uri, code=code, state=state)

    def _token(self, authorization: str | None, body: bytes) -> Answer:
        form = dict(parse_qsl(body.decode(errors="replace")))
        client = _basic_credentials(authorization) or (
            form.get("client_id", ""),
            form.get("client_secret", ""),
        )
        if client[0] != self.client_id:
            return _oauth_error("invalid_client", "Invalid client")
        if client[1] != self.client_secret:
            return _oauth_error("invalid_client", "Invalid client secret")
        grants = {
            "client_credentials": self._app_grant,
            "refresh_token": self._refresh_grant,
            "authorization_code": self._code_grant,
        }
        grant = form.get("grant_type")
        if grant not in grants:
            return _oauth_error("unsupported_grant_type", f"grant_type {grant!r} is not supported")
        return grants[grant](form)

    def _app_grant(self, form: dict[str, str]) -> Answer:
        return Answer(200, {"access_token": self._issue(None), "token_type": "Bearer",
                            "expires_in": TOKEN_LIFETIME})  # fmt: skip

    def _refresh_grant(self, form: dict[str, str]) -> Answer:
        """A refresh token stands for the user who gave it, and so does what it grants."""
        with self._lock:
            user_id = self._refresh_tokens.get(form.get("refresh_token", ""))
        if user_id is None:
            return _oauth_error("invalid_grant", "Invalid refresh token")
        granted = {"access_token": self._issue(user_id), "token_type": "Bearer",
                   "expires_in": TOKEN_LIFETIME, "scope": USER_SCOPE}  # fmt: skip
        if self.faults.rotate_refresh_token:
            granted["refresh_token"] = self._rotate(user_id)
        return Answer(200, granted)

    def _code_grant(self, form: dict[str, str]) -> Answer:
        """A code is good once, only with the redirect URI it was issued for, and for the
        user who consented."""
        with self._lock:
            redirect_uri, scope, user_id = self._codes.pop(form.get("code", ""), (None, "", ""))
        if redirect_uri is None:
            return _oauth_error("invalid_grant", "Invalid authorization code")
        if form.get("redirect_uri") != redirect_uri:
            return _oauth_error("invalid_grant", "Invalid redirect URI")
        return Answer(200, {"access_token": self._issue(user_id), "token_type": "Bearer",
                            "expires_in": TOKEN_LIFETIME, "refresh_token": self._rotate(user_id),
                            "scope": scope})  # fmt: skip

    def _authorize(self, authorization: str | None) -> str | None:
        """Check the bearer token; the user it was issued for, or None for an app token."""
        if not authorization or not authorization.startswith("Bearer "):
            raise ApiError(401, "No token provided")
        with self._lock:
            grant = self._access_tokens.get(authorization[7:].strip())
        if grant is None:
            raise ApiError(401, "Invalid access token")
        user_id, expires_at = grant
        if self.clock() >= expires_at:
            raise ApiError(401, "The access token expired")
        return user_id

    def _fault(self) -> Answer | None:
        with self._lock:
            faults, roll = self.faults, self._fault_rng.random()
            status = self._fault_rng.choice(sorted(SERVER_ERRORS))
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        if roll < faults.rate_limit:
            retry = {"Retry-After": str(faults.retry_after)}
            if faults.quota_exceeded:
                return _error(429, "QUOTA_EXCEEDED: the app's request quota is used up", retry)
            return _error(429, "API rate limit exceeded", retry)
        if roll < faults.rate_limit + faults.server_errors:
            return _error(status, SERVER_ERRORS[status])
        return None

    def _v1(self, method: str, path: str, query: dict[str, str], auth: str | None) -> Answer:
        found = match(path)
        self._count(f"{method} {found[0].template if found else path}", v1=True, authorization=auth)
        fault = self._fault()
        if fault is not None:
            return fault
        try:
            user_id = self._authorize(auth)
            if found is None:
                raise ApiError(404, "Service not found")
            if method != "GET":
                raise ApiError(405, "Method not allowed")
            route, params = found
            if route.user_only and user_id is None:
                raise ApiError(403, "This endpoint needs a user access token")
            # An app token reads playlists as the first user's library holds them, as before.
            account = self.account_at(self.clock(), user_id)
            request = Request(path, query, account, user_id is not None, params)
            return Answer(200, route.handler(self._api, request))
        except ApiError as error:
            return _error(error.status, error.message)


def _handler_for(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        wbufsize = -1

        def _dispatch(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            answer = emulator.answer(self.command, self.path, self.headers, body)
            payload = json.dumps(answer.body, ensure_ascii=False).encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _dispatch

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Stay quiet: tests and benchmarks make many requests."""

    return Handler


def serve(port: int = 0, **options: Any) -> None:
    """Run an emulator in the foreground, printing where it listens, until Ctrl-C."""
    emulator = Emulator(port=port, **options).start()
    print(f"Spotify emulator: api {emulator.api_url}  token {emulator.auth_url}/api/token")
    print(f"client_id={emulator.client_id} client_secret={emulator.client_secret} "
          f"refresh_token={emulator.refresh_token}")  # fmt: skip
    for user in emulator.users[1:]:
        print(f"user {user.user_id} ({user.display_name}) refresh_token={user.refresh_token}")
    emulator.serve_forever()
