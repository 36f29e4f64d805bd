"""The Spotify Web API through spotipy's public methods, with our session, pacing and retries.

Every request is one of spotipy's public methods (`current_user_saved_tracks`, `album`,
`next`, ...), called through `SpotifyClient.get`. spotipy is given our `requests.Session`
and `retries=0`, so its urllib3 retry, which sleeps through a whole `Retry-After`
(sometimes hours), never runs. This module decides instead: it honours `Retry-After` (read
from the `headers` spotipy's exception keeps) up to a cap and never past the run's remaining
time, backs off on 5xx and timeouts with jitter, and refreshes the access token once on a 401.

spotipy takes no base URL: its methods address `https://api.spotify.com/v1`. Where
SPOTIFY_API_URL names another (the emulator), our session sends those requests there
(`Rebased`), rather than rewriting spotipy's `prefix`, which is not among its parameters.
"""

from __future__ import annotations

import logging
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
import spotipy

from chalicelib.errors import (
    AuthError,
    CutShortError,
    OutOfTimeError,
    RateLimitedError,
    SpotifyError,
    UnavailableError,
)
from chalicelib.settings import Credentials
from chalicelib.spotify.limiter import AdaptiveLimiter, RequestPacer

CREDENTIAL = re.compile(r"\b(Bearer|Basic)\s+[^\s'\",}]+")


class MaskCredentials(logging.Filter):
    """Masks the bearer (or basic) credential in a log record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if CREDENTIAL.search(message):
            record.msg, record.args = CREDENTIAL.sub(r"\1 ***", message), ()
        return True


# spotipy logs request headers, the bearer token included, at DEBUG: keep it above that,
# and mask the token should someone turn its DEBUG on (a filter on the logger that makes
# the record: filters of parent loggers are not consulted).
logging.getLogger("spotipy").setLevel(logging.CRITICAL)
for _name in ("spotipy.client", "spotipy.oauth2"):
    logging.getLogger(_name).addFilter(MaskCredentials())

AUTH_AGAIN = "run `spotify-etl auth` again to get a new refresh token"
TRANSIENT = (500, 502, 503, 504)
SPOTIFY_API = "https://api.spotify.com/v1"  # where spotipy's methods send their requests


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often to retry; every wait goes through an injected sleep."""

    max_attempts: int = 6  # in a row, for 5xx and timeouts
    max_rate_limited: int = 30  # 429s in a row for one request
    max_retry_after: float = 120.0
    backoff_base: float = 0.5
    backoff_cap: float = 10.0
    time_margin: float = 20.0


class TokenManager:
    """Access tokens from the refresh token, cached in memory (spotipy's auth-manager protocol)."""

    def __init__(
        self,
        credentials: Credentials,
        auth_url: str,
        session: requests.Session,
        clock: Callable[[], float] = time.time,
        on_new_refresh_token: Callable[[str], None] | None = None,
    ):
        self._credentials = credentials
        self._token_url = f"{auth_url}/api/token"
        self._session = session
        self._clock = clock
        self._on_new_refresh_token = on_new_refresh_token
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()

    def get_access_token(self, as_dict: bool = False) -> str:
        """A valid access token, refreshed a minute before it expires."""
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at - 60:
                self._refresh()
            assert self._token is not None
            return self._token

    def invalidate(self, token: str | None) -> None:
        """Forget the token a request was refused with (not a newer one)."""
        with self._lock:
            if token is None or token == self._token:
                self._token = None

    def _refresh(self) -> None:
        credentials = self._credentials
        try:
            response = self._session.post(
                self._token_url,
                data={"grant_type": "refresh_token", "refresh_token": credentials.refresh_token},
                auth=(credentials.client_id, credentials.client_secret),
                timeout=10,
            )
        except requests.RequestException as error:
            raise SpotifyError(
                f"cannot reach {self._token_url}: {type(error).__name__}; check the network and "
                "SPOTIFY_AUTH_URL (offline, the emulator's address), then run again: nothing "
                "was fetched, and the next run starts where the last one ended"
            ) from None
        body = json_object(response)
        if response.status_code == 400 and body.get("error") == "invalid_grant":
            raise AuthError(f"Spotify refused the refresh token (revoked or expired): {AUTH_AGAIN}")
        if response.status_code in (400, 401) and body.get("error") == "invalid_client":
            raise AuthError(
                "Spotify refused the client ID or secret: check SPOTIFY_CLIENT_ID and "
                "SPOTIFY_CLIENT_SECRET (or the secret named by SPOTIFY_SECRET_ID)"
            )
        if response.status_code != 200 or "access_token" not in body:
            raise SpotifyError(
                f"token endpoint answered {response.status_code}", status=response.status_code
            )
        self._token = body["access_token"]
        self._expires_at = self._clock() + float(body.get("expires_in", 3600))
        rotated = body.get("refresh_token")
        if rotated and rotated != credentials.refresh_token:
            self._credentials = Credentials(
                credentials.client_id, credentials.client_secret, rotated
            )
            if self._on_new_refresh_token:
                self._on_new_refresh_token(rotated)


class SpotifyClient:
    """spotipy's public methods, each answer retried under our policy; paged or single."""

    def __init__(
        self,
        tokens: TokenManager,
        session: requests.Session,
        *,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        remaining: Callable[[], float] = lambda: math.inf,
        timeout: float = 15.0,
        limiter: AdaptiveLimiter | None = None,
        pacer: RequestPacer | None = None,
    ):
        self._tokens = tokens
        self._spotify = spotipy.Spotify(
            auth_manager=tokens,
            requests_session=session,
            requests_timeout=timeout,
            retries=0,
            status_retries=0,
        )
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._remaining = remaining
        self._limiter = limiter or AdaptiveLimiter(initial=1, maximum=1)
        self._pacer = pacer
        self._random = random.Random()
        self._lock = threading.Lock()
        self._halted: CutShortError | None = None
        self.requests = 0
        self.rate_limited = 0  # the 429s among them

    def get(self, method: str, *args: Any, **params: Any) -> dict[str, Any]:
        """The answer of spotipy's public method `method` (`"album"`, `"next"`, ...) called
        with these arguments, retried per policy.

        429s and transient failures (5xx, timeouts) each have their own bounded budget; when
        one runs out the run is cut short, not failed, so what it fetched is kept. Once one
        request cuts the run short, every later request stops the same way at once, so the
        other workers of a run stop too.
        """
        call = getattr(self._spotify, method)
        what = _what(method, args)
        failures = {"rate_limited": 0, "transient": 0}
        refreshed = False
        while True:
            token = self._start_request(what)
            try:
                with self._limiter, self._paced(what):
                    answer = call(*args, **params)
                self._limiter.succeeded()
                return answer
            except spotipy.SpotifyException as error:
                if error.http_status == 401 and not refreshed:
                    self._tokens.invalidate(token)
                    refreshed = True
                    continue
                retry_after = self._wait_for(error, what)
                kind = "rate_limited" if error.http_status == 429 else "transient"
                if kind == "rate_limited":
                    with self._lock:
                        self.rate_limited += 1
                reason = f"answered {error.http_status}"
            except (requests.Timeout, requests.ConnectionError) as error:
                retry_after, kind, reason = None, "transient", type(error).__name__
            failures[kind] += 1
            wait = self._backoff(failures[kind]) if retry_after is None else retry_after
            if failures[kind] >= self._budget(kind):
                self._halt(
                    UnavailableError(
                        f"{what} {reason} {failures[kind]} times in a row; the next run resumes"
                    )
                )
            self._sleep_within_budget(wait, what)

    @contextmanager
    def _paced(self, what: str) -> Iterator[None]:
        """Hold a slot of the pacer (if any) for one request, waiting for its start."""
        if self._pacer is None:
            yield
            return
        start = self._pacer.reserve()
        try:
            wait = self._pacer.wait(start)
            if wait > 0:
                self._sleep_within_budget(wait, what, "wait its turn under SPOTIFY_RATE_LIMIT")
            yield
        finally:
            self._pacer.release()

    def _budget(self, kind: str) -> int:
        policy = self._policy
        return policy.max_rate_limited if kind == "rate_limited" else policy.max_attempts

    def _start_request(self, what: str) -> str:
        """Count the request and check the run may still make it; the token it will carry."""
        with self._lock:
            if self._halted is not None:
                raise self._halted
        if self._remaining() < self._policy.time_margin:
            self._halt(OutOfTimeError(f"{what}: this run is out of time"))
        with self._lock:
            self.requests += 1
        return self._tokens.get_access_token()

    def _halt(self, error: CutShortError) -> None:
        with self._lock:
            self._halted = self._halted or error
        raise error

    def pages(
        self, method: str, *args: Any, **params: Any
    ) -> Iterator[tuple[int, dict[str, Any]]]:
        """Every page of a paged answer of spotipy's `method` as (offset, page), following
        `next` (spotipy's `next`)."""
        page = self.get(method, *args, **params)
        offset = int(params.get("offset", 0))
        while True:
            yield page.get("offset", offset), page
            if not page.get("next") or not page.get("items"):
                return
            offset = page.get("offset", offset) + len(page.get("items") or [])
            page = self.get("next", page)

    def _wait_for(self, error: spotipy.SpotifyException, what: str) -> float | None:
        """The wait a 429 asks for, None for a transient failure (back off), or the error."""
        status = error.http_status
        if status == 429:
            return self._retry_after(error)
        if status in TRANSIENT:
            return None
        if status == 401:
            raise AuthError(f"Spotify refused the access token twice: {AUTH_AGAIN}", status=401)
        hint = ""
        if status == 403 and _of_user(_path(str(error.msg).split(":\n", 1)[0])):
            hint = f" (the token may lack a scope this needs: {AUTH_AGAIN})"
        raise SpotifyError(
            f"{what} answered {status}: {_message(error)}{hint}",
            status=status,
            reason=error.reason,
        )

    def _retry_after(self, error: spotipy.SpotifyException) -> float:
        """The wait a 429 asks for, if this run can afford it; else the run is cut short."""
        self._limiter.rate_limited()
        retry_after = _retry_after(error.headers)
        if "QUOTA_EXCEEDED" in f"{error.msg} {error.reason}":
            self._halt(
                RateLimitedError(
                    "Spotify says the app's quota is exceeded (QUOTA_EXCEEDED): no retry helps "
                    "until it resets; the next run resumes",
                    retry_after=retry_after,
                    reason="QUOTA_EXCEEDED",
                )
            )
        if retry_after > self._policy.max_retry_after or not self._affordable(retry_after):
            self._halt(
                RateLimitedError(
                    f"Spotify rate limit: asked to wait {retry_after:.0f} s, more than this "
                    "run can afford; the next run resumes",
                    retry_after=retry_after,
                    reason=error.reason,
                )
            )
        return retry_after

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._policy.backoff_cap, self._policy.backoff_base * 2**attempt)
        return self._random.uniform(ceiling / 2, ceiling)

    def _affordable(self, seconds: float) -> bool:
        return seconds + self._policy.time_margin < self._remaining()

    def _sleep_within_budget(self, seconds: float, what: str, to: str = "retry") -> None:
        if not self._affordable(seconds):
            self._halt(OutOfTimeError(f"{what}: this run is out of time to {to}"))
        self._sleep(seconds)


class Rebased(requests.adapters.HTTPAdapter):
    """Sends the requests spotipy addresses to Spotify's Web API to another base URL."""

    def __init__(self, api_url: str, **kwargs: Any):
        super().__init__(**kwargs)
        self._api_url = api_url

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        request.url = self._api_url + str(request.url).removeprefix(SPOTIFY_API)
        return super().send(request, *args, **kwargs)


def session_for(api_url: str, concurrency: int = 1) -> requests.Session:
    """One HTTP session for a run: a connection per concurrent request, and spotipy's
    requests to Spotify's Web API sent to `api_url`."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=max(concurrency, 1))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    if api_url != SPOTIFY_API:
        session.mount(f"{SPOTIFY_API}/", Rebased(api_url, pool_maxsize=max(concurrency, 1)))
    return session


def _retry_after(headers: Any) -> float:
    try:
        return max(0.0, float((headers or {}).get("Retry-After", 1)))
    except (TypeError, ValueError):
        return 1.0


def _message(error: spotipy.SpotifyException) -> str:
    return str(error.msg).split("\n", 1)[-1].strip()


def _path(url: str) -> str:
    """A request's path without query string or host, safe to put in messages."""
    return url.split("?", 1)[0].split("/v1/", 1)[-1]


def _what(method: str, args: tuple[Any, ...]) -> str:
    """A request as messages name it: the path of the page `next` asks for, or spotipy's
    method and the IDs it is given."""
    if method == "next":
        return f"the next page of {_path(str(args[0].get('next')))}"
    return " ".join([method, *map(str, args)])


def _of_user(path: str) -> bool:
    return path == "me" or path.startswith("me/")


def json_object(response: requests.Response) -> dict[str, Any]:
    """A response's JSON object body, or {} when it is not one (for error answers)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def connect(
    credentials: Credentials,
    api_url: str,
    auth_url: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    remaining: Callable[[], float] = lambda: math.inf,
    on_new_refresh_token: Callable[[str], None] | None = None,
    policy: RetryPolicy | None = None,
    concurrency: int = 1,
    rate_limit: int = 0,
    clock: Callable[[], float] = time.time,
    pacer: RequestPacer | None = None,
) -> SpotifyClient:
    """A client for one run: one HTTP session, tokens in memory only, at most `concurrency`
    requests in flight (fewer while Spotify answers 429) and, unless `rate_limit` is 0, at
    most `rate_limit` requests in any 30 seconds on `clock`, the clock `sleep` waits on:
    on `pacer` where given (the app's, which the runs of several accounts share)."""
    session = session_for(api_url, concurrency)
    tokens = TokenManager(credentials, auth_url, session, on_new_refresh_token=on_new_refresh_token)
    limiter = AdaptiveLimiter(initial=max(1, concurrency // 2), maximum=max(concurrency, 1))
    if pacer is None and rate_limit:
        pacer = RequestPacer(rate_limit, clock=clock)
    return SpotifyClient(
        tokens,
        session,
        policy=policy,
        sleep=sleep,
        remaining=remaining,
        limiter=limiter,
        pacer=pacer,
    )
