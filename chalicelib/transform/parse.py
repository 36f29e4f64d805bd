"""Pure functions from raw API answers to table rows: no I/O, no pandas, no pyarrow.

A `RunRows` collects one run's rows keyed for de-duplication; the parsers below add one
part (one API answer) to it, each for the raw stream chalicelib.streams declares it for.
Rows are built by column name with chalicelib.schema's `Table.row`, so their order is the
schema's alone. Whatever does not have the shape the API documents
raises BadRawDataError (or a TypeError/AttributeError the caller turns into one), so the
run goes to quarantine instead of into the tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import raw
from chalicelib.errors import BadRawDataError
from chalicelib.schema import SNAPSHOT_TABLES, TABLES

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)
YEAR = re.compile(r"^(\d{4})(?:-|$)")

# Completeness rank of a catalog row: a full object beats a simplified one.
SIMPLIFIED = 1
FULL = 2

TRACK_TYPE = "track"
EPISODE_TYPE = "episode"
LOCAL_TYPE = "local"
ARTIST_TYPE = "artist"

PLAYLIST = TABLES["playlists"].row
PLAYLIST_ITEM = TABLES["playlist_items"].row
TRACK = TABLES["tracks"].row
TRACK_ARTIST = TABLES["track_artists"].row
ALBUM = TABLES["albums"].row
ARTIST = TABLES["artists"].row
PLAY = TABLES["plays"].row
TOP_ITEM = TABLES["top_items"].row
SAVED_TRACK = TABLES["saved_tracks"].row
SAVED_ADDED_AT = TABLES["saved_tracks"].parsed_columns.index("added_at")
# What a play the API saw says beyond its time, track and context: that it was the API.
API_PLAY = {
    name: None
    for name in TABLES["plays"].parsed_columns
    if name not in ("played_at", "track_id", "context_type", "context_uri")
} | {"source": "api"}


def epoch_ms(value: Any) -> int | None:
    """An ISO 8601 timestamp as UTC milliseconds since the epoch; no offset means UTC."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRawDataError(f"timestamp {value!r} is not a string")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // MILLISECOND


def utc_date(ms: int) -> str:
    """The UTC date (`2026-11-26`) of epoch milliseconds."""
    return (EPOCH + ms * MILLISECOND).date().isoformat()


def release_year(release_date: Any) -> int | None:
    """The year of a release date of any precision; None when unparseable or 0000."""
    match = YEAR.match(release_date) if isinstance(release_date, str) else None
    year = int(match.group(1)) if match else 0
    return year or None


@dataclass
class Catalog:
    """One run's tracks, albums and artists, one row per ID, the most complete kept, and
    the IDs its plays reference (the catalog tables' `played` column)."""

    tracks: dict[str, tuple[int, tuple]] = field(default_factory=dict)
    track_artists: dict[str, list[tuple]] = field(default_factory=dict)
    albums: dict[str, tuple[int, tuple]] = field(default_factory=dict)
    artists: dict[str, tuple[int, tuple]] = field(default_factory=dict)
    played: dict[str, set[str]] = field(
        default_factory=lambda: {"tracks": set(), "albums": set(), "artists": set()}
    )

    def add_played_track(self, track: dict[str, Any]) -> None:
        """A played track: catalogued, and it, its album and their artists marked played."""
        self.add_track(track)
        named = raw.requested(track)
        if not named.get("id") or _kind(track) != TRACK_TYPE:
            return
        album = track.get("album") or {}
        referenced = {
            "tracks": [named],
            "albums": [album],
            "artists": [*(track.get("artists") or []), *(album.get("artists") or [])],
        }
        for name, objects in referenced.items():
            self.played[name].update(item["id"] for item in objects if item and item.get("id"))

    def add_track(self, track: dict[str, Any]) -> None:
        """A TrackObject (full when it names its album), under the ID of the track requested
        (raw.requested); ignores episodes and local files."""
        track_id = raw.requested(track).get("id")
        rank = FULL if "album" in track else SIMPLIFIED
        if not track_id or _kind(track) != TRACK_TYPE or not _better(self.tracks, track_id, rank):
            return  # a copy kept already brought its album and artists along
        self.tracks[track_id] = (rank, _track_row(track_id, track))
        artists = track.get("artists") or []
        self.track_artists[track_id] = [
            TRACK_ARTIST(track_id=track_id, artist_id=artist["id"], artist_position=position)
            for position, artist in enumerate(artists)
            if artist and artist.get("id")
        ]
        if track.get("album"):
            self.add_album(track["album"], SIMPLIFIED)
        self.add_artists(artists)

    def add_album(self, album: dict[str, Any], rank: int) -> None:
        album_id = album.get("id")
        if album_id and _better(self.albums, album_id, rank):
            self.albums[album_id] = (rank, _album_row(album, full=rank == FULL))
            self.add_artists(album.get("artists"))

    def add_artists(self, artists: list[dict[str, Any] | None] | None) -> None:
        for artist in artists or []:
            if artist:
                self.add_artist(artist, SIMPLIFIED)

    def add_artist(self, artist: dict[str, Any], rank: int) -> None:
        artist_id = artist.get("id")
        if artist_id and _better(self.artists, artist_id, rank):
            self.artists[artist_id] = (rank, _artist_row(artist, full=rank == FULL))


@dataclass
class RunRows:
    """Everything one run's answers hold: each snapshot table's rows keyed for
    de-duplication (the table is those rows in key order), plays by played_at, and the
    catalog."""

    withheld: frozenset[str] = frozenset()
    snapshot: dict[str, dict[Any, tuple]] = field(
        default_factory=lambda: {name: {} for name in SNAPSHOT_TABLES}
    )
    playlist_ranks: dict[str, int] = field(default_factory=dict)
    plays: dict[int, tuple] = field(default_factory=dict)
    export_plays: list[Any] = field(default_factory=list)  # an Arrow table per export file
    catalog: Catalog = field(default_factory=Catalog)
    null_entries: int = 0


Parser = Callable[[RunRows, raw.Part, Any], None]


def me(rows: RunRows, part: raw.Part, answer: Any) -> None:
    _object(answer, "a user")


def playlists(rows: RunRows, part: raw.Part, answer: Any) -> None:
    if part.playlist_id is not None:
        _add_playlist(rows, _object(answer, "a playlist"), FULL)
        return
    for playlist in _page(answer):
        if playlist:
            _add_playlist(rows, playlist, SIMPLIFIED)


def _add_playlist(rows: RunRows, playlist: dict[str, Any], rank: int) -> None:
    playlist_id = playlist["id"]
    kept = rows.playlist_ranks.get(playlist_id)
    if kept is None or rank > kept:
        owner = playlist.get("owner") or {}
        rows.playlist_ranks[playlist_id] = rank
        rows.snapshot["playlists"][playlist_id] = PLAYLIST(
            playlist_id=playlist_id,
            name=playlist.get("name"),
            description=playlist.get("description"),
            owner_id=owner.get("id"),
            owner_name=owner.get("display_name"),
            public=playlist.get("public"),
            collaborative=playlist.get("collaborative"),
            snapshot_id=playlist.get("snapshot_id"),
            item_count=_item_count(playlist),
            items_extracted=playlist_id not in rows.withheld,
        )


def _item_count(playlist: dict[str, Any]) -> int | None:
    """The `total` of the playlist's items reference, under its new name or its old one."""
    for name in ("items", "tracks"):
        ref = playlist.get(name)
        if isinstance(ref, dict) and ref.get("total") is not None:
            return ref["total"]
    return None


def playlist_items(rows: RunRows, part: raw.Part, answer: Any) -> None:
    if part.playlist_id is None:
        raise BadRawDataError("a playlist_items part names no playlist")
    for index, entry in enumerate(_page(answer)):
        position = part.offset + index
        item = (entry or {}).get("item") or (entry or {}).get("track")
        if item is None:
            rows.null_entries += 1
            continue
        item_type = _entry_type(entry, item)
        key = (part.playlist_id, position)
        if key in rows.snapshot["playlist_items"]:
            continue
        listed = raw.requested(item)
        rows.snapshot["playlist_items"][key] = PLAYLIST_ITEM(
            playlist_id=part.playlist_id,
            position=position,
            item_type=item_type,
            item_id=None if item_type == LOCAL_TYPE else listed.get("id"),
            item_uri=_uri(listed),
            item_name=item.get("name"),
            added_at=epoch_ms(entry.get("added_at")),
            added_by_id=(entry.get("added_by") or {}).get("id"),
        )
        if item_type == TRACK_TYPE:
            rows.catalog.add_track(item)


def _entry_type(entry: dict[str, Any], item: dict[str, Any]) -> str:
    if entry.get("is_local") or item.get("is_local") or _is_local_uri(item.get("uri")):
        return LOCAL_TYPE
    return _kind(item)


def plays(rows: RunRows, part: raw.Part, answer: Any) -> None:
    for play in _page(answer):
        played_at = epoch_ms(play["played_at"])
        if played_at is None:
            raise BadRawDataError("a play without played_at")
        track = play.get("track") or {}
        context = play.get("context") or {}
        row = PLAY(
            **API_PLAY,
            played_at=played_at,
            track_id=raw.requested(track).get("id"),
            context_type=context.get("type"),
            context_uri=context.get("uri"),
        )
        rows.plays[played_at] = min(row, rows.plays.get(played_at, row), key=sortable)
        if track:
            rows.catalog.add_played_track(track)


def _top(item_type: str) -> Parser:
    def parse(rows: RunRows, part: raw.Part, answer: Any) -> None:
        for index, item in enumerate(_page(answer)):
            if not item:
                continue
            rank = part.offset + index + 1
            key = (item_type, part.time_range or "", rank)
            row = TOP_ITEM(
                item_type=item_type,
                time_range=part.time_range,
                rank=rank,
                item_id=raw.requested(item).get("id"),
            )
            rows.snapshot["top_items"].setdefault(key, row)
            if item_type == ARTIST_TYPE:
                rows.catalog.add_artist(item, FULL)
            else:
                rows.catalog.add_track(item)

    return parse


top_tracks = _top(TRACK_TYPE)
top_artists = _top(ARTIST_TYPE)


def saved_tracks(rows: RunRows, part: raw.Part, answer: Any) -> None:
    # A run may carry earlier pages forward next to new ones, their offsets overlapping:
    # a track saved in several of them is one row, with its newest added_at.
    saved_rows = rows.snapshot["saved_tracks"]
    for saved in _page(answer):
        track = (saved or {}).get("track") or {}
        track_id = raw.requested(track).get("id")
        if not track_id:
            continue
        added_at = epoch_ms(saved.get("added_at"))
        kept = saved_rows.get(track_id)
        if kept is None or (
            added_at is not None
            and (kept[SAVED_ADDED_AT] is None or added_at > kept[SAVED_ADDED_AT])
        ):
            saved_rows[track_id] = SAVED_TRACK(track_id=track_id, added_at=added_at)
        rows.catalog.add_track(track)


def track(rows: RunRows, part: raw.Part, answer: Any) -> None:
    rows.catalog.add_track(_object(answer, "a track"))


def imported_track(rows: RunRows, part: raw.Part, answer: Any) -> None:
    """A track fetched because imported plays name it: catalogued as played, like the track
    of a play, so the plays queries find it (chalicelib.spotify.extract, `catalog`)."""
    rows.catalog.add_played_track(_object(answer, "a track"))


def album(rows: RunRows, part: raw.Part, answer: Any) -> None:
    rows.catalog.add_album(_object(answer, "an album"), FULL)


def artist(rows: RunRows, part: raw.Part, answer: Any) -> None:
    rows.catalog.add_artist(_object(answer, "an artist"), FULL)


# The plays columns an export entry fills as it is, from the entry's field of that name.
EXPORT_FIELDS = {
    "reason_start": "reason_start",
    "reason_end": "reason_end",
    "shuffle": "shuffle",
    "skipped": "skipped",
    "offline": "offline",
    "platform": "platform",
    "track_name": "master_metadata_track_name",
    "artist_name": "master_metadata_album_artist_name",
    "album_name": "master_metadata_album_album_name",
}


def history(rows: RunRows, part: raw.Part, answer: Any) -> None:
    """One file of a privacy export, as the import redacted it: a play for each entry of a
    track or an episode. Entries without either (an audiobook chapter, a local file, a play
    Spotify could not attribute) are skipped, and so are those of a private session
    (`incognito_mode`): the listener asked Spotify not to keep them, and the API never shows
    them either. The import's record says how many entries became plays."""
    if not isinstance(answer, list):
        raise BadRawDataError("expected a JSON array of streaming history entries")
    from chalicelib.transform.exported import export_plays  # Arrow, read at first use

    rows.export_plays.append(export_plays(answer))


# What every run lands besides its streams: the user, and full catalog objects.
EVERY_RUN: dict[str, Parser] = {
    raw.ME: me,
    raw.TRACKS: track,
    raw.IMPORTED_TRACK: imported_track,
    raw.ALBUMS: album,
    raw.ARTISTS: artist,
}


def _track_row(track_id: str, track: dict[str, Any]) -> tuple:
    return TRACK(
        track_id=track_id,
        name=track.get("name"),
        album_id=(track.get("album") or {}).get("id"),
        duration_ms=track.get("duration_ms"),
        explicit=track.get("explicit"),
        disc_number=track.get("disc_number"),
        track_number=track.get("track_number"),
        isrc=(track.get("external_ids") or {}).get("isrc"),
        popularity=track.get("popularity"),
    )


def _album_row(album: dict[str, Any], *, full: bool) -> tuple:
    release_date = album.get("release_date")
    return ALBUM(
        album_id=album["id"],
        name=album.get("name"),
        album_type=album.get("album_type"),
        release_date=release_date,
        release_date_precision=album.get("release_date_precision"),
        release_year=release_year(release_date),
        total_tracks=album.get("total_tracks"),
        label=album.get("label") if full else None,
        popularity=album.get("popularity") if full else None,
    )


def _artist_row(artist: dict[str, Any], *, full: bool) -> tuple:
    followers = artist.get("followers") if full else None
    images = (artist.get("images") or []) if full else []
    return ARTIST(
        artist_id=artist["id"],
        name=artist.get("name"),
        genres=artist.get("genres") if full else None,
        followers=followers.get("total") if followers else None,
        popularity=artist.get("popularity") if full else None,
        image_url=(images[0] or {}).get("url") if images else None,
    )


def _better(rows: dict[str, tuple[int, tuple]], key: str, rank: int) -> bool:
    """Whether a row of this rank replaces the one kept: only a more complete one does."""
    kept = rows.get(key)
    return kept is None or rank > kept[0]


def _kind(item: dict[str, Any]) -> str:
    """Episodes say so by type, or, served in a track's shape, by their `episode` flag."""
    episode = item.get("type") == EPISODE_TYPE or item.get("episode") is True
    return EPISODE_TYPE if episode else TRACK_TYPE


def _is_local_uri(uri: Any) -> bool:
    return isinstance(uri, str) and uri.startswith("spotify:local:")


def _uri(item: dict[str, Any]) -> str | None:
    """An item's URI where it names something: its ID's, or a local file's. Entries without
    an ID have come with `spotify:track:null`."""
    uri = item.get("uri")
    return uri if item.get("id") or _is_local_uri(uri) else None


def sortable(row: tuple) -> tuple:
    """A total order over rows that may hold None: None sorts last."""
    return tuple((value is None, "" if value is None else value) for value in row)


def _object(answer: Any, what: str) -> dict[str, Any]:
    if not isinstance(answer, dict) or not answer.get("id"):
        raise BadRawDataError(f"expected {what} object with an id")
    return answer


def _page(answer: Any) -> list[Any]:
    if not isinstance(answer, dict) or not isinstance(answer.get("items"), list):
        raise BadRawDataError("expected a page with an items list")
    return answer["items"]
