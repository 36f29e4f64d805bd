"""Spotify's credentials for a run: the app's keys and each account's refresh token, from the
settings, the local accounts file or the secret they name; a rotated refresh token stored
back to its account; and every secret string kept out of the run's record.

Where the tokens come from (SPEC §9):
- in AWS, the secret SPOTIFY_SECRET_ID names: its `accounts` map, and the one-account shape's
  `refresh_token`;
- locally, the accounts file (SPOTIFY_ACCOUNTS_FILE, `{"<user_id>": {"refresh_token"}}`,
  written by `spotify-etl auth` with mode 0600), and SPOTIFY_REFRESH_TOKEN.

A token of the one-account shapes names no account: whose it is, `GET /me` says, which the
run asks first anyway (chalicelib.pipeline.run).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.accounts import check_account_id
from chalicelib.errors import ConfigError, ValidationError
from chalicelib.runs import RunRecord
from chalicelib.secrets import SpotifySecret, secrets_manager
from chalicelib.settings import AppKeys, Credentials, Settings


@dataclass(frozen=True)
class AppCredentials:
    """The app's keys and its accounts' refresh tokens: `accounts` by user ID, and `unnamed`,
    the one-account shape's token, whose account GET /me tells."""

    keys: AppKeys
    accounts: dict[str, str] = field(default_factory=dict, repr=False)
    unnamed: str | None = field(default=None, repr=False)

    def slot(self, account: str | None) -> str | None:
        """Which token a run of `account` uses: its own (the account), else the one-account
        token (None), whose account GET /me then checks; a ConfigError where neither is."""
        if account is not None and account in self.accounts:
            return account
        if self.unnamed is not None:
            return None
        raise ConfigError(
            f"no refresh token for account {account}: authorize it with `spotify-etl auth`"
        )

    def of(self, slot: str | None) -> Credentials:
        """The credentials of a token `slot` names."""
        token = self.unnamed if slot is None else self.accounts[slot]
        assert token is not None, "slot() names only tokens there are"
        return Credentials(self.keys.client_id, self.keys.client_secret, token)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret string these credentials hold, for redaction."""
        tokens = [*self.accounts.values(), *([self.unnamed] if self.unnamed else [])]
        return (self.keys.client_secret, *tokens)


def check_credentials(settings: Settings) -> None:
    """A ConfigError saying what to set where no credentials are configured, neither in the
    environment nor as a secret (which the run itself reads): refused before a run starts."""
    if not settings.secret_id:
        app_credentials(settings)


def app_credentials(settings: Settings, secrets_client: Any = None) -> AppCredentials:
    """The app's keys and its accounts' tokens: locally from the settings and the accounts
    file, else from the JSON secret named by SPOTIFY_SECRET_ID."""
    if settings.app_keys is not None or not settings.secret_id:
        keys = settings.require_app_keys()
        accounts = read_accounts_file(Path(settings.accounts_file))
        if not accounts and settings.refresh_token is None:
            raise ConfigError(
                "no Spotify account is authorized: set SPOTIFY_REFRESH_TOKEN, or run "
                f"`spotify-etl auth`, which adds the account to {settings.accounts_file}"
            )
        return AppCredentials(keys, accounts, settings.refresh_token)
    keys, unnamed, accounts = _secret(settings, secrets_client).read_all()
    return AppCredentials(keys, accounts, unnamed)


def credentials_for(
    settings: Settings, account: str | None = None, secrets_client: Any = None
) -> Credentials:
    """One account's credentials (None: the one-account token)."""
    app = app_credentials(settings, secrets_client)
    return app.of(app.slot(account))


def store_refresh_token(
    settings: Settings, account: str | None = None, secrets_client: Any = None
) -> Callable[[str], None] | None:
    """Where a rotated refresh token of `account` goes: back into the secret in AWS (a
    client is made only when Spotify rotates one), into the accounts file locally; nowhere
    for SPOTIFY_REFRESH_TOKEN, which only its owner can change (the run says so)."""
    if settings.secret_id and settings.app_keys is None:
        return lambda token: _secret(settings, secrets_client).store_refresh_token(token, account)
    if account is not None and account in read_accounts_file(Path(settings.accounts_file)):
        path, named = Path(settings.accounts_file), account

        def into_file(token: str) -> None:
            write_account(path, named, token)

        return into_file
    return None


def read_accounts_file(path: Path) -> dict[str, str]:
    """The refresh tokens of the accounts file, by account ({} where there is no file); a
    ConfigError naming the file where it is not `{"<user_id>": {"refresh_token": …}}`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ConfigError(f"cannot read the accounts file {path}: {error.strerror}") from None
    try:
        value = json.loads(text)
        return {
            check_account_id(account): entry["refresh_token"]
            for account, entry in value.items()
            if isinstance(entry["refresh_token"], str)
        }
    except (ValueError, TypeError, KeyError, AttributeError, ValidationError):
        raise ConfigError(
            f"the accounts file {path} must be JSON like "
            '{"<spotify user id>": {"refresh_token": "…"}}; `spotify-etl auth` writes it'
        ) from None


def write_account(path: Path, account: str, token: str) -> str:
    """Add an account's refresh token to the accounts file, or replace it; the file is
    written whole and readable by its owner only (0600). `added` or `renewed`."""
    accounts = read_accounts_file(path)
    done = "renewed" if account in accounts else "added"
    accounts[check_account_id(account)] = token
    _write_accounts(path, accounts)
    return done


def forget_account(path: Path, account: str) -> bool:
    """Remove an account's token from the accounts file; whether it was there."""
    accounts = read_accounts_file(path)
    if account not in accounts:
        return False
    del accounts[account]
    _write_accounts(path, accounts)
    return True


def _write_accounts(path: Path, accounts: dict[str, str]) -> None:
    """The accounts file written whole (a reader sees the old file or the new one), mode 0600."""
    document = {name: {"refresh_token": value} for name, value in sorted(accounts.items())}
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        json.dump(document, file, indent=2)
        file.write("\n")
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


def _secret(settings: Settings, client: Any) -> SpotifySecret:
    if not settings.secret_id:
        raise ConfigError("SPOTIFY_SECRET_ID is not set: the secret holding the credentials")
    return SpotifySecret(settings.secret_id, client or secrets_manager())


def redact(record: RunRecord, secrets: tuple[str, ...] | Credentials | None) -> RunRecord:
    """The record with every secret string in it replaced by ***."""
    if secrets is None:
        return record
    if isinstance(secrets, Credentials):
        secrets = (secrets.client_secret, secrets.refresh_token)
    text = json.dumps(record.to_json())
    for secret in secrets:
        text = text.replace(secret, "***")
    return RunRecord.from_json(json.loads(text))
