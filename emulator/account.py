"""The emulated account: a pure function of (seed, scale, start, now)."""

import base64
import hashlib
import math
import threading
from dataclasses import dataclass, field, replace
from functools import cached_property
from random import Random

from emulator.catalog import LOCAL_FILES, Catalog, build_catalog
from emulator.config import Scale
from emulator.ids import spotify_id, stream

DAY = 86_400
RETRIEVABLE_PLAYS = 50
MAX_CATALOG_TRACKS = 20_000  # large scales repeat tracks rather than grow the catalog
KINDS = ("owned", "collaborative", "followed", "editorial", "old")
READABLE_KINDS = frozenset({"owned", "collaborative", "old"})
ENTRY_FIELDS = ("both", "item", "track")
REF_FIELDS = ("both", "items", "tracks")
PLAYLIST_NAMES = (
    "Café del Mar ☕", "深夜ドライブ", "🔥 Workout", "موسيقى هادئة", "Road Trip",
    "Rainy Sundays", "Ñandú & Friends", "Focus Flow", "Kesäyö", "Playlist für Oma",
)  # fmt: skip
TOP_TYPES = ("artists", "tracks")
TIME_RANGES = ("short_term", "medium_term", "long_term")


@dataclass(frozen=True)
class User:
    """A Spotify user: the account holder, a friend, or Spotify itself."""

    id: str
    display_name: str


@dataclass(frozen=True)
class Entry:
    """One playlist entry; kind is track, episode, local or null."""

    kind: str
    ref: str | None
    added_at: float | None
    added_by: str | None


@dataclass(frozen=True)
class Playlist:
    """A playlist in the user's library with its entries."""

    id: str
    name: str
    description: str
    kind: str
    owner: User
    public: bool
    entries: tuple[Entry, ...]
    version: int
    entry_field: str
    ref_field: str
    followers: int

    @property
    def collaborative(self) -> bool:
        """Whether others may add to it."""
        return self.kind == "collaborative"

    @property
    def readable(self) -> bool:
        """Whether /items answers for it: owned or collaborative."""
        return self.kind in READABLE_KINDS

    @property
    def snapshot_id(self) -> str:
        """An opaque version tag that changes whenever the entries change."""
        digest = hashlib.sha256(f"{self.id}:{self.version}".encode()).hexdigest()[:32]
        return base64.b64encode(f"{self.version},{digest}".encode()).decode()


@dataclass(frozen=True)
class Play:
    """One listen; context is (type, id) or None."""

    played_at_ms: int
    track_id: str
    context: tuple[str, str] | None


@dataclass(frozen=True)
class SavedTrack:
    """A track in Liked Songs."""

    track_id: str
    added_at: float


@dataclass(frozen=True)
class Account:
    """The account as of `now`; plays are computed on demand."""

    now: float
    user: User
    users: dict[str, User]
    playlists: tuple[Playlist, ...]
    saved: tuple[SavedTrack, ...]
    top: dict[tuple[str, str], tuple[str, ...]]
    world: "World" = field(repr=False)

    def playlist(self, playlist_id: str) -> Playlist | None:
        """The playlist with this ID, if the user has it in the library."""
        return next((p for p in self.playlists if p.id == playlist_id), None)

    @cached_property
    def recent_plays(self) -> tuple[Play, ...]:
        """The newest plays still retrievable, newest first."""
        return self.world.newest_plays(self.now, RETRIEVABLE_PLAYS)

    @cached_property
    def plays(self) -> tuple[Play, ...]:
        """Every play from the start of history up to now, newest first."""
        return self.world.newest_plays(self.now, None)


@dataclass
class _State:
    days: int
    playlists: tuple[Playlist, ...]
    saved: tuple[SavedTrack, ...]


class World:
    """Derives the account at any moment from (seed, scale, start)."""

    def __init__(self, seed: int, scale: Scale, start: float) -> None:
        self.seed, self.scale, self.start = seed, scale, start
        wanted = scale.playlists * scale.entries + 2 * scale.saved_tracks + 100
        self.catalog: Catalog = build_catalog(seed, min(max(300, wanted), MAX_CATALOG_TRACKS))
        self.user = User(f"listener{spotify_id(seed, 'me')[:8].lower()}", "Zoë Ångström")
        friends = ("Jürgen Müller", "林 美咲", "Ana María", "سارة")
        self.friends = [User(f"friend{i}{spotify_id(seed, 'friend', i)[:6].lower()}", n)
                        for i, n in enumerate(friends)]  # fmt: skip
        self.spotify = User("spotify", "Spotify")
        self.users = {u.id: u for u in (self.user, self.spotify, *self.friends)}
        self.day_zero = math.floor(start / DAY) * DAY
        self.history_start = start - scale.history_days * DAY
        self._initial = _State(0, self._initial_playlists(), self._initial_saved())
        self.top = self._top_items()
        self._lock = threading.Lock()
        self._latest = self._initial
        self._play_blocks: dict[int, tuple[Play, ...]] = {}

    def account_at(self, now: float) -> Account:
        """The account as it is at `now`."""
        state = self._state(self._days_visible(now))
        return Account(now, self.user, self.users, state.playlists, state.saved, self.top, self)

    def change_time(self, day: int) -> float:
        """When the changes of UTC day `day` (1 = the day after start's) happen."""
        return self.day_zero + day * DAY + stream(self.seed, "day", day).randrange(3600)

    def _days_visible(self, now: float) -> int:
        days = max(0, math.floor((now - self.day_zero) / DAY))
        return days if days == 0 or self.change_time(days) <= now else days - 1

    def _state(self, days: int) -> _State:
        with self._lock:
            state = self._latest if self._latest.days <= days else self._initial
            while state.days < days:
                state = self._apply_day(state, state.days + 1)
            self._latest = state
            return state

    def _apply_day(self, state: _State, day: int) -> _State:
        rng, when = stream(self.seed, "day", day, "changes"), self.change_time(day)
        owned = [p for p in state.playlists if p.kind == "owned"]
        picked = rng.sample(owned, min(self.scale.changes_per_day, len(owned)))
        changed = {p.id: self._change(p, rng, when) for p in picked}
        playlists = tuple(changed.get(p.id, p) for p in state.playlists)
        saved_ids = {s.track_id for s in state.saved}
        fresh = [t for t in rng.sample(self.catalog.track_ids, 10) if t not in saved_ids]
        new = [SavedTrack(t, when + 60 * i) for i, t in enumerate(fresh[: rng.randint(1, 3)])]
        return _State(day, playlists, (*reversed(new), *state.saved))

    def _change(self, playlist: Playlist, rng: Random, when: float) -> Playlist:
        entries = list(playlist.entries)
        for _ in range(min(rng.randint(1, 2), max(0, len(entries) - 5))):
            entries.pop(rng.randrange(len(entries)))
        for i in range(rng.randint(1, 3)):
            track = rng.choice(self.catalog.track_ids)
            entries.append(Entry("track", track, when + i, self.user.id))
        return replace(playlist, entries=tuple(entries), version=playlist.version + 1)

    def _initial_playlists(self) -> tuple[Playlist, ...]:
        return tuple(self._playlist(i) for i in range(self.scale.playlists))

    def _playlist(self, index: int) -> Playlist:
        rng = stream(self.seed, "playlist", index)
        kind = KINDS[index] if index < len(KINDS) else "owned"
        owner = {"collaborative": self.friends[0], "followed": self.friends[1],
                 "editorial": self.spotify}.get(kind, self.user)  # fmt: skip
        name = PLAYLIST_NAMES[index % len(PLAYLIST_NAMES)]
        if kind == "editorial":
            name, owner = "Top 50 – Global", self.spotify
        elif kind == "old":
            name = "Old Favourites (2009)"
        elif index >= len(PLAYLIST_NAMES):
            name = f"{name} {index // len(PLAYLIST_NAMES) + 1}"
        return Playlist(
            id=self._playlist_id(kind, index),
            name=name,
            description=rng.choice(("", "Songs for later", "Mes chansons préférées 🎶")),
            kind=kind,
            owner=owner,
            public=kind != "collaborative" and rng.random() < 0.7,
            entries=tuple(self._entries(rng, kind, owner, first_owned=index == 0)),
            version=1,
            entry_field=ENTRY_FIELDS[index % 3],
            ref_field=REF_FIELDS[(index // 3) % 3],
            followers=rng.randint(0, 40) if kind != "editorial" else 19_000_000,
        )

    def _playlist_id(self, kind: str, index: int) -> str:
        if kind == "editorial":
            return "37i9dQZF1DX" + spotify_id(self.seed, "playlist", index)[:11]
        return spotify_id(self.seed, "playlist", index)

    def _entries(self, rng: Random, kind: str, owner: User, first_owned: bool) -> list[Entry]:
        count = max(1, self.scale.entries + rng.randint(-self.scale.entries // 10,
                                                        self.scale.entries // 10))  # fmt: skip
        created = self.start - DAY * rng.randint(30, 1000)
        times = sorted(rng.uniform(created, self.start - DAY) for _ in range(count))
        adders = [self.user, *self.friends[:2]] if kind == "collaborative" else [owner]
        entries = [self._random_entry(rng, t, rng.choice(adders).id) for t in times]
        if first_owned:
            self._add_awkward_entries(rng, entries)
        if kind == "old":
            entries = [replace(e, added_at=None, added_by=None) for e in entries]
        return entries

    def _random_entry(self, rng: Random, added_at: float, added_by: str) -> Entry:
        roll = rng.random()
        if roll < 0.02:
            return Entry("null", None, added_at, added_by)
        if roll < 0.04:
            return Entry("episode", rng.choice(list(self.catalog.episodes)), added_at, added_by)
        return Entry("track", rng.choice(self.catalog.track_ids), added_at, added_by)

    def _add_awkward_entries(self, rng: Random, entries: list[Entry]) -> None:
        """Put every awkward kind of entry in one playlist so it exists at any scale."""
        count = len(entries)
        local = LOCAL_FILES[rng.randrange(len(LOCAL_FILES))]
        awkward = {
            count * 1 // 5: ("local", local.uri),
            count * 2 // 5: ("episode", rng.choice(list(self.catalog.episodes))),
            count * 3 // 5: ("null", None),
            count * 4 // 5: ("track", entries[0].ref if entries[0].kind == "track" else None),
        }
        for position, (kind, ref) in awkward.items():
            if kind != "track" or ref is not None:
                entries[position] = replace(entries[position], kind=kind, ref=ref)

    def _initial_saved(self) -> tuple[SavedTrack, ...]:
        rng = stream(self.seed, "saved")
        count = min(self.scale.saved_tracks, len(self.catalog.tracks) // 2)
        track_ids = rng.sample(self.catalog.track_ids, count)
        added_at, saved = self.start - DAY, []
        for track_id in track_ids:
            saved.append(SavedTrack(track_id, added_at))
            added_at -= rng.randint(600, 3 * DAY)
        return tuple(saved)

    def _top_items(self) -> dict[tuple[str, str], tuple[str, ...]]:
        pools = {"artists": list(self.catalog.artists), "tracks": self.catalog.track_ids}
        top = {}
        for kind in TOP_TYPES:
            for time_range in TIME_RANGES:
                rng = stream(self.seed, "top", kind, time_range)
                count = min(self.scale.top_items, len(pools[kind]))
                top[kind, time_range] = tuple(rng.sample(pools[kind], count))
        return top

    def newest_plays(self, now: float, limit: int | None) -> tuple[Play, ...]:
        """Plays at or before `now`, newest first; at most `limit` unless None."""
        now_ms = math.floor(now * 1000)
        plays: list[Play] = []
        block = math.floor((now - self.history_start) / DAY)
        while block >= 0 and (limit is None or len(plays) < limit):
            plays.extend(p for p in reversed(self._plays_in(block)) if p.played_at_ms <= now_ms)
            block -= 1
        return tuple(plays if limit is None else plays[:limit])

    def _plays_in(self, block: int) -> tuple[Play, ...]:
        with self._lock:
            if block not in self._play_blocks:
                self._play_blocks[block] = self._generate_plays(block)
            return self._play_blocks[block]

    def _generate_plays(self, block: int) -> tuple[Play, ...]:
        rng = stream(self.seed, "plays", block)
        begin_ms = math.floor((self.history_start + block * DAY) * 1000)
        offsets = sorted(rng.sample(range(DAY * 1000), self.scale.plays_per_day))
        return tuple(self._play(rng, begin_ms + offset) for offset in offsets)

    def _play(self, rng: Random, played_at_ms: int) -> Play:
        roll = rng.random()
        if roll < 0.4 and self._initial.playlists:
            playlist = rng.choice(self._initial.playlists)
            tracks = [e.ref for e in playlist.entries if e.kind == "track"]
            if tracks:
                return Play(played_at_ms, rng.choice(tracks), ("playlist", playlist.id))
        track = self.catalog.tracks[rng.choice(self.catalog.track_ids)]
        if roll < 0.7:
            return Play(played_at_ms, track.id, ("album", track.album_id))
        if roll < 0.85:
            return Play(played_at_ms, track.id, ("artist", track.artist_ids[0]))
        return Play(played_at_ms, track.id, None)

