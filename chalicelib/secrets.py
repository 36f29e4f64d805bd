"""The Spotify credentials in AWS: one JSON secret in Secrets Manager holding `client_id`,
`client_secret` and `refresh_token`, which `spotify-etl auth --secret-id` writes.

`SpotifySecret` receives its client and turns what botocore raises into a ConfigError that
says what to do; no message carries the secret's value.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.aws import aws_failure, client, is_aws_error
from chalicelib.errors import ConfigError
from chalicelib.settings import Credentials

FIELDS = ("client_id", "client_secret", "refresh_token")


def secrets_manager() -> Any:
    """A Secrets Manager client for the region the environment names."""
    return client("secretsmanager")


class SpotifySecret:
    """One secret in Secrets Manager, read and written through the client it is given."""

    def __init__(self, secret_id: str, client: Any):
        self._id = secret_id
        self._client = client

    def read(self) -> Credentials:
        """The credentials the secret holds, or a ConfigError saying what is wrong."""
        return Credentials(*(self._value()[name] for name in FIELDS))

    def store_refresh_token(self, token: str) -> None:
        """Write a refresh token Spotify rotated back into the secret; a ConfigError if it
        cannot be saved (the run then fails, saying how to authorize again)."""
        try:
            value = self._value()
            value["refresh_token"] = token
            self._put(json.dumps(value))
        except ConfigError as problem:
            raise ConfigError(
                f"Spotify rotated the refresh token, but the new one is not saved ({problem}); "
                f"once that is fixed, run `spotify-etl auth --secret-id {self._id}` to store a "
                "new one before the next run"
            ) from None

    def _value(self) -> dict[str, Any]:
        try:
            text = self._client.get_secret_value(SecretId=self._id)["SecretString"]
        except Exception as error:
            raise refused(error, self._id, "read", self._create) from None
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, dict) or not all(isinstance(value.get(n), str) for n in FIELDS):
            raise ConfigError(
                f"secret {self._id} must be JSON with {', '.join(FIELDS)}; "
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
