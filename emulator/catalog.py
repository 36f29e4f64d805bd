"""The music and podcast catalog behind the account, derived from a seed."""

from dataclasses import dataclass, field
from random import Random
from urllib.parse import quote_plus

from emulator.ids import spotify_id, stream

MARKETS = ("DE", "ES", "FR", "GB", "JP", "MX", "SE", "US")
SPECIAL_ARTISTS = (
    "Beyoncé",
    "Sigur Rós",
    "坂本龍一",
    "فيروز",
    "Mötley Crüe",
    "방탄소년단",
    "עומר אדם",
    "🎧 Lo-Fi Beats",
)
SPECIAL_TRACKS = ("Déjà Vu", "夜に駆ける", "Dancing Queen 💃", "لما بدا يتثنى", "Ça plane pour moi")
WORDS = (
    "Midnight", "Golden", "Echo", "River", "Neon", "Velvet", "Paper", "Silent", "Electric",
    "Summer", "Ghost", "Crystal", "Wild", "Hollow", "Northern", "Lights", "Heart", "City",
    "Dream", "Fire", "Ocean", "Signal", "Morning", "Static",
)  # fmt: skip
UNICODE_WORDS = ("Café", "Señorita", "Über", "夜", "사랑", "Любовь", "حبيبي", "שלום", "🌙", "✨")
GENRES = ("indie pop", "synthwave", "jazz", "k-pop", "bossa nova", "techno", "folk", "metal")
SHOW_NAMES = ("Le Podcast du Matin", "テック・トーク", "History Hour 📻")


@dataclass(frozen=True)
class Artist:
    """An artist; deprecated fields are None when Spotify leaves them out."""

    id: str
    name: str
    popularity: int | None
    followers: int | None
    genres: tuple[str, ...] | None


@dataclass(frozen=True)
class Album:
    """An album and the IDs of its tracks."""

    id: str
    name: str
    album_type: str
    artist_ids: tuple[str, ...]
    release_date: str
    release_date_precision: str
    label: str | None
    popularity: int | None
    has_markets: bool
    upc: str
    track_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Track:
    """A track on an album."""

    id: str
    name: str
    album_id: str
    artist_ids: tuple[str, ...]
    track_number: int
    duration_ms: int
    explicit: bool
    popularity: int | None
    has_markets: bool
    # Track relinking: the ID of the copy Spotify answers in this track's place (its `id`,
    # with this track in `linked_from`); two tracks may share one copy.
    playable_id: str | None
    isrc: str


@dataclass(frozen=True)
class Show:
    """A podcast show."""

    id: str
    name: str
    publisher: str
    episode_ids: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Episode:
    """A podcast episode."""

    id: str
    name: str
    show_id: str
    duration_ms: int
    release_date: str
    release_date_precision: str


@dataclass(frozen=True)
class LocalFile:
    """A file from the user's own disk, added to a playlist."""

    artist: str
    album: str
    title: str
    seconds: int

    @property
    def uri(self) -> str:
        """The spotify:local: URI Spotify gives this file."""
        parts = (self.artist, self.album, self.title)
        return "spotify:local:" + ":".join(quote_plus(p) for p in parts) + f":{self.seconds}"


LOCAL_FILES = (
    LocalFile("Unknown Artist", "Demos", "Garage Session 3", 245),
    LocalFile("Los Niños", "Grabación en Casa", "Canción Perdida", 187),
)


@dataclass
class Catalog:
    """Everything that can be played, keyed by ID."""

    artists: dict[str, Artist]
    albums: dict[str, Album]
    tracks: dict[str, Track]
    shows: dict[str, Show]
    episodes: dict[str, Episode]
    local_files: dict[str, LocalFile]


def _name(rng: Random) -> str:
    words = rng.sample(WORDS, rng.randint(1, 3))
    if rng.random() < 0.15:
        words.insert(rng.randrange(len(words) + 1), rng.choice(UNICODE_WORDS))
    return " ".join(words)


def _release(rng: Random, index: int) -> tuple[str, str]:
    year, month, day = rng.randint(1960, 2025), rng.randint(1, 12), rng.randint(1, 28)
    precision = ("day", "month", "year")[index % 3]
    text = {"year": f"{year}", "month": f"{year}-{month:02d}"}.get(precision)
    return text or f"{year}-{month:02d}-{day:02d}", precision


def _artist(seed: int, index: int, rng: Random) -> Artist:
    name = SPECIAL_ARTISTS[index] if index < len(SPECIAL_ARTISTS) else _name(rng)
    trimmed = index % 4 == 1
    return Artist(
        id=spotify_id(seed, "artist", index),
        name=name,
        popularity=None if index % 6 == 2 else rng.randint(0, 100),
        followers=None if trimmed else rng.randint(0, 5_000_000),
        genres=None if trimmed else tuple(rng.sample(GENRES, rng.randint(0, 2))),
    )


def _album(seed: int, index: int, rng: Random, artist_ids: list[str]) -> Album:
    release_date, precision = _release(rng, index)
    return Album(
        id=spotify_id(seed, "album", index),
        name=_name(rng),
        album_type=rng.choice(("album", "album", "single", "compilation")),
        artist_ids=tuple(rng.sample(artist_ids, rng.randint(1, 3))),
        release_date=release_date,
        release_date_precision=precision,
        label=None if index % 3 == 1 else f"{rng.choice(WORDS)} Records",
        popularity=None if index % 5 == 2 else rng.randint(0, 100),
        has_markets=index % 8 != 5,
        upc=f"{rng.randrange(10**12):012d}",
    )


def _track(seed: int, index: int, rng: Random, album: Album, artist_ids: list[str]) -> Track:
    featured = [a for a in rng.sample(artist_ids, 2) if a not in album.artist_ids]
    name = SPECIAL_TRACKS[index] if index < len(SPECIAL_TRACKS) else _name(rng)
    return Track(
        id=spotify_id(seed, "track", index),
        name=name,
        album_id=album.id,
        artist_ids=(album.artist_ids[0], *featured[: rng.randint(0, 2)]),
        track_number=len(album.track_ids) + 1,
        duration_ms=rng.randint(90_000, 420_000),
        explicit=rng.random() < 0.2,
        popularity=None if index % 5 == 3 else rng.randint(0, 100),
        has_markets=index % 7 != 4,
        playable_id=spotify_id(seed, "playable", index // 26) if index % 13 == 6 else None,
        isrc=f"SE{rng.choice(('A', 'B', 'C'))}{rng.randrange(10**9):09d}",
    )


def _add_artists(catalog: Catalog, seed: int, rng: Random, count: int) -> list[str]:
    """Add `count` artists, numbered on from the catalog's; their IDs."""
    first = len(catalog.artists)
    artists = [_artist(seed, first + i, rng) for i in range(count)]
    catalog.artists.update((a.id, a) for a in artists)
    return [a.id for a in artists]


def _add_albums(
    catalog: Catalog, seed: int, rng: Random, artist_ids: list[str], track_count: int
) -> list[str]:
    """Add albums by `artist_ids` until they hold `track_count` tracks; the tracks' IDs."""
    added: list[str] = []
    while len(added) < track_count:
        album = _album(seed, len(catalog.albums), rng, artist_ids)
        catalog.albums[album.id] = album
        for _ in range(min(rng.randint(1, 12), track_count - len(added))):
            track = _track(seed, len(catalog.tracks), rng, album, artist_ids)
            album.track_ids.append(track.id)
            catalog.tracks[track.id] = track
            added.append(track.id)
    return added


def _podcasts(seed: int) -> tuple[dict, dict]:
    rng = stream(seed, "podcasts")
    shows, episodes = {}, {}
    for s, name in enumerate(SHOW_NAMES):
        show = Show(spotify_id(seed, "show", s), name, f"{rng.choice(WORDS)} Media")
        for e in range(8):
            release_date, precision = _release(rng, e)
            episode = Episode(
                id=spotify_id(seed, "episode", s, e),
                name=f"{name} #{e + 1}: {_name(rng)}",
                show_id=show.id,
                duration_ms=rng.randint(600_000, 5_400_000),
                release_date=release_date,
                release_date_precision=precision,
            )
            show.episode_ids.append(episode.id)
            episodes[episode.id] = episode
        shows[show.id] = show
    return shows, episodes


def build_catalog(seed: int, track_count: int) -> Catalog:
    """Build the catalog for `seed` with `track_count` tracks."""
    shows, episodes = _podcasts(seed)
    local_files = {local.uri: local for local in LOCAL_FILES}
    catalog = Catalog({}, {}, {}, shows, episodes, local_files)
    rng = stream(seed, "catalog")
    artist_ids = _add_artists(catalog, seed, rng, max(8, track_count // 6))
    _add_albums(catalog, seed, rng, artist_ids, track_count)
    return catalog


def add_music(
    catalog: Catalog, seed: int, key: object, artist_count: int, track_count: int
) -> tuple[list[str], list[str]]:
    """Add `artist_count` new artists and `track_count` tracks on albums by them alone to
    the catalog, drawn from the stream `key` names; the new artists' and tracks' IDs.

    Numbering goes on from the catalog's, so IDs never collide and what was there before
    stays as it was."""
    rng = stream(seed, "catalog", key)
    artist_ids = _add_artists(catalog, seed, rng, max(3, artist_count))
    return artist_ids, _add_albums(catalog, seed, rng, artist_ids, track_count)
