"""Configuration, read at the edge (handler or command line) into typed objects.

`load()` is the one loader: the process environment over a local `.env` (Lambda has none:
its stage's variables are all there is). Nothing below the edge reads the environment; it
receives a `Settings`.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from chalicelib.errors import ConfigError

DEFAULT_LAKE_URI = "./.lake"
DEFAULT_API_URL = "https://api.spotify.com/v1"
DEFAULT_AUTH_URL = "https://accounts.spotify.com"
DEFAULT_SNAPSHOT_SCHEDULE = "cron(15 3 * * ? *)"
DEFAULT_PLAYS_SCHEDULE = "rate(30 minutes)"
PLAYLIST_ID = re.compile(r"^[A-Za-z0-9]{1,64}$")
NAME = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")  # ftp://, S3://, s3:/x: no local folder
BUCKET = re.compile(r"^(?!\d+\.\d+\.\d+\.\d+$)(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
ENGINES = ("athena", "duckdb")
DEFAULT_RATE_LIMIT = 60  # requests per rolling 30 s; the README says why
DEFAULT_DETAIL_BUDGET = 0  # full album/artist/track objects per run; the README says why
DOTENV = Path(".env")
DEFAULT_ACCOUNTS_FILE = ".spotify-accounts.json"


def environment(dotenv: Path = DOTENV) -> dict[str, str]:
    """The process environment over the values of `dotenv`, if there is one (the process wins)."""
    values: dict[str, str] = {}
    if dotenv.is_file():
        from dotenv import dotenv_values  # a local dependency: Lambda never has a .env

        values = {k: v for k, v in dotenv_values(dotenv).items() if v is not None}
    return {**values, **os.environ}


def load(dotenv: Path = DOTENV) -> Settings:
    """The settings of this process: parsed once for each environment it sees."""
    return _parsed(tuple(sorted(environment(dotenv).items())))


@functools.lru_cache(maxsize=8)
def _parsed(env: tuple[tuple[str, str], ...]) -> Settings:
    return Settings.from_env(dict(env))


@dataclass(frozen=True)
class AppKeys:
    """The Spotify app's client ID and secret, the same for every account."""

    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"AppKeys(client_id={self.client_id!r}, client_secret=***)"


@dataclass(frozen=True)
class Credentials:
    """The Spotify app's credentials and one account's refresh token."""

    client_id: str
    client_secret: str
    refresh_token: str

    def __repr__(self) -> str:
        return f"Credentials(client_id={self.client_id!r}, client_secret=***, refresh_token=***)"


@dataclass(frozen=True)
class Settings:
    """Everything the pipeline reads from its environment."""

    lake_uri: str = DEFAULT_LAKE_URI
    api_url: str = DEFAULT_API_URL
    auth_url: str = DEFAULT_AUTH_URL
    playlists: tuple[str, ...] | None = None
    query_engine: str = "duckdb"
    glue_database: str = "spotify"
    athena_workgroup: str = "spotify"
    secret_id: str | None = None
    app_keys: AppKeys | None = None  # SPOTIFY_CLIENT_ID and SPOTIFY_CLIENT_SECRET, locally
    refresh_token: str | None = field(default=None, repr=False)  # one account's, locally
    accounts_file: str = DEFAULT_ACCOUNTS_FILE  # locally: {"<user_id>": {"refresh_token"}}
    catalog_max_age_days: int = 30
    catalog_detail_budget: int = DEFAULT_DETAIL_BUDGET
    rate_limit: int = DEFAULT_RATE_LIMIT
    extract_concurrency: int = 8
    extract_function: str | None = None  # in AWS: the Lambda POST /runs queues a run on
    replay_function: str | None = None  # in AWS: the Lambda POST /runs/ID/transform invokes
    dashboard_key_secret_id: str | None = None  # in AWS: the secret signing dashboard links
    dashboard_key: str | None = field(default=None, repr=False)  # locally, the key itself

    @property
    def lake_is_local(self) -> bool:
        return not self.lake_uri.startswith("s3://")

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Parse and validate the variables of SPEC §3; raise ConfigError naming the culprit."""
        lake_uri = _lake_uri(env)
        local = not lake_uri.startswith("s3://")
        engine = (_get(env, "QUERY_ENGINE") or ("duckdb" if local else "athena")).lower()
        if engine not in ENGINES:
            raise ConfigError(f"QUERY_ENGINE must be one of {', '.join(ENGINES)}, not {engine!r}")
        return cls(
            lake_uri=lake_uri,
            api_url=_url(env, "SPOTIFY_API_URL", DEFAULT_API_URL),
            auth_url=_url(env, "SPOTIFY_AUTH_URL", DEFAULT_AUTH_URL),
            playlists=_playlists(_get(env, "PLAYLISTS")),
            query_engine=engine,
            glue_database=_name(env, "GLUE_DATABASE", "spotify"),
            athena_workgroup=_name(env, "ATHENA_WORKGROUP", "spotify"),
            secret_id=_get(env, "SPOTIFY_SECRET_ID"),
            app_keys=_app_keys(env),
            refresh_token=_get(env, "SPOTIFY_REFRESH_TOKEN"),
            accounts_file=_get(env, "SPOTIFY_ACCOUNTS_FILE") or DEFAULT_ACCOUNTS_FILE,
            catalog_max_age_days=_int(env, "CATALOG_MAX_AGE_DAYS", 30, 0, 3650),
            catalog_detail_budget=_int(
                env, "CATALOG_DETAIL_BUDGET", DEFAULT_DETAIL_BUDGET, 0, 1_000_000
            ),
            rate_limit=_int(env, "SPOTIFY_RATE_LIMIT", DEFAULT_RATE_LIMIT, 0, 100_000),
            extract_concurrency=_int(env, "EXTRACT_CONCURRENCY", 8, 1, 32),
            extract_function=_get(env, "EXTRACT_FUNCTION"),
            replay_function=_get(env, "REPLAY_FUNCTION"),
            dashboard_key_secret_id=_get(env, "DASHBOARD_KEY_SECRET_ID"),
            dashboard_key=_dashboard_key(env),
        )

    @property
    def credentials(self) -> Credentials | None:
        """The one account SPOTIFY_REFRESH_TOKEN names, with the app's keys, if both are set."""
        if self.app_keys is None or self.refresh_token is None:
            return None
        return Credentials(self.app_keys.client_id, self.app_keys.client_secret, self.refresh_token)

    def require_app_keys(self) -> AppKeys:
        """The local app keys, or a ConfigError saying which variables to set."""
        if self.app_keys is None:
            raise ConfigError(
                "Spotify credentials are not configured: set SPOTIFY_CLIENT_ID and "
                "SPOTIFY_CLIENT_SECRET, and SPOTIFY_REFRESH_TOKEN or an accounts file "
                f"(SPOTIFY_ACCOUNTS_FILE, default {DEFAULT_ACCOUNTS_FILE}) (locally, or in "
                ".env), or SPOTIFY_SECRET_ID in AWS; run `spotify-etl auth` to authorize an "
                "account"
            )
        return self.app_keys


@dataclass(frozen=True)
class DeploySettings:
    """What app.py needs at import time to declare its event sources."""

    bucket: str
    raw_prefix: str
    imports_prefix: str
    snapshot_schedule: str
    plays_schedule: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DeploySettings:
        lake_uri = _get(env, "LAKE_URI") or DEFAULT_LAKE_URI
        bucket, prefix = split_s3_uri(lake_uri) if lake_uri.startswith("s3://") else ("local", "")
        return cls(
            bucket=bucket,
            raw_prefix=f"{prefix}raw/",
            imports_prefix=f"{prefix}imports/",
            snapshot_schedule=_get(env, "SNAPSHOT_SCHEDULE") or DEFAULT_SNAPSHOT_SCHEDULE,
            plays_schedule=_get(env, "PLAYS_SCHEDULE") or DEFAULT_PLAYS_SCHEDULE,
        )


def split_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/a/b` -> (`bucket`, `a/b/`); the prefix is empty or ends with a slash."""
    parsed = urlparse(uri)
    prefix = parsed.path.strip("/")
    return parsed.netloc, f"{prefix}/" if prefix else ""


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return value.strip() if value and value.strip() else None


def _lake_uri(env: Mapping[str, str]) -> str:
    """`s3://bucket[/prefix]` with a valid bucket name, or a local folder."""
    value = _get(env, "LAKE_URI") or DEFAULT_LAKE_URI
    if value.startswith("s3://"):
        bucket = urlparse(value).netloc
        if not bucket:
            raise ConfigError(f"LAKE_URI={value!r} has no bucket; use s3://bucket[/prefix]")
        if not BUCKET.match(bucket):
            raise ConfigError(
                f"LAKE_URI={value!r}: {bucket!r} is not an S3 bucket name (3 to 63 lowercase "
                "letters, digits, dots and hyphens); use s3://bucket[/prefix]"
            )
    elif SCHEME.match(value):
        raise ConfigError(
            f"LAKE_URI={value!r} is neither s3://bucket[/prefix] nor a local folder"
        )
    return value


def _url(env: Mapping[str, str], name: str, default: str) -> str:
    value = _get(env, name) or default
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{name}={value!r} is not an http(s) URL")
    return value.rstrip("/")


def _name(env: Mapping[str, str], name: str, default: str) -> str:
    value = _get(env, name) or default
    if not NAME.match(value):
        raise ConfigError(f"{name}={value!r} may hold only letters, digits, '_' and '-'")
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = _get(env, name)
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise ConfigError(f"{name}={value!r} must be a whole number from {low} to {high}")
    return int(value)


def _playlists(value: str | None) -> tuple[str, ...] | None:
    if value is None or value.lower() == "all":
        return None
    ids = tuple(part.strip() for part in value.split(",") if part.strip())
    bad = [part for part in ids if not PLAYLIST_ID.match(part)]
    if not ids or bad:
        raise ConfigError(
            "PLAYLISTS must be 'all' or a comma list of playlist IDs; not valid: "
            + (", ".join(map(repr, bad)) if bad else repr(value))
        )
    return ids


def _dashboard_key(env: Mapping[str, str]) -> str | None:
    key = _get(env, "DASHBOARD_KEY")
    if key is not None and len(key) < 32:
        raise ConfigError(
            "DASHBOARD_KEY must be at least 32 characters (python -c \"import secrets; "
            "print(secrets.token_hex(32))\" makes one)"
        )
    return key


def _app_keys(env: Mapping[str, str]) -> AppKeys | None:
    client_id, secret = _get(env, "SPOTIFY_CLIENT_ID"), _get(env, "SPOTIFY_CLIENT_SECRET")
    if client_id and secret:
        return AppKeys(client_id, secret)
    if client_id or secret or _get(env, "SPOTIFY_REFRESH_TOKEN"):
        missing = [
            name
            for name, value in (("SPOTIFY_CLIENT_ID", client_id), ("SPOTIFY_CLIENT_SECRET", secret))
            if not value
        ]
        raise ConfigError(
            f"{', '.join(missing)} not set; the app's client ID and secret come together, "
            "with SPOTIFY_REFRESH_TOKEN or an accounts file (SPOTIFY_ACCOUNTS_FILE)"
        )
    return None
