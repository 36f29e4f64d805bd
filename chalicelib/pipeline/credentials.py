"""Spotify's credentials for a run: from the settings or the secret they name, a rotated
refresh token stored back, and every secret string kept out of the run's record."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from chalicelib.errors import ConfigError
from chalicelib.runs import RunRecord
from chalicelib.secrets import SpotifySecret, secrets_manager
from chalicelib.settings import Credentials, Settings


def check_credentials(settings: Settings) -> None:
    """A ConfigError saying what to set where no credentials are configured, neither in the
    environment nor as a secret (which the run itself reads): refused before a run starts."""
    if not settings.secret_id:
        settings.require_credentials()


def credentials_for(settings: Settings, secrets_client: Any = None) -> Credentials:
    """Local credentials from the environment, or the JSON secret named by SPOTIFY_SECRET_ID."""
    if settings.credentials is not None or not settings.secret_id:
        return settings.require_credentials()
    return _secret(settings, secrets_client).read()


def store_refresh_token(settings: Settings, secrets_client: Any = None) -> Callable[[str], None]:
    """Where a rotated refresh token goes: back into the secret in AWS (a client is made only
    when Spotify rotates one)."""
    return lambda token: _secret(settings, secrets_client).store_refresh_token(token)


def _secret(settings: Settings, client: Any) -> SpotifySecret:
    if not settings.secret_id:
        raise ConfigError("SPOTIFY_SECRET_ID is not set: the secret holding the credentials")
    return SpotifySecret(settings.secret_id, client or secrets_manager())


def redact(record: RunRecord, credentials: Credentials | None) -> RunRecord:
    """The record with every secret string in it replaced by ***."""
    if credentials is None:
        return record
    text = json.dumps(record.to_json())
    for secret in (credentials.client_secret, credentials.refresh_token):
        text = text.replace(secret, "***")
    return RunRecord.from_json(json.loads(text))
