"""Deterministic identifiers, random streams and timestamps."""

import hashlib
import random
import re
import string
from datetime import UTC, datetime

BASE62 = string.digits + string.ascii_letters
_ID_PATTERN = re.compile(r"[0-9A-Za-z]{22}")


def base62(length: int, *parts: object) -> str:
    """Return a base62 string of `length` characters derived from `parts`."""
    text = ":".join(str(part) for part in parts)
    number = int.from_bytes(hashlib.shake_256(text.encode()).digest(length), "big")
    chars = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        chars.append(BASE62[digit])
    return "".join(chars)


def spotify_id(*parts: object) -> str:
    """Return a 22-character base62 Spotify ID derived from `parts`."""
    return base62(22, *parts)


def is_spotify_id(value: str) -> bool:
    """Tell whether `value` is shaped like a Spotify ID."""
    return _ID_PATTERN.fullmatch(value) is not None


def stream(*parts: object) -> random.Random:
    """Return a random stream seeded by `parts`, identical across processes."""
    return random.Random(":".join(str(part) for part in parts))


def iso_seconds(timestamp: float) -> str:
    """Format epoch seconds as Spotify does for `added_at`."""
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_millis(timestamp_ms: int) -> str:
    """Format epoch milliseconds as Spotify does for `played_at`."""
    moment = datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{timestamp_ms % 1000:03d}Z"
