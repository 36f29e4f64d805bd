"""What the extractor remembers between runs, in `state/`, so that it asks only for what changed.

Everything here points at raw answers already in the lake: a later run lists those keys in
its own manifest instead of asking Spotify again. Each page of playlist items or saved tracks
is kept with the catalog objects it references, so a run carrying it knows which full
objects are due without reading the page back from the lake. Losing a state file costs
requests, never data. Each concern has its own file because the daily and the frequent runs
overlap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.errors import NotFoundError
from chalicelib.lake import Lake, get_json, put_json

PLAYS_CURSOR = "state/plays_cursor.json"
PLAYLISTS = "state/playlists.json"
SAVED_TRACKS = "state/saved_tracks.json"
CATALOG = "state/catalog.json"
IMPORTED_TRACKS = "state/imported_tracks/"  # <import_id>.json: the tracks each import's plays name
IMPORTED_TOTALS = "state/imported_tracks.json"  # those files' tracks summed, and which it holds
CATALOG_KINDS = ("tracks", "albums", "artists")


@dataclass
class PageCatalog:
    """The catalog objects one page references, as sorted IDs by kind, and the tracks among
    them it gave without their album (given only in part): what reading the page would find.

    Serialised as `{"tracks": [...], "albums": [...], "artists": [...], "partial_tracks": [...]}`;
    a track with its album is given in full, so `partial_tracks` is almost always empty.
    """

    ids: dict[str, list[str]]
    partial_tracks: list[str]


@dataclass
class PageRef:
    """A raw page already in the lake, the offset it answered and the catalog objects it
    references (None for a page a state file of the previous version lists: its catalog is
    learnt by reading the page)."""

    key: str
    offset: int = 0
    catalog: PageCatalog | None = None


@dataclass
class PlaylistState:
    snapshot_id: str
    pages: list[PageRef]


@dataclass
class SavedState:
    """The saved tracks: the pages holding them, their (track_id, added_at) pairs, and when
    they were last read in full."""

    total: int
    pages: list[PageRef]
    known: set[tuple[str, str]]
    read_at: str


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
    """All of it, loaded at the start of a run and saved at its end (complete or partial)."""

    plays_after: int | None = None
    playlists: dict[str, PlaylistState] = field(default_factory=dict)
    saved: SavedState | None = None
    catalog: dict[str, dict[str, CatalogEntry]] = field(
        default_factory=lambda: {kind: {} for kind in CATALOG_KINDS}
    )
    pending: PendingDetails = field(default_factory=PendingDetails)
    # Tracks whose catalog rows are marked played on some day already (a play the API
    # served, or one an import named that a snapshot fetched or held): the plays queries
    # find them, so an import's list of tracks needs nothing more for them.
    played: set[str] = field(default_factory=set)

    def fresh(
        self, kind: str, item_id: str, now: datetime, max_age: timedelta
    ) -> CatalogEntry | None:
        """The cached answer for a catalog object, unless older than max_age."""
        entry = self.catalog[kind].get(item_id)
        if entry is None or now - datetime.fromisoformat(entry.fetched_at) > max_age:
            return None
        return entry


def load(lake: Lake) -> ExtractState:
    """The state as the last runs left it; missing files mean starting afresh."""
    state = ExtractState()
    if lake.exists(PLAYS_CURSOR):
        state.plays_after = int(get_json(lake, PLAYS_CURSOR)["after"])
    if lake.exists(PLAYLISTS):
        state.playlists = {
            playlist_id: PlaylistState(value["snapshot_id"], _pages(value["pages"]))
            for playlist_id, value in get_json(lake, PLAYLISTS).items()
        }
    if lake.exists(SAVED_TRACKS):
        saved = get_json(lake, SAVED_TRACKS)
        state.saved = SavedState(
            saved["total"],
            _pages(saved["pages"]),
            {tuple(pair) for pair in saved["known"]},
            saved["read_at"],
        )
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


def save_plays_cursor(lake: Lake, after: int, run_id: str) -> None:
    put_json(lake, PLAYS_CURSOR, {"after": after, "run_id": run_id})


def save_playlists(lake: Lake, playlists: dict[str, PlaylistState]) -> None:
    put_json(
        lake,
        PLAYLISTS,
        {
            playlist_id: {"snapshot_id": value.snapshot_id, "pages": _refs(value.pages)}
            for playlist_id, value in sorted(playlists.items())
        },
    )


def save_saved(lake: Lake, saved: SavedState) -> None:
    put_json(
        lake,
        SAVED_TRACKS,
        {
            "total": saved.total,
            "pages": _refs(saved.pages),
            "known": sorted(saved.known),
            "read_at": saved.read_at,
        },
    )


def save_catalog(
    lake: Lake,
    catalog: dict[str, dict[str, CatalogEntry]],
    pending: PendingDetails,
    played: set[str],
) -> None:
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


def _pages(values: list[dict[str, Any]]) -> list[PageRef]:
    return [
        PageRef(value["key"], value["offset"], _catalog(value.get("catalog")))
        for value in values
    ]


def _catalog(value: dict[str, list[str]] | None) -> PageCatalog | None:
    if value is None:
        return None
    return PageCatalog({kind: value[kind] for kind in CATALOG_KINDS}, value["partial_tracks"])


def _refs(pages: list[PageRef]) -> list[dict[str, Any]]:
    return [
        {
            "key": page.key,
            "offset": page.offset,
            **({} if page.catalog is None else {"catalog": _catalog_json(page.catalog)}),
        }
        for page in pages
    ]


def _catalog_json(catalog: PageCatalog) -> dict[str, list[str]]:
    return {**catalog.ids, "partial_tracks": catalog.partial_tracks}
