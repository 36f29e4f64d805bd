"""The local `.env` (git-ignored) as the command line writes it; chalicelib.settings reads it."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from dotenv import dotenv_values, set_key

from chalicelib.settings import DOTENV


def refresh_token_keeper(env: dict[str, str], dotenv: Path = DOTENV) -> Callable[[str], None]:
    """Where a refresh token rotated by Spotify goes: back into `.env` if it came from there."""
    from_dotenv = (
        dotenv.is_file()
        and "SPOTIFY_REFRESH_TOKEN" not in os.environ
        and dotenv_values(dotenv).get("SPOTIFY_REFRESH_TOKEN") == env.get("SPOTIFY_REFRESH_TOKEN")
    )

    def keep(token: str) -> None:
        if from_dotenv:
            write_dotenv(dotenv, {"SPOTIFY_REFRESH_TOKEN": token})
            return
        print(
            "warning: Spotify issued a new refresh token, and SPOTIFY_REFRESH_TOKEN does not "
            "come from .env, so it was not stored; run `spotify-etl auth` to store one in .env",
            file=sys.stderr,
        )

    return keep


def write_dotenv(dotenv: Path, values: dict[str, str]) -> None:
    """Set variables in `.env`, creating it readable by its owner only (mode 0600)."""
    dotenv.touch(mode=0o600, exist_ok=True)
    dotenv.chmod(0o600)
    for key, value in values.items():
        set_key(str(dotenv), key, value, quote_mode="never")
