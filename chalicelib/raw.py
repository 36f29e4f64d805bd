"""The raw zone: where one extract run puts the API's answers, and its manifest.

    raw/<snapshot_date>/<run_id>/<part>.json.gz     one API answer each, unchanged, gzip JSON
    raw/<snapshot_date>/<run_id>/manifest.json      written last; the S3 trigger listens for it

A run's snapshot_date is the date its ID names (`date_of_run`), so its folder is found from
its ID alone, also for a run queued before midnight whose extract starts after it.

A manifest lists every part with the stream it belongs to and, where it matters, the
playlist or time range it answers, so the transform never has to guess from a key.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib.errors import ValidationError, shown

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
HISTORY = "history"  # one file of a privacy export, redacted (chalicelib.history.export)
IMPORTED_TRACK = "imported_track"  # one /tracks/{id} of a track an import's plays name

SNAPSHOT = "snapshot"  # a run's kind: the daily full snapshot
PLAYS_ONLY = "plays"  # a run's kind: the frequent plays poll
IMPORT = "import"  # a run's kind: a privacy export imported

# A manifest's status: the run fetched everything, or was cut short (the next run resumes).
MANIFEST_COMPLETE = "complete"
MANIFEST_PARTIAL = "partial"

RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")


def new_run_id(now: datetime) -> str:
    """Sortable by start time: `20261126T135200Z-3f9a1c`."""
    return f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def check_run_id(run_id: str) -> str:
    """A run ID as new_run_id makes them, or a ValidationError."""
    if not isinstance(run_id, str) or not RUN_ID.match(run_id):
        raise ValidationError(f"{shown(run_id)} is not a run ID (like 20261126T135200Z-3f9a1c)")
    return run_id


def iso_utc(moment: datetime) -> str:
    """`2026-11-26T13:52:00Z`: how run records and manifests write times."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def requested(track: dict[str, Any]) -> dict[str, Any]:
    """The object naming the track an answer is for, as the account holds it (saved, listed,
    ranked or played). Where Spotify relinks a track to a copy playable in the account's
    market, the answer's `id` and `uri` are the copy's and `linked_from` names the track
    requested: that one is the track, everywhere; the copy's ID is not kept."""
    linked = track.get("linked_from")
    return linked if isinstance(linked, dict) and linked.get("id") else track


def run_folder(snapshot_date: str, run_id: str) -> str:
    return f"{RAW}/{snapshot_date}/{run_id}/"


def manifest_key(snapshot_date: str, run_id: str) -> str:
    return f"{run_folder(snapshot_date, run_id)}{MANIFEST}"


def date_of_run(run_id: str) -> str:
    """The UTC date a run's ID starts with: the date the run began (queued or started), its
    snapshot_date and its raw folder's, however late its extract starts."""
    day = check_run_id(run_id)[:8]
    return f"{day[:4]}-{day[4:6]}-{day[6:]}"


def manifest_key_of_run(run_id: str) -> str:
    """Where a run's manifest lands: its folder is named by the date its ID names."""
    return manifest_key(date_of_run(run_id), run_id)


def run_of_manifest(key: str) -> tuple[str, str]:
    """The (snapshot_date, run_id) a manifest key names; a ValidationError for any other key.
    The one parser of raw keys."""
    parts = key.split("/") if isinstance(key, str) else []
    if len(parts) != 4 or parts[0] != RAW or parts[3] != MANIFEST:
        raise ValidationError(f"{shown(key)} is not a raw run manifest key")
    return parts[1], parts[2]


def is_manifest_key(key: str) -> bool:
    try:
        run_of_manifest(key)
    except ValidationError:
        return False
    return True


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
    status: str = MANIFEST_COMPLETE
    streams: list[str] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    # Playlists whose items the API withholds (not owned, not collaborative): metadata only.
    withheld_playlists: list[str] = field(default_factory=list)
    # Tracks only imported plays had named that this run's answers hold in full: the
    # transform marks them played, as if fetched (chalicelib.spotify.extract, `catalog`).
    played_tracks: list[str] = field(default_factory=list)

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
