"""Knobs of the emulator: how big each account is and which faults it injects."""

from dataclasses import dataclass


@dataclass
class Scale:
    """Size of each emulated account."""

    playlists: int = 8
    entries: int = 40
    plays_per_day: int = 60
    saved_tracks: int = 120
    top_items: int = 50
    history_days: int = 7
    changes_per_day: int = 2  # owned playlists changed each day


@dataclass
class Faults:
    """Misbehaviour injected into /v1 answers."""

    rate_limit: float = 0.0
    retry_after: int = 1
    server_errors: float = 0.0
    token_ttl: int = 3600
    latency_ms: int = 0
    rotate_refresh_token: bool = False
    quota_exceeded: bool = False  # the 429s say QUOTA_EXCEEDED: the app's quota is spent
