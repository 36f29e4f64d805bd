"""One extract run: read the account's streams from the API and land every answer in raw/.

Each stream is a generator of (part, page) pairs; the run writes each page as it comes and
the manifest last. Only single-item catalog endpoints are used (the batch ones are gone for
Development Mode apps), and no request is made for items the API withholds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib import raw
from chalicelib.errors import RateLimitedError, SpotifyError
from chalicelib.lake import Lake, get_json, put_json
from chalicelib.spotify.client import SpotifyClient

PAGE = 50
TIME_RANGES = ("short_term", "medium_term", "long_term")
STREAMS = ("playlists", "plays", "top", "saved")
PLAYS_CURSOR = "state/plays_cursor.json"


@dataclass
class RunResult:
    """What a run did: its manifest, counts and the errors it recorded and went past."""

    manifest: raw.Manifest
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class References:
    """Catalog objects the run has seen, in full or only by ID."""

    full_tracks: set[str] = field(default_factory=set)
    tracks: set[str] = field(default_factory=set)
    albums: set[str] = field(default_factory=set)
    full_artists: set[str] = field(default_factory=set)
    artists: set[str] = field(default_factory=set)

    def add_track(self, track: dict[str, Any] | None) -> None:
        if not track or track.get("type") != "track" or not track.get("id"):
            return
        (self.full_tracks if "album" in track else self.tracks).add(track["id"])
        album = track.get("album") or {}
        if album.get("id"):
            self.albums.add(album["id"])
        self.add_artists(track.get("artists"))

    def add_artists(self, artists: Iterable[dict[str, Any]] | None) -> None:
        self.artists.update(a["id"] for a in artists or [] if a and a.get("id"))


class Extractor:
    """Runs the streams of one extract against a client, writing pages into the lake."""

    def __init__(
        self,
        client: SpotifyClient,
        lake: Lake,
        manifest: raw.Manifest,
        progress: Callable[[raw.Part], None] | None = None,
    ):
        self._client = client
        self._progress = progress
        self._lake = lake
        self._manifest = manifest
        self._folder = raw.run_folder(manifest.snapshot_date, manifest.run_id)
        self.refs = References()
        self.counts: dict[str, int] = {}
        self.errors: list[str] = []
        self.plays_cursor: int | None = None

    def write(self, name: str, stream: str, page: dict[str, Any], **meta: Any) -> None:
        """Land one answer unchanged and list it in the manifest."""
        key = f"{self._folder}{name}.json.gz"
        put_json(self._lake, key, page, compress=True)
        part = raw.Part(key=key, stream=stream, **meta)
        self._manifest.parts.append(part)
        self.counts[stream] = self.counts.get(stream, 0) + 1
        if self._progress:
            self._progress(part)

    def me(self) -> dict[str, Any]:
        me = self._client.get("me")
        self.write("me", raw.ME, me)
        return me

    def playlists(self, me: dict[str, Any], ids: tuple[str, ...] | None) -> None:
        """Playlist metadata, then the items of each playlist the API serves items for."""
        for playlist in self._playlist_metadata(ids):
            owner = (playlist.get("owner") or {}).get("id")
            if owner != me.get("id") and not playlist.get("collaborative"):
                self._manifest.withheld_playlists.append(playlist["id"])
                continue
            self._playlist_items(playlist["id"])

    def plays(self, after: int | None) -> None:
        """Recently played after the stored cursor; remembers the newest play seen."""
        params: dict[str, Any] = {"limit": PAGE}
        if after is not None:
            params["after"] = after
        played = [] if after is None else [after]
        for index, (_, page) in enumerate(
            self._client.pages("me/player/recently-played", **params)
        ):
            self.write(f"plays/page-{index:04d}", raw.PLAYS, page)
            for item in page.get("items") or []:
                self.refs.add_track(item.get("track"))
                played.append(_epoch_ms(item.get("played_at")))
        self.plays_cursor = max((ms for ms in played if ms is not None), default=None)

    def top(self) -> None:
        for kind, stream in (("tracks", raw.TOP_TRACKS), ("artists", raw.TOP_ARTISTS)):
            for time_range in TIME_RANGES:
                pages = self._client.pages(f"me/top/{kind}", limit=PAGE, time_range=time_range)
                for offset, page in pages:
                    name = f"top/{kind}-{time_range}-{offset:05d}"
                    self.write(name, stream, page, time_range=time_range, offset=offset)
                    self._remember(page.get("items"), artists=kind == "artists")

    def saved(self) -> None:
        for offset, page in self._client.pages("me/tracks", limit=PAGE):
            self.write(f"saved/page-{offset:05d}", raw.SAVED_TRACKS, page, offset=offset)
            for item in page.get("items") or []:
                self.refs.add_track(item.get("track"))

    def catalog(self) -> None:
        """The full albums, artists and tracks the run's answers reference only in part."""
        refs = self.refs
        for track_id in sorted(refs.tracks - refs.full_tracks):
            self._one("tracks", raw.TRACKS, track_id, refs.add_track)
        for album_id in sorted(refs.albums):
            self._one("albums", raw.ALBUMS, album_id, lambda a: refs.add_artists(a.get("artists")))
        for artist_id in sorted(refs.artists - refs.full_artists):
            self._one("artists", raw.ARTISTS, artist_id, lambda _: None)

    def _playlist_metadata(self, ids: tuple[str, ...] | None) -> Iterator[dict[str, Any]]:
        if ids is None:
            seen: set[str] = set()
            for offset, page in self._client.pages("me/playlists", limit=PAGE):
                self.write(f"playlists/page-{offset:05d}", raw.PLAYLISTS, page, offset=offset)
                for playlist in page.get("items") or []:
                    if playlist and playlist.get("id") and playlist["id"] not in seen:
                        seen.add(playlist["id"])
                        yield playlist
            return
        for playlist_id in ids:
            playlist = self._optional(f"playlists/{playlist_id}", f"playlist {playlist_id}")
            if playlist is not None:
                self.write(
                    f"playlists/{playlist_id}", raw.PLAYLISTS, playlist, playlist_id=playlist_id
                )
                yield playlist

    def _playlist_items(self, playlist_id: str) -> None:
        pages = self._client.pages(
            f"playlists/{playlist_id}/items", limit=PAGE, additional_types="track,episode"
        )
        try:
            for offset, page in pages:
                name = f"playlist_items/{playlist_id}/page-{offset:05d}"
                self.write(name, raw.PLAYLIST_ITEMS, page, playlist_id=playlist_id, offset=offset)
                for entry in page.get("items") or []:
                    self.refs.add_track((entry or {}).get("item") or (entry or {}).get("track"))
        except SpotifyError as error:
            if error.status not in (403, 404) or isinstance(error, RateLimitedError):
                raise
            if error.status == 404:
                self.errors.append(f"playlist {playlist_id} vanished while being read: {error}")
            self._manifest.withheld_playlists.append(playlist_id)

    def _remember(self, items: list[dict[str, Any]] | None, *, artists: bool) -> None:
        for item in items or []:
            if artists and item and item.get("id"):
                self.refs.full_artists.add(item["id"])
                self.refs.artists.add(item["id"])
            elif not artists:
                self.refs.add_track(item)

    def _one(
        self, kind: str, stream: str, item_id: str, then: Callable[[dict[str, Any]], None]
    ) -> None:
        answer = self._optional(f"{kind}/{item_id}", f"{kind[:-1]} {item_id}")
        if answer is not None:
            self.write(f"{kind}/{item_id}", stream, answer)
            then(answer)

    def _optional(self, path: str, what: str) -> dict[str, Any] | None:
        """An answer, or None with the error recorded when the object is gone or invalid."""
        try:
            return self._client.get(path)
        except SpotifyError as error:
            if error.status not in (400, 404) or isinstance(error, RateLimitedError):
                raise
            self.errors.append(f"{what}: {error}")
            return None


def run_extract(
    client: SpotifyClient,
    lake: Lake,
    *,
    kind: str,
    streams: Iterable[str],
    playlists: tuple[str, ...] | None,
    run_id: str,
    started: datetime,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    progress: Callable[[raw.Part], None] | None = None,
) -> RunResult:
    """Extract the streams into raw/; the manifest goes last, marked partial when cut short."""
    streams = [s for s in STREAMS if s in set(streams)]
    manifest = raw.Manifest(
        run_id=run_id,
        kind=kind,
        snapshot_date=started.astimezone(UTC).date().isoformat(),
        started_at=raw.iso_utc(started),
        streams=streams,
    )
    extractor = Extractor(client, lake, manifest, progress)
    errors = extractor.errors
    try:
        me = extractor.me()
        if "playlists" in streams:
            extractor.playlists(me, playlists)
        if "plays" in streams:
            extractor.plays(read_plays_cursor(lake))
        if "top" in streams:
            extractor.top()
        if "saved" in streams:
            extractor.saved()
        extractor.catalog()
    except RateLimitedError as error:
        manifest.status = raw.PARTIAL
        errors.append(f"{error} (reason: {error.reason})" if error.reason else str(error))
    manifest.finished_at = raw.iso_utc(now())
    put_json(lake, manifest.key, manifest.to_json())
    if extractor.plays_cursor is not None:
        put_json(lake, PLAYS_CURSOR, {"after": extractor.plays_cursor, "run_id": run_id})
    counts = {**extractor.counts, "requests": client.requests}
    return RunResult(manifest, counts, errors)


def read_plays_cursor(lake: Lake) -> int | None:
    """The played_at (Unix ms) of the newest play already landed, if any."""
    if not lake.exists(PLAYS_CURSOR):
        return None
    return int(get_json(lake, PLAYS_CURSOR)["after"])


def _epoch_ms(value: str | None) -> int | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(parsed.timestamp() * 1000)
