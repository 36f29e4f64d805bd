"""The raw zone: where one extract run puts the API's answers, and its manifest.

    raw/<snapshot_date>/<run_id>/<part>.json.gz     one API answer each, unchanged, gzip JSON
    raw/<snapshot_date>/<run_id>/manifest.json      written last; the S3 trigger listens for it

A manifest lists every part with the stream it belongs to and, where it matters, the
playlist or time range it answers, so the transform never has to guess from a key.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

RAW = "raw"
MANIFEST = "manifest.json"

# Streams: what a part holds.
ME = "me"
PLAYLISTS = "playlists"  # a page of /me/playlists, or one /playlists/{id}
PLAYLIST_ITEMS = "playlist_items"  # a page of /playlists/{id}/items
PLAYS = "plays"  # a page of /me/player/recently-played
TOP_TRACKS = "top_tracks"  # a page of /me/top/tracks?time_range=...
TOP_ARTISTS = "top_artists"
SAVED_TRACKS = "saved_tracks"  # a page of /me/tracks
TRACKS = "tracks"  # one /tracks/{id}
ALBUMS = "albums"  # one /albums/{id}
ARTISTS = "artists"  # one /artists/{id}

SNAPSHOT = "snapshot"  # a run's kind: the daily full snapshot
PLAYS_ONLY = "plays"  # a run's kind: the frequent plays poll

COMPLETE = "complete"
PARTIAL = "partial"


def new_run_id(now: datetime) -> str:
    """Sortable by start time: `20261126T135200Z-3f9a1c`."""
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def iso_utc(moment: datetime) -> str:
    """`2026-11-26T13:52:00Z`: how run records and manifests write times."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def run_folder(snapshot_date: str, run_id: str) -> str:
    return f"{RAW}/{snapshot_date}/{run_id}/"


def manifest_key(snapshot_date: str, run_id: str) -> str:
    return f"{run_folder(snapshot_date, run_id)}{MANIFEST}"


def is_manifest_key(key: str) -> bool:
    parts = key.split("/")
    return len(parts) == 4 and parts[0] == RAW and parts[3] == MANIFEST


@dataclass
class Part:
    """One stored API answer."""

    key: str
    stream: str
    playlist_id: str | None = None
    time_range: str | None = None
    offset: int = 0


@dataclass
class Manifest:
    """What a run wrote; the transform reads nothing a manifest does not name."""

    run_id: str
    kind: str
    snapshot_date: str
    started_at: str
    finished_at: str = ""
    status: str = COMPLETE
    streams: list[str] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    # Playlists whose items the API withholds (not owned, not collaborative): metadata only.
    withheld_playlists: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        values = dict(data)
        values["parts"] = [Part(**part) for part in data.get("parts", [])]
        return cls(**values)

    @property
    def key(self) -> str:
        return manifest_key(self.snapshot_date, self.run_id)
