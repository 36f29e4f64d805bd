"""What the extractor remembers between runs, in `state/`, so that it asks only for what changed.

Everything here points at raw answers already in the lake: a later run lists those keys in
its own manifest instead of asking Spotify again. Each incremental stream keeps its bookmark
in its own file (`state/streams/<stream>.json`, a JSON object only its reader reads: a
cursor, the pages a playlist's items were read into, the saved tracks' head); the catalog
step keeps the full objects it fetched, those still pending and the tracks marked played
(`state/catalog.json`). Losing a state file costs requests, never data. Each concern has its
own file because the daily and the frequent runs overlap.

One extract runs at a time (chalicelib.lease), yet a holder that outlived its lease can still
end beside its overtaker, so each file is written back only if it is still the version this
run read. A bookmark another run rewrote since is kept as that run left it (it started from
the same or a later one, so the cursor never moves back; this run's pages are read again next
time and the transform keeps each play once); the catalog file is merged instead: the cache
and the played tracks of both, and their pending details but those fetched that day.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from chalicelib.errors import ConflictError, NotFoundError
from chalicelib.lake import Lake, get_json, put_json, put_merging

BOOKMARKS = "state/streams/"  # <stream>.json: an incremental stream's bookmark
CATALOG = "state/catalog.json"
IMPORTED_TRACKS = "state/imported_tracks/"  # <import_id>.json: the tracks each import's plays name
IMPORTED_TOTALS = "state/imported_tracks.json"  # those files' tracks summed, and which it holds
CATALOG_KINDS = ("tracks", "albums", "artists")


@dataclass
class CatalogEntry:
    """The raw key of an object's full answer (None if it was never had: the API said 404),
    and when it was last asked for."""

    key: str | None
    fetched_at: str


@dataclass
class PendingDetails:
    """Full objects the runs of one snapshot date referenced but had no budget left for,
    by kind, each with its tier: a later run of that date fetches them for that date."""

    snapshot_date: str | None = None
    objects: dict[str, dict[str, int]] = field(
        default_factory=lambda: {kind: {} for kind in CATALOG_KINDS}
    )

    def of(self, snapshot_date: str) -> dict[str, dict[str, int]]:
        """The objects still pending for that date (none for another date)."""
        if snapshot_date != self.snapshot_date:
            return {kind: {} for kind in CATALOG_KINDS}
        return self.objects


@dataclass
class ExtractState:
    """What a run starts from and saves at its end (complete or partial)."""

    bookmarks: dict[str, dict[str, Any]] = field(default_factory=dict)  # by stream
    catalog: dict[str, dict[str, CatalogEntry]] = field(
        default_factory=lambda: {kind: {} for kind in CATALOG_KINDS}
    )
    pending: PendingDetails = field(default_factory=PendingDetails)
    # Tracks whose catalog rows are marked played on some day already (a play the API
    # served, or one an import named that a snapshot fetched or held): the plays queries
    # find them, so an import's list of tracks needs nothing more for them.
    played: set[str] = field(default_factory=set)
    # The version of each state file as it was read (None: there was none), which a save
    # writes over only if it is still there.
    versions: dict[str, str | None] = field(default_factory=dict)


def load(lake: Lake, streams: Mapping[str, str | None]) -> ExtractState:
    """The state as the last runs left it, with the bookmarks of `streams`; missing files
    mean starting afresh. Each stream is named with the file the previous version kept its
    bookmark in, if any: read while the stream has no file of its own, so once."""
    state = ExtractState()
    for stream, legacy in streams.items():
        key = bookmark_key(stream)
        bookmark, state.versions[key] = _read(lake, key)
        if bookmark is None and legacy is not None:
            bookmark = _read(lake, legacy)[0]
        if bookmark is not None:
            state.bookmarks[stream] = bookmark
    cached, state.versions[CATALOG] = _read(lake, CATALOG)
    if cached is not None:
        state.catalog, state.pending, state.played = _catalog_of(cached)
    return state


def _read(lake: Lake, key: str) -> tuple[Any, str | None]:
    """A state file and its version; (None, None) where there is none."""
    try:
        data, version = lake.get_versioned(key)
    except NotFoundError:
        return None, None
    return orjson.loads(data), version


Catalog = tuple[dict[str, dict[str, CatalogEntry]], PendingDetails, set[str]]


def _catalog_of(cached: dict[str, Any]) -> Catalog:
    """The cache, the pending details and the played tracks a catalog file holds."""
    catalog = {
        kind: {
            item_id: CatalogEntry(entry["key"], entry["fetched_at"])
            for item_id, entry in cached.get(kind, {}).items()
        }
        for kind in CATALOG_KINDS
    }
    pending = cached.get("pending") or {}
    details = PendingDetails(
        pending.get("snapshot_date"),
        {kind: dict(pending.get(kind, {})) for kind in CATALOG_KINDS},
    )
    return catalog, details, set(cached.get("played", []))


def bookmark_key(stream: str) -> str:
    return f"{BOOKMARKS}{stream}.json"


def save_bookmark(lake: Lake, state: ExtractState, stream: str) -> None:
    """The stream's bookmark, unless another run rewrote it since it was read (see above)."""
    key = bookmark_key(stream)
    version = state.versions.get(key)
    data = orjson.dumps(state.bookmarks[stream])
    with contextlib.suppress(ConflictError):
        state.versions[key] = lake.put(key, data, if_match=version, if_none_match=not version)


def save_imported_tracks(lake: Lake, import_id: str, plays: dict[str, int]) -> None:
    """The tracks an import's plays name, with how many plays each: written once by the
    import, read by the snapshot runs that fetch their catalog (`imported_tracks`)."""
    put_json(lake, f"{IMPORTED_TRACKS}{import_id}.json", {"tracks": plays})


def imported_tracks(lake: Lake) -> list[str]:
    """Every track an import's plays name, the most played first (then by ID).

    Each import's file is read once, by the first snapshot that finds it, and summed into
    IMPORTED_TOTALS with its name: a run reads that one file and the list of the imports'
    names, however many imports there were. Two runs summing at once write the same import
    with its name or not at all, so an import is never counted twice, only summed again.
    """
    try:
        totals = get_json(lake, IMPORTED_TOTALS)
    except NotFoundError:
        totals = {"tracks": {}, "imports": []}
    plays: dict[str, int] = totals["tracks"]
    summed = set(totals["imports"])
    new = [key for key in lake.list(IMPORTED_TRACKS) if _import_id(key) not in summed]
    for key in new:
        for track_id, count in get_json(lake, key)["tracks"].items():
            plays[track_id] = plays.get(track_id, 0) + count
    if new:
        imports = sorted(summed | {_import_id(key) for key in new})
        put_json(lake, IMPORTED_TOTALS, {"tracks": plays, "imports": imports})
    return sorted(plays, key=lambda track_id: (-plays[track_id], track_id))


def _import_id(key: str) -> str:
    return key.removeprefix(IMPORTED_TRACKS).removesuffix(".json")


def save_catalog(lake: Lake, state: ExtractState) -> None:
    """The catalog file, merged with what another run saved since it was read (see above)."""

    def merge(theirs: bytes | None) -> None:
        if theirs is not None:
            _merge(state, *_catalog_of(orjson.loads(theirs)))

    state.versions[CATALOG] = put_merging(
        lake, CATALOG, state.versions.get(CATALOG), lambda: _catalog_document(state), merge
    )


def _merge(
    state: ExtractState,
    catalog: dict[str, dict[str, CatalogEntry]],
    pending: PendingDetails,
    played: set[str],
) -> None:
    """Another run's catalog file merged into this run's: each object's latest fetch, every
    played track, and the pending details of the later date, but those fetched that day."""
    for kind in CATALOG_KINDS:
        for item_id, entry in catalog[kind].items():
            ours = state.catalog[kind].get(item_id)
            if ours is None or entry.fetched_at > ours.fetched_at:
                state.catalog[kind][item_id] = entry
    state.played |= played
    day = max(filter(None, (state.pending.snapshot_date, pending.snapshot_date)), default=None)
    if day is None:
        return
    objects = {
        kind: {
            item_id: tier
            for item_id, tier in {**pending.of(day)[kind], **state.pending.of(day)[kind]}.items()
            if not _fetched_on(state.catalog[kind].get(item_id), day)
        }
        for kind in CATALOG_KINDS
    }
    state.pending = PendingDetails(day, objects)


def _fetched_on(entry: CatalogEntry | None, day: str) -> bool:
    return entry is not None and entry.fetched_at.startswith(day)


def _catalog_document(state: ExtractState) -> bytes:
    catalog, pending, played = state.catalog, state.pending, state.played
    return orjson.dumps(
        {
            **{
                kind: {item_id: vars(entry) for item_id, entry in sorted(entries.items())}
                for kind, entries in catalog.items()
            },
            "pending": {
                "snapshot_date": pending.snapshot_date,
                **{kind: dict(sorted(ids.items())) for kind, ids in pending.objects.items()},
            },
            "played": sorted(played),
        }
    )
