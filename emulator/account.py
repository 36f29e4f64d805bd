"""The emulated accounts, one per user of the app: pure functions of (seed, scale, start,
now). The first user's account is the same however many users there are."""

import base64
import hashlib
import math
import threading
from dataclasses import dataclass, field, replace
from functools import cached_property
from random import Random

from emulator.catalog import LOCAL_FILES, Catalog, add_music, build_catalog
from emulator.config import Scale
from emulator.ids import spotify_id, stream

DAY = 86_400
RETRIEVABLE_PLAYS = 50
MAX_USERS = 5  # a Development Mode app serves at most five users
LISTENER_NAMES = ("Zoë Ångström", "Håkon Ødegård", "Nguyễn Thu Hà", "Chloé Lefèvre", "Ömer Çelik")
OWN_ARTISTS = 4  # artists a later user listens to and no other user does
MAX_CATALOG_TRACKS = 20_000  # large scales repeat tracks rather than grow the catalog
KINDS = ("owned", "collaborative", "followed", "editorial", "old")
SHARED_KINDS = frozenset({"collaborative", "editorial"})  # one playlist in every library
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
    """A Spotify user: a user of the app, a friend, or Spotify itself."""

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
        return self.world.newest_plays(self.now, RETRIEVABLE_PLAYS, self.user.id)

    @cached_property
    def plays(self) -> tuple[Play, ...]:
        """Every play from the start of history up to now, newest first."""
        return self.world.newest_plays(self.now, None, self.user.id)


@dataclass
class _State:
    days: int
    playlists: tuple[Playlist, ...]
    saved: tuple[SavedTrack, ...]


@dataclass(frozen=True)
class Taste:
    """What a user listens to: the tracks their library and plays are drawn from, and the
    artists their top artists are."""

    tracks: list[str]
    artists: list[str]

    @cached_property
    def liked(self) -> frozenset[str]:
        """The tracks, for telling whether one is among them."""
        return frozenset(self.tracks)


def _stream_parts(seed: int, index: int, *parts: object) -> tuple[object, ...]:
    """The first user draws from the streams the emulator had before it had several users,
    so that their account stays as it was; later users draw from streams of their own."""
    return (seed, *parts) if index == 0 else (seed, "listener", index, *parts)


class World:
    """The catalog, the people around the app's users, and every user's account at any
    moment, derived from (seed, scale, start, users)."""

    def __init__(self, seed: int, scale: Scale, start: float, users: int = 1) -> None:
        if not 1 <= users <= MAX_USERS:
            raise ValueError(f"users must be 1 to {MAX_USERS}: a Development Mode app "
                             f"serves at most {MAX_USERS}")  # fmt: skip
        self.seed, self.scale, self.start = seed, scale, start
        wanted = scale.playlists * scale.entries + 2 * scale.saved_tracks + 100
        self.catalog: Catalog = build_catalog(seed, min(max(300, wanted), MAX_CATALOG_TRACKS))
        friends = ("Jürgen Müller", "林 美咲", "Ana María", "سارة")
        self.friends = [User(f"friend{i}{spotify_id(seed, 'friend', i)[:6].lower()}", n)
                        for i, n in enumerate(friends)]  # fmt: skip
        self.spotify = User("spotify", "Spotify")
        self.day_zero = math.floor(start / DAY) * DAY
        self.history_start = start - scale.history_days * DAY
        everything = Taste(list(self.catalog.tracks), list(self.catalog.artists))
        self.listeners: list[Listener] = []
        for index in range(users):  # in order: a later user follows an earlier one's playlist
            taste = everything if index == 0 else self._taste(index, everything)
            self.listeners.append(Listener(self, index, taste))
        self.user = self.listeners[0].user
        later = (listener.user for listener in self.listeners[1:])
        self.users = {u.id: u for u in (self.user, self.spotify, *self.friends, *later)}

    def _taste(self, index: int, everything: Taste) -> Taste:
        """A later user's share of the catalog: half the artists the first user does not
        keep to themselves, and a few artists of their own, added to the catalog for them."""
        tracks = self.catalog.tracks
        leads = list(dict.fromkeys(tracks[t].artist_ids[0] for t in everything.tracks))
        shared = leads[len(leads) // 5 :]  # the first fifth are the first user's alone
        rng = stream(*_stream_parts(self.seed, index, "taste"))
        liked = set(rng.sample(shared, len(shared) // 2))
        own_count = max(24, len(everything.tracks) // 10)
        own_artists, own_tracks = add_music(self.catalog, self.seed, ("listener", index),
                                            OWN_ARTISTS, own_count)  # fmt: skip
        picked = [t for t in everything.tracks if tracks[t].artist_ids[0] in liked]
        return Taste([*picked, *own_tracks], [*(a for a in leads if a in liked), *own_artists])

    def listener(self, user_id: str | None = None) -> "Listener":
        """The user of the app with this ID; the first one for None."""
        if user_id is None:
            return self.listeners[0]
        found = self.listener_of(user_id)
        if found is None:
            known = ", ".join(listener.user.id for listener in self.listeners)
            raise ValueError(f"no user {user_id!r}: the users are {known}")
        return found

    def listener_of(self, user_id: str) -> "Listener | None":
        """The user of the app with this ID, if it is one (a friend or Spotify is not)."""
        return next((lr for lr in self.listeners if lr.user.id == user_id), None)

    def account_at(self, now: float, user_id: str | None = None) -> Account:
        """A user's account (the first user's for None) as it is at `now`."""
        return self.listener(user_id).account_at(now)

    def newest_plays(
        self, now: float, limit: int | None, user_id: str | None = None
    ) -> tuple[Play, ...]:
        """A user's plays at or before `now`, newest first; at most `limit` unless None."""
        return self.listener(user_id).newest_plays(now, limit)

    def change_time(self, day: int) -> float:
        """When the changes of UTC day `day` (1 = the day after start's) happen."""
        return self.day_zero + day * DAY + stream(self.seed, "day", day).randrange(3600)

    def days_visible(self, now: float) -> int:
        """How many days of changes have happened by `now`."""
        days = max(0, math.floor((now - self.day_zero) / DAY))
        return days if days == 0 or self.change_time(days) <= now else days - 1


class Listener:
    """One user of the app: their library and plays, derived from the world and their taste."""

    def __init__(self, world: World, index: int, taste: Taste) -> None:
        self.world, self.index, self.taste = world, index, taste
        self.user = User(f"listener{spotify_id(*self._parts('me'))[:8].lower()}",
                         LISTENER_NAMES[index])  # fmt: skip
        self.initial = _State(0, self._initial_playlists(), self._initial_saved())
        self.top = self._top_items()
        self._lock = threading.Lock()
        self._latest = self.initial
        self._play_blocks: dict[int, tuple[Play, ...]] = {}

    def _parts(self, *parts: object) -> tuple[object, ...]:
        return _stream_parts(self.world.seed, self.index, *parts)

    def stream(self, *parts: object) -> Random:
        """This user's random stream named by `parts`."""
        return stream(*self._parts(*parts))

    def account_at(self, now: float) -> Account:
        """The account as it is at `now`."""
        days = self.world.days_visible(now)
        state = self.state(days)
        playlists = tuple(self._as_its_owner_has_it(p, days) for p in state.playlists)
        return Account(now, self.user, self.world.users, playlists, state.saved, self.top,
                       self.world)  # fmt: skip

    def state(self, days: int) -> _State:
        """The library after `days` days of changes."""
        with self._lock:
            state = self._latest if self._latest.days <= days else self.initial
            while state.days < days:
                state = self._apply_day(state, state.days + 1)
            self._latest = state
            return state

    def _as_its_owner_has_it(self, playlist: Playlist, days: int) -> Playlist:
        """A playlist another user of the app owns changes in their library, not this one's."""
        owner = self.world.listener_of(playlist.owner.id) if playlist.kind == "followed" else None
        if owner is None:
            return playlist
        current = next(p for p in owner.state(days).playlists if p.id == playlist.id)
        return replace(current, kind=playlist.kind)

    def _apply_day(self, state: _State, day: int) -> _State:
        rng, when = self.stream("day", day, "changes"), self.world.change_time(day)
        owned = [p for p in state.playlists if p.kind == "owned"]
        picked = rng.sample(owned, min(self.world.scale.changes_per_day, len(owned)))
        changed = {p.id: self._change(p, rng, when) for p in picked}
        playlists = tuple(changed.get(p.id, p) for p in state.playlists)
        saved_ids = {s.track_id for s in state.saved}
        candidates = rng.sample(self.taste.tracks, min(10, len(self.taste.tracks)))
        fresh = [t for t in candidates if t not in saved_ids]
        new = [SavedTrack(t, when + 60 * i) for i, t in enumerate(fresh[: rng.randint(1, 3)])]
        return _State(day, playlists, (*reversed(new), *state.saved))

    def _change(self, playlist: Playlist, rng: Random, when: float) -> Playlist:
        entries = list(playlist.entries)
        for _ in range(min(rng.randint(1, 2), max(0, len(entries) - 5))):
            entries.pop(rng.randrange(len(entries)))
        for i in range(rng.randint(1, 3)):
            track = rng.choice(self.taste.tracks)
            entries.append(Entry("track", track, when + i, self.user.id))
        return replace(playlist, entries=tuple(entries), version=playlist.version + 1)

    def _initial_playlists(self) -> tuple[Playlist, ...]:
        return tuple(self._playlist(i) for i in range(self.world.scale.playlists))

    def _playlist(self, index: int) -> Playlist:
        """The first user's library as it always was; a later user shares its collaborative
        and editorial playlists and follows a public playlist of the user before."""
        kind = KINDS[index] if index < len(KINDS) else "owned"
        if self.index > 0 and kind in SHARED_KINDS:
            return self.world.listeners[0].initial.playlists[index]
        if self.index > 0 and kind == "followed":
            before = self.world.listeners[self.index - 1].initial.playlists
            public = [p for p in before if p.kind == "owned" and p.public]
            if public:
                return replace(public[0], kind="followed")
        return self._new_playlist(index, kind)

    def _new_playlist(self, index: int, kind: str) -> Playlist:
        rng = self.stream("playlist", index)
        owner = {"collaborative": self.world.friends[0], "followed": self.world.friends[1],
                 "editorial": self.world.spotify}.get(kind, self.user)  # fmt: skip
        name = PLAYLIST_NAMES[index % len(PLAYLIST_NAMES)]
        if kind == "editorial":
            name = "Top 50 – Global"
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
            return "37i9dQZF1DX" + spotify_id(*self._parts("playlist", index))[:11]
        return spotify_id(*self._parts("playlist", index))

    def _entries(self, rng: Random, kind: str, owner: User, first_owned: bool) -> list[Entry]:
        scale, start = self.world.scale, self.world.start
        count = max(1, scale.entries + rng.randint(-scale.entries // 10, scale.entries // 10))
        created = start - DAY * rng.randint(30, 1000)
        times = sorted(rng.uniform(created, start - DAY) for _ in range(count))
        adders = [self.user, *self.world.friends[:2]] if kind == "collaborative" else [owner]
        entries = [self._random_entry(rng, t, rng.choice(adders).id) for t in times]
        if first_owned:
            self._add_awkward_entries(rng, entries)
        if kind == "old":
            entries = [replace(e, added_at=None, added_by=None) for e in entries]
        return entries

    def _random_entry(self, rng: Random, added_at: float, added_by: str) -> Entry:
        roll, episodes = rng.random(), self.world.catalog.episodes
        if roll < 0.02:
            return Entry("null", None, added_at, added_by)
        if roll < 0.04:
            return Entry("episode", rng.choice(list(episodes)), added_at, added_by)
        return Entry("track", rng.choice(self.taste.tracks), added_at, added_by)

    def _add_awkward_entries(self, rng: Random, entries: list[Entry]) -> None:
        """Put every awkward kind of entry in one playlist so it exists at any scale."""
        count = len(entries)
        local = LOCAL_FILES[rng.randrange(len(LOCAL_FILES))]
        awkward = {
            count * 1 // 5: ("local", local.uri),
            count * 2 // 5: ("episode", rng.choice(list(self.world.catalog.episodes))),
            count * 3 // 5: ("null", None),
            count * 4 // 5: ("track", entries[0].ref if entries[0].kind == "track" else None),
        }
        for position, (kind, ref) in awkward.items():
            if kind != "track" or ref is not None:
                entries[position] = replace(entries[position], kind=kind, ref=ref)

    def _initial_saved(self) -> tuple[SavedTrack, ...]:
        rng = self.stream("saved")
        count = min(self.world.scale.saved_tracks, len(self.taste.tracks) // 2)
        track_ids = rng.sample(self.taste.tracks, count)
        added_at, saved = self.world.start - DAY, []
        for track_id in track_ids:
            saved.append(SavedTrack(track_id, added_at))
            added_at -= rng.randint(600, 3 * DAY)
        return tuple(saved)

    def _top_items(self) -> dict[tuple[str, str], tuple[str, ...]]:
        pools = {"artists": self.taste.artists, "tracks": self.taste.tracks}
        top = {}
        for kind in TOP_TYPES:
            for time_range in TIME_RANGES:
                rng = self.stream("top", kind, time_range)
                count = min(self.world.scale.top_items, len(pools[kind]))
                top[kind, time_range] = tuple(rng.sample(pools[kind], count))
        return top

    def newest_plays(self, now: float, limit: int | None) -> tuple[Play, ...]:
        """Plays at or before `now`, newest first; at most `limit` unless None."""
        now_ms = math.floor(now * 1000)
        plays: list[Play] = []
        block = math.floor((now - self.world.history_start) / DAY)
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
        rng = self.stream("plays", block)
        begin_ms = math.floor((self.world.history_start + block * DAY) * 1000)
        offsets = sorted(rng.sample(range(DAY * 1000), self.world.scale.plays_per_day))
        return tuple(self._play(rng, begin_ms + offset) for offset in offsets)

    def _play(self, rng: Random, played_at_ms: int) -> Play:
        """A play from a playlist in the library (of the tracks in this user's taste, so
        that another's playlist does not make their artists this user's), an album, an
        artist, or no context."""
        roll, catalog = rng.random(), self.world.catalog
        if roll < 0.4 and self.initial.playlists:
            playlist = rng.choice(self.initial.playlists)
            tracks = [e.ref for e in playlist.entries
                      if e.kind == "track" and e.ref in self.taste.liked]  # fmt: skip
            if tracks:
                return Play(played_at_ms, rng.choice(tracks), ("playlist", playlist.id))
        track = catalog.tracks[rng.choice(self.taste.tracks)]
        if roll < 0.7:
            return Play(played_at_ms, track.id, ("album", track.album_id))
        if roll < 0.85:
            return Play(played_at_ms, track.id, ("artist", track.artist_ids[0]))
        return Play(played_at_ms, track.id, None)
