"""One extract run: read what changed in the account and land every answer in raw/.

Each stream's reader (chalicelib.spotify.readers) says what to ask and what to carry; the
run drives them against the client, lands what they yield (`Writer`), keeps their
bookmarks, and gathers the catalog objects their answers reference, from which
chalicelib.spotify.catalog plans the full objects the detail budget fetches. A run asks
Spotify only for what it cannot already point at: pages an earlier run landed are listed in
the manifest by their raw keys, with the catalog objects they reference as their bookmark
kept them, so a run reads them neither from Spotify nor from the lake. Independent readers
run in a bounded pool. The manifest goes last; a run cut short by a rate limit or the
Lambda's clock still writes one, marked partial, and saves its state, so the next run
resumes where it stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import raw
from chalicelib.errors import CutShortError, RateLimitedError
from chalicelib.lake import Lake, get_json, put_json
from chalicelib.spotify import readers
from chalicelib.spotify import state as saved_state
from chalicelib.spotify.catalog import CATALOG_STREAMS, Budget, References, plan
from chalicelib.spotify.client import SpotifyClient
from chalicelib.spotify.readers import (
    Carried,
    Checkpoint,
    Context,
    Fork,
    Item,
    Page,
    Problem,
    Reader,
    Withheld,
)
from chalicelib.spotify.state import CatalogEntry, ExtractState, PendingDetails
from chalicelib.streams import NAMES as STREAMS
from chalicelib.streams import in_order


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
    held_until: datetime | None = None  # until when Spotify's Retry-After holds the app


class Writer:
    """Lands the answers of one run in its folder and keeps its manifest; thread-safe."""

    def __init__(
        self, lake: Lake, manifest: raw.Manifest, progress: Callable[[raw.Part], None] | None
    ):
        self._lake = lake
        self._manifest = manifest
        self._progress = progress
        self._folder = raw.run_folder(manifest.snapshot_date, manifest.run_id)
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def land(self, page: Page) -> raw.Part:
        """Land one answer unchanged and list it in the manifest."""
        key = f"{self._folder}{page.name}.json.gz"
        put_json(self._lake, key, page.answer, compress=True)
        part = raw.Part(key, page.stream, page.playlist_id, page.time_range, page.offset)
        return self._list(part, page.stream)

    def carry(self, carried: Carried) -> raw.Part:
        """List an answer an earlier run landed."""
        part = raw.Part(
            carried.key, carried.stream, playlist_id=carried.playlist_id, offset=carried.offset
        )
        return self._list(part, f"{carried.stream}_carried")

    def withhold(self, playlist_id: str) -> None:
        with self._lock:
            self._manifest.withheld_playlists.append(playlist_id)

    def mark_played(self, tracks: list[str]) -> None:
        """Tracks only imported plays named that this run's answers hold in full."""
        self._manifest.played_tracks = tracks

    def finish(self, finished_at: datetime, *, cut_short: bool) -> None:
        """The manifest, last."""
        if cut_short:
            self._manifest.status = raw.MANIFEST_PARTIAL
        self._manifest.finished_at = raw.iso_utc(finished_at)
        put_json(self._lake, self._manifest.key, self._manifest.to_json())

    def _list(self, part: raw.Part, counter: str) -> raw.Part:
        with self._lock:
            self._manifest.parts.append(part)
            self.counts[counter] = self.counts.get(counter, 0) + 1
        if self._progress:
            self._progress(part)
        return part


class Extract:
    """Drives one run's readers: what they yield goes to the writer, into their stream's
    bookmark and into the references the catalog step plans from."""

    def __init__(
        self,
        client: SpotifyClient,
        lake: Lake,
        writer: Writer,
        state: ExtractState,
        workers: int,
    ):
        self._client = client
        self._lake = lake
        self._writer = writer
        self._state = state
        self._pool = ThreadPoolExecutor(max_workers=workers)
        self._lock = threading.Lock()
        self.refs = References()
        self.counts: dict[str, int] = {}
        self.errors: list[str] = []

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def drive(self, reader: Reader, stream: str | None = None) -> Any:
        """Run a reader to its end, answering each thing it yields; what it returns. Its
        checkpoints go into the bookmark of `stream`."""
        reply = None
        while True:
            try:
                item = reader.send(reply)
            except StopIteration as done:
                return done.value
            reply = self._take(item, stream)

    def details(self, options: Options, snapshot_date: str, now: datetime) -> None:
        """Full objects for what the answers gave only in part, as catalog.plan decides."""
        state = self._state
        imports = saved_state.imported_tracks(self._lake) if options.kind == raw.SNAPSHOT else []
        chosen = plan(
            self.refs,
            state.catalog,
            state.pending.of(snapshot_date),
            imports,
            state.played,
            budget=Budget(options.detail_budget, options.catalog_max_age),
            now=now,
        )
        self._writer.mark_played(chosen.held)
        state.played.update(chosen.held)
        for kind, key in chosen.carry:
            self._writer.carry(Carried(key, CATALOG_STREAMS[kind]))
        state.pending = PendingDetails(snapshot_date, chosen.pending)
        self.counts.update(chosen.counts)
        fetching = [(kind, item_id, CATALOG_STREAMS[kind]) for kind, item_id in chosen.fetch]
        self._parallel(lambda job: self._fetch(job, now), fetching)
        imported = [("tracks", track_id, raw.IMPORTED_TRACK) for track_id in chosen.imported]
        self._parallel(lambda job: self._fetch(job, now), imported)
        state.played.update(chosen.imported, self.refs.played)

    def _take(self, item: Item, stream: str | None) -> Any:
        """What the run does with one thing a reader yields; what the reader gets back."""
        if isinstance(item, Page):
            part = self._writer.land(item)
            if item.refs is not None:
                with self._lock:
                    self.refs.add(item.refs)
            return part
        if isinstance(item, Carried):
            self._writer.carry(item)
            return None if item.item_key is None else self._carried_catalog(item)
        if isinstance(item, Fork):
            return self._parallel(lambda reader: self.drive(reader, stream), item.readers)
        if isinstance(item, Checkpoint):
            assert stream is not None, "a checkpoint outside a stream"
            with self._lock:
                if item.partition is None:
                    self._state.bookmarks[stream] = item.bookmark
                else:
                    self._state.bookmarks.setdefault(stream, {})[item.partition] = item.bookmark
            return None
        if isinstance(item, Withheld):
            self._writer.withhold(item.playlist_id)
        elif isinstance(item, Problem):
            with self._lock:
                self.errors.append(item.message)
        return None

    def _carried_catalog(self, carried: Carried) -> dict[str, list[str]]:
        """The catalog objects a carried page references, added to the run's. A bookmark of
        the version before kept none: the page is read from the lake, as that version did
        for every carried page (the upgrade path), and the bookmark keeps them from then on."""
        catalog = carried.catalog
        if catalog is None:
            items = get_json(self._lake, carried.key).get("items") or []
            catalog = References.of_page(items, str(carried.item_key)).catalog()
        with self._lock:
            self.refs.add_catalog(catalog)
        return catalog

    def _fetch(self, job: tuple[str, str, str], now: datetime) -> None:
        """One full object (kind, ID, the raw stream it lands as), remembered in the cache
        with when it was asked for."""
        kind, item_id, stream = job
        with self._lock:
            kept = self._state.catalog[kind].get(item_id)
        full = readers.full_object(
            self._client, kind, item_id, stream, kept.key if kept is not None else None
        )
        key = self.drive(full)
        with self._lock:
            self._state.catalog[kind][item_id] = CatalogEntry(key, now.isoformat())

    def _parallel(self, work: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
        """Run work on every item in the pool, returning what each gave in order; the first
        failure is raised once all stop. (Work run here never forks again.)"""
        futures = [self._pool.submit(work, item) for item in items]
        failures = [future.exception() for future in futures]
        first = next((error for error in failures if error is not None), None)
        if first is not None:
            raise first
        return [future.result() for future in futures]


def run_extract(
    client: SpotifyClient,
    lake: Lake,
    *,
    options: Options,
    run_id: str,
    started: datetime,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    progress: Callable[[raw.Part], None] | None = None,
    user: dict[str, Any] | None = None,
) -> RunResult:
    """Extract the streams into raw/; the manifest goes last, marked partial when cut short.
    `user` is GET /me's answer where the caller asked already."""
    streams = in_order(options.streams)
    manifest = raw.Manifest(
        run_id=run_id,
        kind=options.kind,
        snapshot_date=raw.date_of_run(run_id),
        started_at=raw.iso_utc(started),
        streams=[stream.name for stream in streams],
    )
    bookmarked = {s.name: s.bookmark.legacy for s in streams if s.bookmark is not None}
    state = saved_state.load(lake, bookmarked)
    writer = Writer(lake, manifest, progress)
    extract = Extract(client, lake, writer, state, options.workers)
    cut_short = False
    held_until = None
    try:
        user = extract.drive(readers.me(client, user))
        context = Context(user, started, options.playlists)
        for stream in streams:
            bookmark = state.bookmarks.get(stream.name, {})
            extract.drive(stream.read(client, context, bookmark), stream.name)
        extract.details(options, manifest.snapshot_date, started)
    except CutShortError as error:
        cut_short = True
        if isinstance(error, RateLimitedError):
            held_until = now() + timedelta(seconds=error.retry_after)
        extract.errors.append(f"{error} (reason: {error.reason})" if error.reason else str(error))
    finally:
        extract.close()
    writer.finish(now(), cut_short=cut_short)
    for stream in streams:
        kept = state.bookmarks.get(stream.name)
        if kept and stream.bookmark and (stream.bookmark.kept_when_cut_short or not cut_short):
            saved_state.save_bookmark(lake, state, stream.name)
    saved_state.save_catalog(lake, state)
    counts = {
        **writer.counts,
        **extract.counts,
        "requests": client.requests,
        "rate_limited": client.rate_limited,
    }
    return RunResult(manifest, counts, extract.errors, held_until)
