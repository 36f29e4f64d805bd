"""One extract run: read what changed in the account and land every answer in raw/.

A run asks Spotify only for what it cannot already point at: playlists whose `snapshot_id`
is unchanged and saved tracks older than the newest known one are listed in the manifest by
the raw keys of the run that fetched them, and the catalog objects those pages reference
come from the state, kept there page by page when a run read them: what a run carries it
reads neither from Spotify nor from the lake. Albums and artists come embedded in the tracks
that reference them; their full objects, which add only images and deprecated fields, are
optional: fetched up to a budget per run, cached for the cache age and carried from there.
Independent requests run in a bounded pool. The manifest goes last; a run cut short by a
rate limit or the Lambda's clock still writes one, marked partial, and saves its state, so
the next run resumes where it stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import raw
from chalicelib.errors import CutShortError, SpotifyError
from chalicelib.lake import Lake, get_json, put_json
from chalicelib.spotify import state as saved_state
from chalicelib.spotify.client import SpotifyClient
from chalicelib.spotify.state import (
    CATALOG_KINDS,
    CatalogEntry,
    ExtractState,
    PageCatalog,
    PageRef,
    PendingDetails,
    PlaylistState,
    SavedState,
)
from chalicelib.streams import NAMES as STREAMS
from chalicelib.streams import in_order

PAGE = 50
TIME_RANGES = ("short_term", "medium_term", "long_term")
ITEM_TYPES = ("track", "episode")  # a playlist's episodes come as episodes, not as tracks
FULL_READ = timedelta(days=7)  # saved tracks are read in full at least this often
CATALOG_STREAMS = {"tracks": raw.TRACKS, "albums": raw.ALBUMS, "artists": raw.ARTISTS}
DETAIL_ORDER = ("tracks", "artists", "albums")  # within a tier: what a full object adds most
WANTED, REST = 0, 1  # tiers: objects of plays and top items (what the analytics read), others


@dataclass(frozen=True)
class Options:
    """What a run reads and how hard it may push."""

    kind: str = raw.SNAPSHOT
    streams: tuple[str, ...] = STREAMS
    playlists: tuple[str, ...] | None = None
    workers: int = 8
    catalog_max_age: timedelta = timedelta(days=30)
    detail_budget: int = 0


@dataclass
class RunResult:
    """What a run did: its manifest, counts and the errors it recorded and went past."""

    manifest: raw.Manifest
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


@dataclass
class References:
    """The catalog objects a run's answers reference, each with the most wanted tier it was
    seen in, and those the answers gave in full (tracks with their album, top artists)."""

    referenced: dict[str, dict[str, int]] = field(
        default_factory=lambda: {kind: {} for kind in CATALOG_KINDS}
    )
    full: dict[str, set[str]] = field(
        default_factory=lambda: {kind: set() for kind in CATALOG_KINDS}
    )
    played: set[str] = field(default_factory=set)  # the tracks of the run's plays

    def add_track(self, track: dict[str, Any] | None, tier: int = REST) -> None:
        """A track, under the ID of the track requested (raw.requested), its album and the
        artists of both (episodes and local files are none)."""
        track = track or {}
        track_id = raw.requested(track).get("id")
        if not track_id or track.get("type", "track") != "track":
            return
        album = track.get("album")
        if album is not None:
            self.full["tracks"].add(track_id)
        self._add("tracks", track_id, tier)
        album = album or {}
        if album.get("id"):
            self._add("albums", album["id"], tier)
        self.add_artists([*(track.get("artists") or []), *(album.get("artists") or [])], tier)

    def add_artists(
        self, artists: Iterable[dict[str, Any] | None] | None, tier: int, *, full: bool = False
    ) -> None:
        for artist in artists or []:
            if artist and artist.get("id"):
                self._add("artists", artist["id"], tier)
                if full:
                    self.full["artists"].add(artist["id"])

    def add_page(self, items: Iterable[dict[str, Any] | None], key: str, tier: int = REST) -> None:
        """The tracks of a page of playlist entries, plays or saved tracks."""
        for item in items:
            item = item or {}
            self.add_track(item.get(key) or (item.get("track") if key == "item" else None), tier)

    def add_catalog(self, catalog: PageCatalog) -> None:
        """What add_page collected from a page, as the state kept it (playlist items and
        saved tracks are of the REST tier)."""
        for kind in CATALOG_KINDS:
            for item_id in catalog.ids[kind]:
                self._add(kind, item_id, REST)
        self.full["tracks"].update(set(catalog.ids["tracks"]) - set(catalog.partial_tracks))

    def catalog(self) -> PageCatalog:
        """What was collected, in the form the state keeps for a page (tiers left out)."""
        tracks = self.referenced["tracks"].keys() - self.full["tracks"]
        return PageCatalog(
            {kind: sorted(ids) for kind, ids in self.referenced.items()}, sorted(tracks)
        )

    def partial(self, pending: dict[str, dict[str, int]]) -> dict[tuple[str, str], int]:
        """The tier of each object referenced, or pending from earlier, not given in full."""
        wanted: dict[tuple[str, str], int] = {}
        for found in (pending, self.referenced):
            for kind, ids in found.items():
                for item_id, tier in ids.items():
                    if item_id not in self.full[kind]:
                        key = (kind, item_id)
                        wanted[key] = min(tier, wanted.get(key, tier))
        return wanted

    def _add(self, kind: str, item_id: str, tier: int) -> None:
        kept = self.referenced[kind].get(item_id)
        if kept is None or tier < kept:
            self.referenced[kind][item_id] = tier


class Extractor:
    """Runs the streams of one extract against a client, writing pages into the lake."""

    def __init__(
        self,
        client: SpotifyClient,
        lake: Lake,
        manifest: raw.Manifest,
        state: ExtractState,
        options: Options,
        now: datetime,
        progress: Callable[[raw.Part], None] | None = None,
    ):
        self._client = client
        self._lake = lake
        self._manifest = manifest
        self._state = state
        self._options = options
        self._now = now
        self._progress = progress
        self._folder = raw.run_folder(manifest.snapshot_date, manifest.run_id)
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=options.workers)
        self.refs = References()
        self.user: dict[str, Any] = {}
        self.counts: dict[str, int] = {}
        self.errors: list[str] = []

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def write(self, name: str, stream: str, page: dict[str, Any], **meta: Any) -> raw.Part:
        """Land one answer unchanged and list it in the manifest."""
        key = f"{self._folder}{name}.json.gz"
        put_json(self._lake, key, page, compress=True)
        return self.carry(key, stream, **meta)

    def carry(self, key: str, stream: str, *, fetched: bool = True, **meta: Any) -> raw.Part:
        """List an answer in the manifest: one just written, or one an earlier run wrote."""
        part = raw.Part(key=key, stream=stream, **meta)
        counter = stream if fetched else f"{stream}_carried"
        with self._lock:
            self._manifest.parts.append(part)
            self.counts[counter] = self.counts.get(counter, 0) + 1
        if self._progress:
            self._progress(part)
        return part

    def me(self) -> None:
        """The user, whom every run reads first: playlists are theirs or withheld."""
        self.user = self._client.get("me")
        self.write("me", raw.ME, self.user)

    def playlists(self) -> None:
        """Playlist metadata, then the items of each changed playlist the API serves items for."""
        readable = []
        for playlist in self._playlist_metadata(self._options.playlists):
            owner = (playlist.get("owner") or {}).get("id")
            if owner != self.user.get("id") and not playlist.get("collaborative"):
                self._manifest.withheld_playlists.append(playlist["id"])
            else:
                readable.append(playlist)
        self._parallel(self._playlist_items, readable)

    def plays(self) -> None:
        """Recently played after the stored cursor; moves the cursor to the newest play seen."""
        after = self._state.plays_after
        played = [] if after is None else [after]
        pages = self._client.pages("current_user_recently_played", limit=PAGE, after=after or None)
        for index, (_, page) in enumerate(pages):
            self.write(f"plays/page-{index:04d}", raw.PLAYS, page)
            items = page.get("items") or []
            self.refs.add_page(items, "track", WANTED)
            self.refs.played.update(
                track_id
                for item in items
                if (track := (item or {}).get("track"))
                and (track_id := raw.requested(track).get("id"))
            )
            played.extend(ms for ms in map(_epoch_ms, (i.get("played_at") for i in items)) if ms)
        self._state.plays_after = max(played, default=None)

    def top(self) -> None:
        ranges = [(kind, r) for kind in ("tracks", "artists") for r in TIME_RANGES]
        self._parallel(lambda pair: self._top(*pair), ranges)

    def saved(self) -> None:
        """Saved tracks newest first, until one already known; then the known rest is carried.

        If the counts do not add up to the API's total (a track was removed), if too many pages
        would be carried, or if the last full read is a week old, all is read.
        """
        known = self._state.saved
        if known is not None and self._now - datetime.fromisoformat(known.read_at) > FULL_READ:
            known = None
        pages: list[PageRef] = []
        seen: set[tuple[str, str]] = set()
        total = 0
        for offset, page in self._client.pages("current_user_saved_tracks", limit=PAGE):
            pages.append(self._saved_page(offset, page))
            total = page.get("total", 0)
            pairs = [_saved_pair(item) for item in page.get("items") or []]
            seen.update(pairs)
            if known is not None and any(pair in known.known for pair in pairs):
                carried = known.pages + pages
                fresh = len(seen - known.known)
                if fresh + len(known.known) == total and len(carried) <= _pages_for(total) * 2:
                    for ref in known.pages:
                        self.carry(ref.key, raw.SAVED_TRACKS, fetched=False, offset=ref.offset)
                    remembered = self._parallel(
                        lambda ref: self._remember_carried(ref, "track"), known.pages
                    )
                    self._state.saved = replace(
                        known, total=total, pages=remembered + pages, known=known.known | seen
                    )
                    return
                known = None  # read them all
        self._state.saved = SavedState(total, pages, seen, self._now.isoformat())

    def catalog(self) -> None:
        """Full objects for what the answers gave only in part (the rows come from the answers
        themselves). Each is carried from the cache; one missing or older than the cache age
        is fetched instead while the run's detail budget lasts, those of plays and top items
        first. The rest stay pending, their earlier answers carried meanwhile: a later run
        of the same snapshot date fetches them for that date's tables, whoever referenced
        them (plays are read once)."""
        state, date = self._state, self._manifest.snapshot_date
        wanted = self.refs.partial(state.pending.of(date))
        due = sorted(
            (tier, item_id in state.catalog[kind], DETAIL_ORDER.index(kind), item_id, kind)
            for (kind, item_id), tier in wanted.items()
            if not state.fresh(kind, item_id, self._now, self._options.catalog_max_age)
        )
        # The budget goes to the objects of plays and top items first, then to the tracks
        # only imported plays name (what the plays queries read), then to the rest.
        budget = self._options.detail_budget
        imported = self._imported_tracks(budget - sum(job[0] == WANTED for job in due))
        fetching = due[: budget - len(imported)]
        fetched = {(kind, item_id) for *_, item_id, kind in fetching}
        for kind, item_id in wanted.keys() - fetched:
            entry = state.catalog[kind].get(item_id)
            if entry is not None and entry.key is not None:
                self.carry(entry.key, CATALOG_STREAMS[kind], fetched=False)
        state.pending = PendingDetails(date, {kind: {} for kind in CATALOG_KINDS})
        for tier, _, _, item_id, kind in due[len(fetching) :]:
            state.pending.objects[kind][item_id] = tier
        if budget > 0:  # at 0 nothing is fetched by choice, so nothing is pending
            self.counts["details_pending"] = len(due) - len(fetching)
        self._parallel(lambda job: self._fetch_detail(job[-1], job[-2]), fetching)
        self._parallel(lambda t: self._fetch_detail("tracks", t, raw.IMPORTED_TRACK), imported)
        state.played.update(imported, self.refs.played)

    def _imported_tracks(self, budget: int) -> list[str]:
        """Of the tracks only imported plays name, those to fetch with `budget`, the most
        played first. Only a snapshot looks: its answers reference the whole library, so a
        track they do not is known from an export alone. One its answers hold in full is
        marked played in the manifest instead, at no cost. Each other is fetched once (its
        answer embeds its album and artists, all the plays queries need of it) and lands as
        played (raw.IMPORTED_TRACK); those left wait for the next snapshot."""
        if self._options.kind != raw.SNAPSHOT:
            return []
        played, full = self._state.played | self.refs.played, self.refs.full["tracks"]
        waiting = [t for t in saved_state.imported_tracks(self._lake) if t not in played]
        held = [track_id for track_id in waiting if track_id in full]
        self._manifest.played_tracks = held  # marked played at no cost
        self._state.played.update(held)
        referenced = self.refs.referenced["tracks"]
        unknown = [track_id for track_id in waiting if track_id not in referenced]
        fetching = unknown[: max(0, budget)] if self._options.detail_budget > 0 else []
        if unknown and self._options.detail_budget > 0:
            self.counts["imported_tracks_pending"] = len(unknown) - len(fetching)
        return fetching

    def _playlist_metadata(self, ids: tuple[str, ...] | None) -> Iterator[dict[str, Any]]:
        if ids is None:
            seen: set[str] = set()
            for offset, page in self._client.pages("current_user_playlists", limit=PAGE):
                self.write(f"playlists/page-{offset:05d}", raw.PLAYLISTS, page, offset=offset)
                for playlist in page.get("items") or []:
                    if playlist and playlist.get("id") and playlist["id"] not in seen:
                        seen.add(playlist["id"])
                        yield playlist
            return
        for playlist_id in ids:
            playlist = self._optional("playlist", playlist_id, additional_types=ITEM_TYPES)
            if playlist is not None:
                self.write(
                    f"playlists/{playlist_id}", raw.PLAYLISTS, playlist, playlist_id=playlist_id
                )
                yield playlist

    def _playlist_items(self, playlist: dict[str, Any]) -> None:
        playlist_id, snapshot_id = playlist["id"], playlist.get("snapshot_id")
        known = self._state.playlists.get(playlist_id)
        if known is not None and snapshot_id and known.snapshot_id == snapshot_id:
            for ref in known.pages:
                self.carry(
                    ref.key,
                    raw.PLAYLIST_ITEMS,
                    fetched=False,
                    playlist_id=playlist_id,
                    offset=ref.offset,
                )
            remembered = [self._remember_carried(ref, "item") for ref in known.pages]
            with self._lock:
                self._state.playlists[playlist_id] = PlaylistState(snapshot_id, remembered)
            return
        pages = self._client.pages(
            "playlist_items", playlist_id, limit=PAGE, additional_types=ITEM_TYPES
        )
        read: list[PageRef] = []
        try:
            for offset, page in pages:
                name = f"playlist_items/{playlist_id}/page-{offset:05d}"
                part = self.write(
                    name, raw.PLAYLIST_ITEMS, page, playlist_id=playlist_id, offset=offset
                )
                read.append(self._remember_read(part.key, offset, page, "item"))
        except SpotifyError as error:
            if error.status not in (403, 404) or isinstance(error, CutShortError):
                raise
            if error.status == 404:
                self._record(f"playlist {playlist_id} vanished while being read: {error}")
            with self._lock:
                self._manifest.withheld_playlists.append(playlist_id)
            return
        if snapshot_id:
            with self._lock:
                self._state.playlists[playlist_id] = PlaylistState(snapshot_id, read)

    def _top(self, kind: str, time_range: str) -> None:
        stream = raw.TOP_TRACKS if kind == "tracks" else raw.TOP_ARTISTS
        pages = self._client.pages(f"current_user_top_{kind}", limit=PAGE, time_range=time_range)
        for offset, page in pages:
            name = f"top/{kind}-{time_range}-{offset:05d}"
            self.write(name, stream, page, time_range=time_range, offset=offset)
            items = [item for item in page.get("items") or [] if item]
            with self._lock:
                if kind == "artists":
                    self.refs.add_artists(items, WANTED, full=True)
                else:
                    for item in items:
                        self.refs.add_track(item, WANTED)

    def _remember_read(self, key: str, offset: int, page: dict[str, Any], item_key: str) -> PageRef:
        """The catalog references of a page this run read: added to the run's, and kept with
        the page's reference for the runs that will carry it."""
        catalog = _page_catalog(page, item_key)
        with self._lock:
            self.refs.add_catalog(catalog)
        return PageRef(key, offset, catalog)

    def _remember_carried(self, ref: PageRef, item_key: str) -> PageRef:
        """The catalog references of a page an earlier run landed, from the state.

        A page a state file of the previous version lists has none kept: it is read from the
        lake, as that version did for every carried page (the upgrade path), and the reference
        returned keeps them, so the next run carrying it reads it no more.
        """
        catalog = ref.catalog
        if catalog is None:
            catalog = _page_catalog(get_json(self._lake, ref.key), item_key)
        with self._lock:
            self.refs.add_catalog(catalog)
        return replace(ref, catalog=catalog)

    def _saved_page(self, offset: int, page: dict[str, Any]) -> PageRef:
        part = self.write(f"saved/page-{offset:05d}", raw.SAVED_TRACKS, page, offset=offset)
        return self._remember_read(part.key, offset, page, "track")

    def _fetch_detail(self, kind: str, item_id: str, stream: str | None = None) -> None:
        """One full object, remembered in the cache; one the API no longer has keeps its
        earlier answer, if any, and is not asked for again until the cache age passes. It
        lands as its kind's raw stream, or as `stream`."""
        answer = self._optional(kind[:-1], item_id)
        with self._lock:
            kept = self._state.catalog[kind].get(item_id)
        key = kept.key if kept is not None else None
        if answer is not None:
            key = self.write(f"{kind}/{item_id}", stream or CATALOG_STREAMS[kind], answer).key
        elif key is not None:
            self.carry(key, CATALOG_STREAMS[kind], fetched=False)
        with self._lock:
            self._state.catalog[kind][item_id] = CatalogEntry(key, self._now.isoformat())

    def _optional(self, method: str, item_id: str, **params: Any) -> dict[str, Any] | None:
        """spotipy's getter of one object (`playlist`, `album`, ...), or None with the error
        recorded when the object is gone or invalid."""
        try:
            return self._client.get(method, item_id, **params)
        except SpotifyError as error:
            if error.status not in (400, 404) or isinstance(error, CutShortError):
                raise
            self._record(f"{method} {item_id}: {error}")
            return None

    def _parallel(self, work: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        """Run work on every item in the pool, returning what each gave in order; the first
        failure is raised once all stop."""
        futures = [self._pool.submit(work, item) for item in items]
        failures = [future.exception() for future in futures]
        first = next((error for error in failures if error is not None), None)
        if first is not None:
            raise first
        return [future.result() for future in futures]

    def _record(self, error: str) -> None:
        with self._lock:
            self.errors.append(error)


def run_extract(
    client: SpotifyClient,
    lake: Lake,
    *,
    options: Options,
    run_id: str,
    started: datetime,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    progress: Callable[[raw.Part], None] | None = None,
) -> RunResult:
    """Extract the streams into raw/; the manifest goes last, marked partial when cut short."""
    names = [stream.name for stream in in_order(options.streams)]
    manifest = raw.Manifest(
        run_id=run_id,
        kind=options.kind,
        snapshot_date=started.astimezone(UTC).date().isoformat(),
        started_at=raw.iso_utc(started),
        streams=names,
    )
    state = saved_state.load(lake)
    extractor = Extractor(client, lake, manifest, state, options, started, progress)
    try:
        _run_streams(extractor, names)
    except CutShortError as error:
        manifest.status = raw.MANIFEST_PARTIAL
        extractor.errors.append(f"{error} (reason: {error.reason})" if error.reason else str(error))
    finally:
        extractor.close()
    manifest.finished_at = raw.iso_utc(now())
    put_json(lake, manifest.key, manifest.to_json())
    _save_state(lake, state, names, run_id, complete=manifest.status != raw.MANIFEST_PARTIAL)
    counts = {**extractor.counts, "requests": client.requests, "rate_limited": client.rate_limited}
    return RunResult(manifest, counts, extractor.errors)


def _run_streams(extractor: Extractor, names: list[str]) -> None:
    """The user, each stream by the reader chalicelib.streams names, then the catalog."""
    extractor.me()
    for stream in in_order(names):
        getattr(extractor, stream.read)()
    extractor.catalog()


def _save_state(
    lake: Lake, state: ExtractState, streams: list[str], run_id: str, *, complete: bool
) -> None:
    """Remember what this run landed (also when cut short: that is the checkpoint).

    The plays cursor moves only when the run completed: a run cut short never fetched the
    catalog of its plays, and the next run finds them again only by reading them again
    (the transform keeps each play once).
    """
    if "plays" in streams and state.plays_after is not None and complete:
        saved_state.save_plays_cursor(lake, state.plays_after, run_id)
    if "playlists" in streams:
        saved_state.save_playlists(lake, state.playlists)
    if "saved" in streams and state.saved is not None:
        saved_state.save_saved(lake, state.saved)
    saved_state.save_catalog(lake, state.catalog, state.pending, state.played)


def _page_catalog(page: dict[str, Any], item_key: str) -> PageCatalog:
    """What References.add_page collects from one page, in the form the state keeps."""
    found = References()
    found.add_page(page.get("items") or [], item_key)
    return found.catalog()


def _pages_for(total: int) -> int:
    return max(1, -(-total // PAGE))


def _saved_pair(item: dict[str, Any] | None) -> tuple[str, str]:
    item = item or {}
    return (raw.requested(item.get("track") or {}).get("id") or "", item.get("added_at") or "")


def _epoch_ms(value: str | None) -> int | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return int(parsed.timestamp() * 1000)
