"""Raw runs written the way the extractor writes them, API-shaped objects, table readers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pytest

from chalicelib import raw, streams
from chalicelib.lake import LocalLake, put_json
from tests.lake_tables import read_day

DAY = "2026-11-26"
NEXT_DAY = "2026-11-27"
NOW = datetime(2026, 11, 26, 23, 0, tzinfo=UTC)


def fixed_now() -> datetime:
    return NOW


# API objects, shaped as spotify-web-api-openapi.yml describes them.


def artist(artist_id: str, name: str | None = None) -> dict[str, Any]:
    """A SimplifiedArtistObject."""
    return {
        "id": artist_id,
        "name": name or f"Artist {artist_id}",
        "type": "artist",
        "uri": f"spotify:artist:{artist_id}",
    }


def full_artist(artist_id: str, **fields: Any) -> dict[str, Any]:
    """An ArtistObject, deprecated fields included unless overridden."""
    return {
        **artist(artist_id),
        "genres": ["synthpop"],
        "followers": {"href": None, "total": 1200},
        "popularity": 61,
        "images": [{"url": f"https://i.scdn.co/image/{artist_id}", "height": 640, "width": 640}],
        **fields,
    }


def album(album_id: str, release_date: str = "1981-12-29", precision: str = "day", **fields):
    """A SimplifiedAlbumObject."""
    return {
        "id": album_id,
        "name": f"Album {album_id}",
        "album_type": "album",
        "total_tracks": 10,
        "release_date": release_date,
        "release_date_precision": precision,
        "type": "album",
        "uri": f"spotify:album:{album_id}",
        "artists": [artist("ar1")],
        **fields,
    }


def full_album(album_id: str, **fields: Any) -> dict[str, Any]:
    """An AlbumObject."""
    return {**album(album_id), "label": "Mute", "popularity": 40, "genres": [], **fields}


def track(track_id: str, *, album_id: str = "al1", artists=("ar1",), **fields) -> dict[str, Any]:
    """A TrackObject."""
    return {
        "id": track_id,
        "name": f"Track {track_id}",
        "type": "track",
        "uri": f"spotify:track:{track_id}",
        "album": album(album_id),
        "artists": [artist(a) for a in artists],
        "duration_ms": 215000,
        "explicit": False,
        "disc_number": 1,
        "track_number": 3,
        "external_ids": {"isrc": f"GB{track_id.upper()}"},
        "popularity": 55,
        "is_local": False,
        **fields,
    }


def episode(episode_id: str) -> dict[str, Any]:
    """An EpisodeObject."""
    return {
        "id": episode_id,
        "name": f"Episode {episode_id}",
        "type": "episode",
        "uri": f"spotify:episode:{episode_id}",
        "duration_ms": 1800000,
        "release_date": "2026-01-02",
        "release_date_precision": "day",
        "show": {"id": "show1", "name": "A show", "type": "show"},
    }


def local_track(name: str = "My Demo") -> dict[str, Any]:
    """A local file as the API serves it: a track with no ID."""
    return {
        "id": None,
        "name": name,
        "type": "track",
        "uri": f"spotify:local:Me:Demos:{name.replace(' ', '+')}:180",
        "album": {"id": None, "name": "Demos", "type": "album", "artists": []},
        "artists": [{"id": None, "name": "Me", "type": "artist"}],
        "duration_ms": 180000,
        "is_local": True,
    }


def entry(item, *, added_at="2026-11-01T10:00:00Z", added_by="owner", key="item", **fields):
    """A PlaylistTrackObject holding `item` under `item` (new), `track` (old) or `both`."""
    names = ("item", "track") if key == "both" else (key,)
    value = {
        "added_at": added_at,
        "added_by": None if added_by is None else {"id": added_by, "type": "user"},
        "is_local": bool(item and item.get("is_local")),
        **{name: item for name in names},
    }
    return {**value, **fields}


def playlist(playlist_id: str, *, total: int | None = 2, items_key="items", **fields):
    """A SimplifiedPlaylistObject; the items reference under `items`, `tracks` or `both`."""
    ref = {"href": f"https://api.spotify.com/v1/playlists/{playlist_id}/items", "total": total}
    names = ("items", "tracks") if items_key == "both" else (items_key,) if items_key else ()
    return {
        "id": playlist_id,
        "name": f"Playlist {playlist_id}",
        "description": "",
        "owner": {"id": "owner", "display_name": "The Owner", "type": "user"},
        "public": True,
        "collaborative": False,
        "snapshot_id": f"snap-{playlist_id}",
        "type": "playlist",
        **{name: ref for name in names},
        **fields,
    }


def play(track_object, played_at: str, context_uri: str | None = "spotify:playlist:pl1"):
    """A PlayHistoryObject."""
    context = None if context_uri is None else {"type": "playlist", "uri": context_uri}
    return {"track": track_object, "played_at": played_at, "context": context}


def page(items: list[Any], offset: int = 0, **fields: Any) -> dict[str, Any]:
    """A paging object."""
    return {
        "href": "",
        "items": items,
        "limit": 50,
        "offset": offset,
        "next": None,
        "total": len(items),
        **fields,
    }


# Raw runs.


class RawRun:
    """One extract run being written into the lake: its pages, then its manifest."""

    def __init__(self, lake: LocalLake, run_id: str, date: str, kind: str, status: str):
        self.lake = lake
        self.manifest = raw.Manifest(
            run_id=run_id,
            kind=kind,
            snapshot_date=date,
            started_at=f"{date}T10:00:00Z",
            status=status,
            streams=list(streams.of_kind(kind)),
        )

    @property
    def folder(self) -> str:
        return raw.run_folder(self.manifest.snapshot_date, self.manifest.run_id)

    def part(self, name: str, stream: str, answer: Any, **meta: Any) -> str:
        key = f"{self.folder}{name}.json.gz"
        put_json(self.lake, key, answer, compress=True)
        self.manifest.parts.append(raw.Part(key=key, stream=stream, **meta))
        return key

    def raw_part(self, name: str, stream: str, data: bytes, **meta: Any) -> str:
        """A part whose stored bytes are given as they are (to break them)."""
        key = f"{self.folder}{name}.json.gz"
        self.lake.put(key, data)
        self.manifest.parts.append(raw.Part(key=key, stream=stream, **meta))
        return key

    def me(self) -> RawRun:
        self.part("me", raw.ME, {"id": "owner", "display_name": "The Owner", "type": "user"})
        return self

    def playlists(self, *playlists: dict[str, Any], offset: int = 0) -> RawRun:
        self.part(
            f"playlists/page-{offset:05d}",
            raw.PLAYLISTS,
            page(list(playlists), offset),
            offset=offset,
        )
        return self

    def playlist_object(self, playlist_object: dict[str, Any]) -> RawRun:
        playlist_id = playlist_object["id"]
        self.part(
            f"playlists/{playlist_id}", raw.PLAYLISTS, playlist_object, playlist_id=playlist_id
        )
        return self

    def items(self, playlist_id: str, *entries: Any, offset: int = 0) -> RawRun:
        name = f"playlist_items/{playlist_id}/page-{offset:05d}"
        self.part(
            name,
            raw.PLAYLIST_ITEMS,
            page(list(entries), offset),
            playlist_id=playlist_id,
            offset=offset,
        )
        return self

    def plays(self, *plays: dict[str, Any]) -> RawRun:
        index = sum(p.stream == raw.PLAYS for p in self.manifest.parts)
        self.part(f"plays/page-{index:04d}", raw.PLAYS, page(list(plays), cursors={}))
        return self

    def top(self, stream: str, time_range: str, *items: Any, offset: int = 0) -> RawRun:
        name = f"top/{stream}-{time_range}-{offset:05d}"
        self.part(name, stream, page(list(items), offset), time_range=time_range, offset=offset)
        return self

    def saved(self, *saved: dict[str, Any], offset: int = 0) -> RawRun:
        self.part(
            f"saved/page-{offset:05d}", raw.SAVED_TRACKS, page(list(saved), offset), offset=offset
        )
        return self

    def one(self, stream: str, answer: dict[str, Any]) -> RawRun:
        self.part(f"{stream}/{answer['id']}", stream, answer)
        return self

    def withhold(self, playlist_id: str) -> RawRun:
        self.manifest.withheld_playlists.append(playlist_id)
        return self

    def finish(self) -> str:
        """Write the manifest, last; its key."""
        put_json(self.lake, self.manifest.key, self.manifest.to_json())
        return self.manifest.key


def start_run(
    lake: LocalLake,
    run_id: str,
    *,
    date: str | None = None,
    kind: str = raw.SNAPSHOT,
    status: str = raw.MANIFEST_COMPLETE,
) -> RawRun:
    """A raw run in this lake, of the date its ID starts with unless told."""
    day = date or f"{run_id[:4]}-{run_id[4:6]}-{run_id[6:8]}"
    return RawRun(lake, run_id, day, kind, status).me()


@pytest.fixture
def new_run(lake) -> Callable[..., RawRun]:
    """Start a raw run in the test's lake: `new_run("20261126T100000Z-aaaaaa")`."""

    def start(run_id: str, **options: Any) -> RawRun:
        return start_run(lake, run_id, **options)

    return start


# Reading the tables back.


def read_table(lake: LocalLake, name: str, value: str = DAY) -> pa.Table:
    """A day's rows, as stored in its month's Parquet file (its date aside)."""
    return read_day(lake, name, value)


def rows(lake: LocalLake, name: str, value: str = DAY) -> list[dict[str, Any]]:
    return read_table(lake, name, value).to_pylist()


def processed_files(lake: LocalLake) -> dict[str, bytes]:
    """Every processed object, by key."""
    return {key: lake.get(key) for key in lake.list("processed/")}


def raw_files(lake: LocalLake) -> dict[str, bytes]:
    return {key: lake.get(key) for key in lake.list("raw/")}
