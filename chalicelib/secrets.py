"""The Spotify credentials in AWS: one JSON secret in Secrets Manager holding `client_id`,
`client_secret` and the accounts' refresh tokens, which `spotify-etl auth --secret-id`
writes: `{"client_id", "client_secret", "accounts": {"<user_id>": {"refresh_token"}}}`, or
the one-account shape `{"client_id", "client_secret", "refresh_token"}` (whose account is
who `GET /me` says it is).

`SpotifySecret` receives its client and turns what botocore raises into a ConfigError that
says what to do; no message carries the secret's value.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.aws import aws_failure, client, is_aws_error
from chalicelib.errors import ConfigError
from chalicelib.settings import AppKeys, Credentials

FIELDS = ("client_id", "client_secret", "refresh_token")
APP_FIELDS = ("client_id", "client_secret")
ACCOUNTS = "accounts"


def secrets_manager() -> Any:
    """A Secrets Manager client for the region the environment names."""
    return client("secretsmanager")


class SpotifySecret:
    """One secret in Secrets Manager, read and written through the client it is given."""

    def __init__(self, secret_id: str, client: Any):
        self._id = secret_id
        self._client = client

    def read(self) -> Credentials:
        """The one-account shape's credentials, or a ConfigError saying what is wrong."""
        value = self._value()
        if not isinstance(value.get("refresh_token"), str):
            raise ConfigError(f"secret {self._id} holds accounts: name the account to read")
        return Credentials(*(value[name] for name in FIELDS))

    def read_all(self) -> tuple[AppKeys, str | None, dict[str, str]]:
        """The app's keys, the one-account shape's refresh token (or None) and each named
        account's refresh token; a ConfigError saying what is wrong."""
        value = self._value()
        keys = AppKeys(value["client_id"], value["client_secret"])
        held = value.get(ACCOUNTS, {})
        accounts = {name: entry["refresh_token"] for name, entry in held.items()}
        return keys, value.get("refresh_token"), accounts

    def store_refresh_token(self, token: str, account: str | None = None) -> None:
        """Write a refresh token Spotify rotated (or `auth` obtained) back into the secret:
        the account's entry, or the one-account shape's where `account` is None; a
        ConfigError if it cannot be saved (the run then fails, saying how to authorize
        again)."""
        try:
            value = self._value()
            if account is None:
                value["refresh_token"] = token
            else:
                value[ACCOUNTS] = {**value.get(ACCOUNTS, {}), account: {"refresh_token": token}}
            self._put(json.dumps(value))
        except ConfigError as problem:
            raise ConfigError(
                f"Spotify rotated the refresh token, but the new one is not saved ({problem}); "
                f"once that is fixed, run `spotify-etl auth --secret-id {self._id}` to store a "
                "new one before the next run"
            ) from None

    def forget_account(self, account: str) -> bool:
        """Remove an account's refresh token from the secret; whether it held one."""
        value = self._value()
        held = value.get(ACCOUNTS, {})
        if account not in held:
            return False
        value[ACCOUNTS] = {name: entry for name, entry in held.items() if name != account}
        self._put(json.dumps(value))
        return True

    def _value(self) -> dict[str, Any]:
        try:
            text = self._client.get_secret_value(SecretId=self._id)["SecretString"]
        except Exception as error:
            raise refused(error, self._id, "read", self._create) from None
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, dict) or not _well_formed(value):
            raise ConfigError(
                f"secret {self._id} must be JSON with client_id, client_secret and "
                'refresh_token, or accounts ({"<user_id>": {"refresh_token": ...}}); '
                f"`spotify-etl auth --secret-id {self._id}` writes it"
            )
        return value

    def _put(self, text: str) -> None:
        try:
            self._client.put_secret_value(SecretId=self._id, SecretString=text)
        except Exception as error:
            raise refused(error, self._id, "write", self._create) from None

    @property
    def _create(self) -> str:
        command = f"spotify-etl auth --secret-id {self._id}"
        return f"check SPOTIFY_SECRET_ID, or create it with `{command}`"


def _well_formed(value: dict[str, Any]) -> bool:
    """client_id and client_secret, and a refresh_token or an accounts map of them (or both)."""
    if not all(isinstance(value.get(name), str) for name in APP_FIELDS):
        return False
    accounts = value.get(ACCOUNTS)
    single = value.get("refresh_token")
    if accounts is None:
        return isinstance(single, str)
    tokens_ok = isinstance(accounts, dict) and all(
        isinstance(entry, dict) and isinstance(entry.get("refresh_token"), str)
        for entry in accounts.values()
    )
    return tokens_ok and (single is None or isinstance(single, str))


def refused(error: Exception, secret_id: str, action: str, create: str) -> Exception:
    """What a failed call on a secret means, with `create` saying how to make a missing one;
    an error that is not AWS's goes on as it is."""
    if not is_aws_error(error):
        return error
    code = getattr(error, "response", {}).get("Error", {}).get("Code")
    if code == "ResourceNotFoundException":
        where = "does not exist in this account and region"
        return ConfigError(f"secret {secret_id} {where}; {create}")
    return ConfigError(f"cannot {action} secret {secret_id}: {aws_failure(error)}")
