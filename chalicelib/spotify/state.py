"""What the extractor remembers between runs, in `state/`, so that it asks only for what changed.

Everything here points at raw answers already in the lake: a later run lists those keys in
its own manifest instead of asking Spotify again. Each incremental stream keeps its bookmark
in its own file (`state/streams/<stream>.json`, a JSON object only its reader reads: a
cursor, the pages a playlist's items were read into, the saved tracks' head); the catalog
step keeps the full objects it fetched, those still pending and the tracks marked played
(`state/catalog.json`). Losing a state file costs requests, never data. Each concern has its
own file because the daily and the frequent runs overlap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.errors import NotFoundError
from chalicelib.lake import Lake, get_json, put_json

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


def load(lake: Lake, streams: Mapping[str, str | None]) -> ExtractState:
    """The state as the last runs left it, with the bookmarks of `streams`; missing files
    mean starting afresh. Each stream is named with the file the previous version kept its
    bookmark in, if any: read while the stream has no file of its own, so once."""
    state = ExtractState()
    for stream, legacy in streams.items():
        for key in (bookmark_key(stream), legacy):
            if key is not None and lake.exists(key):
                state.bookmarks[stream] = get_json(lake, key)
                break
    if lake.exists(CATALOG):
        cached = get_json(lake, CATALOG)
        for kind in CATALOG_KINDS:
            state.catalog[kind] = {
                item_id: CatalogEntry(entry["key"], entry["fetched_at"])
                for item_id, entry in cached.get(kind, {}).items()
            }
        state.played = set(cached.get("played", []))
        pending = cached.get("pending") or {}
        state.pending = PendingDetails(
            pending.get("snapshot_date"),
            {kind: dict(pending.get(kind, {})) for kind in CATALOG_KINDS},
        )
    return state


def bookmark_key(stream: str) -> str:
    return f"{BOOKMARKS}{stream}.json"


def save_bookmark(lake: Lake, stream: str, bookmark: dict[str, Any]) -> None:
    put_json(lake, bookmark_key(stream), bookmark)


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
    catalog, pending, played = state.catalog, state.pending, state.played
    put_json(
        lake,
        CATALOG,
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
        },
    )
