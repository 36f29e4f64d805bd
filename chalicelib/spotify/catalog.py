"""The catalog objects a run's answers reference, and the plan of which full objects it fetches.

Albums and artists come embedded in the tracks that reference them; their full objects,
which add only images and deprecated fields, are optional: fetched up to a budget per run,
cached for the cache age and carried from there. `plan` decides, from what the answers
referenced and what the state remembers, which the budget fetches; it reads and writes
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib import raw
from chalicelib.spotify.state import CATALOG_KINDS, CatalogEntry

CATALOG_STREAMS = {"tracks": raw.TRACKS, "albums": raw.ALBUMS, "artists": raw.ARTISTS}
DETAIL_ORDER = ("tracks", "artists", "albums")  # within a tier: what a full object adds most
WANTED, REST = 0, 1  # tiers: objects of plays and top items (what the analytics read), others


@dataclass
class References:
    """The catalog objects answers reference, each with the most wanted tier it was seen in,
    and those the answers gave in full (tracks with their album, top artists)."""

    referenced: dict[str, dict[str, int]] = field(
        default_factory=lambda: {kind: {} for kind in CATALOG_KINDS}
    )
    full: dict[str, set[str]] = field(
        default_factory=lambda: {kind: set() for kind in CATALOG_KINDS}
    )
    played: set[str] = field(default_factory=set)  # the tracks of plays

    @classmethod
    def of_page(
        cls, items: Iterable[dict[str, Any] | None], key: str, tier: int = REST
    ) -> References:
        """The tracks of a page of playlist entries, plays or saved tracks, under `key`."""
        found = cls()
        for item in items:
            item = item or {}
            found.add_track(item.get(key) or (item.get("track") if key == "item" else None), tier)
        return found

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

    def add(self, other: References) -> None:
        """What other answers referenced, as if they had been added here."""
        for kind in CATALOG_KINDS:
            for item_id, tier in other.referenced[kind].items():
                self._add(kind, item_id, tier)
            self.full[kind] |= other.full[kind]
        self.played |= other.played

    def add_catalog(self, catalog: dict[str, list[str]]) -> None:
        """A page's references as the state keeps them (`catalog`), of the REST tier."""
        for kind in CATALOG_KINDS:
            for item_id in catalog[kind]:
                self._add(kind, item_id, REST)
        self.full["tracks"].update(set(catalog["tracks"]) - set(catalog["partial_tracks"]))

    def catalog(self) -> dict[str, list[str]]:
        """What was collected, as the state keeps it for a page: sorted IDs by kind, and the
        tracks given without their album (tiers left out)."""
        partial = self.referenced["tracks"].keys() - self.full["tracks"]
        return {
            **{kind: sorted(ids) for kind, ids in self.referenced.items()},
            "partial_tracks": sorted(partial),
        }

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


@dataclass(frozen=True)
class Budget:
    """How many full objects a run may fetch, and how long a fetched one is reused."""

    size: int
    max_age: timedelta


@dataclass
class Plan:
    """Which full objects a run fetches, and what it does with the others."""

    fetch: list[tuple[str, str]]  # (kind, ID), most wanted first
    imported: list[str]  # tracks only imported plays name, fetched as played
    held: list[str]  # tracks only imported plays name that the answers hold in full
    carry: list[tuple[str, str]]  # (kind, raw key) of cached answers listed again
    pending: dict[str, dict[str, int]]  # left for a later run of the day, with their tiers
    counts: dict[str, int] = field(default_factory=dict)


def plan(
    refs: References,
    cache: dict[str, dict[str, CatalogEntry]],
    pending: dict[str, dict[str, int]],
    imports: list[str],
    played: set[str],
    *,
    budget: Budget,
    now: datetime,
) -> Plan:
    """Full objects for what the answers gave only in part (the rows come from the answers
    themselves). Each is carried from the cache; one missing or older than the cache age is
    fetched instead while the budget lasts, those of plays and top items first, then the
    tracks only imported plays name (what the plays queries read), then the rest. The rest
    stay pending, their earlier answers carried meanwhile: a later run of the same snapshot
    date fetches them for that date's tables, whoever referenced them (plays are read once).

    `pending` is what earlier runs of the day left; `imports` the tracks imported plays name,
    the most played first (a snapshot's only), and `played` those marked played already."""
    wanted = refs.partial(pending)
    due = sorted(
        (tier, item_id in cache[kind], DETAIL_ORDER.index(kind), item_id, kind)
        for (kind, item_id), tier in wanted.items()
        if not _fresh(cache[kind].get(item_id), now, budget.max_age)
    )
    counts: dict[str, int] = {}
    marked = played | refs.played
    waiting = [track_id for track_id in imports if track_id not in marked]
    spare = budget.size - sum(job[0] == WANTED for job in due)
    held, imported = _imported(refs, waiting, spare, budget.size, counts)
    fetching = due[: budget.size - len(imported)]
    fetched = {(kind, item_id) for *_, item_id, kind in fetching}
    carry = [
        (kind, entry.key)
        for kind, item_id in wanted.keys() - fetched
        if (entry := cache[kind].get(item_id)) is not None and entry.key is not None
    ]
    left: dict[str, dict[str, int]] = {kind: {} for kind in CATALOG_KINDS}
    for tier, _, _, item_id, kind in due[len(fetching) :]:
        left[kind][item_id] = tier
    if budget.size > 0:  # at 0 nothing is fetched by choice, so nothing is pending
        counts["details_pending"] = len(due) - len(fetching)
    fetch = [(kind, item_id) for *_, item_id, kind in fetching]
    return Plan(fetch, imported, held, carry, left, counts)


def _imported(
    refs: References, waiting: list[str], spare: int, budget: int, counts: dict[str, int]
) -> tuple[list[str], list[str]]:
    """Of the tracks only imported plays name, those the answers hold in full (marked played
    at no cost) and those to fetch with what is `spare` of the budget, the most played first.
    A snapshot's answers reference the whole library, so a track they do not is known from
    an export alone; each is fetched once (its answer embeds its album and artists, all the
    plays queries need of it); those left wait for the next snapshot."""
    held = [track_id for track_id in waiting if track_id in refs.full["tracks"]]
    unknown = [track_id for track_id in waiting if track_id not in refs.referenced["tracks"]]
    fetching = unknown[: max(0, spare)] if budget > 0 else []
    if unknown and budget > 0:
        counts["imported_tracks_pending"] = len(unknown) - len(fetching)
    return held, fetching


def _fresh(entry: CatalogEntry | None, now: datetime, max_age: timedelta) -> bool:
    return entry is not None and now - datetime.fromisoformat(entry.fetched_at) <= max_age
