"""A user's privacy export, "Extended streaming history", as Spotify sends it.

`export_entries(world, now)` is the account's history as of `now` in the export's shape;
`write_export(world, path, now)` writes it as the zip Spotify mails (both of the first user
of the app; `user_id=` names another):

    Spotify Extended Streaming History/Streaming_History_Audio_<first>-<last>_<n>.json
    Spotify Extended Streaming History/Streaming_History_Video_<first>-<last>.json
    Spotify Extended Streaming History/ReadMeFirst_ExtendedStreamingHistory.pdf

It agrees with what the API serves: each play the API lists (every play since
`start - history_days`) is one entry ending at its `played_at`, rounded up to the second
as the export counts, having played the whole track. Before that come `days` more days of
listening the API never showed. Throughout, the export also holds what only it knows:
skipped plays (under 30 s, which the API does not list), podcast episodes (some of them
video), entries without a URI (content since removed), plays in a private session, and
the personal fields every entry carries (IP address, user agent, username, country).
"""

import json
import math
import zipfile
from collections.abc import Iterator
from pathlib import Path
from random import Random

from emulator.account import DAY, Listener, Play, World
from emulator.ids import iso_seconds

FOLDER = "Spotify Extended Streaming History"
ENTRIES_PER_FILE = 10_000  # Spotify splits the audio history into files of about 12 MB
PLATFORMS = (
    "Android OS 14 API 34 (Google, Pixel 8)",
    "iOS 17.5.1 (iPhone15,3)",
    "windows",
    "web_player linux chrome",
)
STARTS = ("trackdone", "clickrow", "fwdbtn", "playbtn", "appload")
# Per API play, the chance of each entry only the export has, next to it in time.
SKIP, EPISODE, NO_URI, PRIVATE = 0.15, 0.03, 0.01, 0.01
VIDEO = 0.3  # of the episodes, the share that are video podcasts


def export_entries(
    world: World, now: float, *, days: int = 365, per_day: int = 20, user_id: str | None = None
) -> list[dict]:
    """A user's history (the first user's for None) as of `now`, oldest first: the API's plays
    and `days` days of older listening (`per_day` a day), with what only an export holds
    among them."""
    return [entry for _, entry in _history(world.listener(user_id), now, days, per_day)]


def write_export(
    world: World,
    path: Path,
    now: float,
    *,
    days: int = 365,
    per_day: int = 20,
    user_id: str | None = None,
) -> Path:
    """Write the export of `export_entries` as Spotify's zip at `path`; the path."""
    history = _history(world.listener(user_id), now, days, per_day)
    audio = [entry for video, entry in history if not video]
    video = [entry for is_video, entry in history if is_video]
    span = f"{history[0][1]['ts'][:4]}-{history[-1][1]['ts'][:4]}" if history else "empty"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for index in range(max(1, math.ceil(len(audio) / ENTRIES_PER_FILE))):
            part = audio[index * ENTRIES_PER_FILE : (index + 1) * ENTRIES_PER_FILE]
            name = f"{FOLDER}/Streaming_History_Audio_{span}_{index}.json"
            archive.writestr(name, json.dumps(part, ensure_ascii=False, indent=2))
        if video:
            archive.writestr(f"{FOLDER}/Streaming_History_Video_{span}.json", json.dumps(video))
        archive.writestr(f"{FOLDER}/ReadMeFirst_ExtendedStreamingHistory.pdf", b"%PDF-1.4\n")
    return path


def _history(listener: Listener, now: float, days: int, per_day: int) -> list[tuple[bool, dict]]:
    """(whether it is a video podcast's, entry) for each entry, oldest first."""
    api = list(reversed(listener.newest_plays(now, None)))
    history = []
    for play in [*_older_plays(listener, days, per_day), *api]:
        rng = listener.stream("export", play.played_at_ms)
        history += _extras_before(listener, rng, play)
        history.append((False, _entry(listener, rng, play)))
    return history


def _older_plays(listener: Listener, days: int, per_day: int) -> Iterator[Play]:
    """Plays of the `days` days before the API's history starts, oldest first."""
    tracks, history_start = listener.taste.tracks, listener.world.history_start
    for day in range(days, 0, -1):
        rng = listener.stream("export-day", day)
        begin_ms = math.floor((history_start - day * DAY) * 1000)
        for offset in sorted(rng.sample(range(DAY * 1000), per_day)):
            yield Play(begin_ms + offset, rng.choice(tracks), None)


def _entry(listener: Listener, rng: Random, play: Play) -> dict:
    """The export's entry for a play the API lists (or would have): the whole track played,
    ending at its played_at."""
    track = listener.world.catalog.tracks[play.track_id]
    ended = iso_seconds(math.ceil(play.played_at_ms / 1000))
    return _shaped(
        listener, rng, ts=ended, ms_played=track.duration_ms, **_track(listener, track.id),
        reason_start=rng.choice(STARTS), reason_end="trackdone",
    )  # fmt: skip


def _extras_before(listener: Listener, rng: Random, play: Play) -> list[tuple[bool, dict]]:
    """What only the export holds, ending a few minutes before `play` started (with whether
    each is a video podcast's)."""
    catalog, tracks = listener.world.catalog, listener.taste.tracks
    ended = math.floor(play.played_at_ms / 1000) - rng.randint(240, 900)
    extras = []
    if rng.random() < SKIP:
        track = _track(listener, rng.choice(tracks))
        skip = _shaped(
            listener, rng, ts=iso_seconds(ended), ms_played=rng.randint(800, 29_000), **track,
            reason_start="trackdone", reason_end="fwdbtn", skipped=True,
        )  # fmt: skip
        extras.append((False, skip))
    if rng.random() < EPISODE and catalog.episodes:
        episode = catalog.episodes[rng.choice(sorted(catalog.episodes))]
        video = rng.random() < VIDEO
        listened = _shaped(
            listener, rng, ts=iso_seconds(ended - 60),
            ms_played=rng.randint(60_000, episode.duration_ms),
            spotify_episode_uri=f"spotify:episode:{episode.id}", episode_name=episode.name,
            episode_show_name=catalog.shows[episode.show_id].name,
            reason_start="clickrow", reason_end="endplay",
        )  # fmt: skip
        extras.append((video, listened))
    if rng.random() < NO_URI:
        removed = _shaped(listener, rng, ts=iso_seconds(ended - 30),
                          ms_played=rng.randint(0, 200_000))  # fmt: skip
        extras.append((False, removed))
    if rng.random() < PRIVATE:
        track_id = rng.choice(tracks)
        private = _shaped(
            listener, rng, ts=iso_seconds(ended - 20),
            ms_played=catalog.tracks[track_id].duration_ms, **_track(listener, track_id),
            reason_end="trackdone", incognito_mode=True,
        )  # fmt: skip
        extras.append((False, private))
    return extras


def _track(listener: Listener, track_id: str) -> dict:
    """An entry's fields naming a track: its URI, its name, its first artist's and album's."""
    catalog = listener.world.catalog
    track = catalog.tracks[track_id]
    return {
        "spotify_track_uri": f"spotify:track:{track.id}",
        "master_metadata_track_name": track.name,
        "master_metadata_album_artist_name": catalog.artists[track.artist_ids[0]].name,
        "master_metadata_album_album_name": catalog.albums[track.album_id].name,
    }


def _username(listener: Listener) -> str:
    """The export's `username`: the account's Spotify user ID, as Spotify writes it."""
    return listener.user.id


def _shaped(listener: Listener, rng: Random, **fields: object) -> dict:
    """An entry with every field Spotify writes, the personal ones included, in its order."""
    platform = rng.choice(PLATFORMS)
    return {
        "ts": fields["ts"],
        "platform": platform,
        "ms_played": fields["ms_played"],
        "conn_country": rng.choice(("NL", "DE", "SE")),
        "ip_addr": f"92.40.{rng.randrange(256)}.{rng.randrange(256)}",
        "user_agent_decrypted": "unknown" if "web" not in platform else "Mozilla/5.0 (X11)",
        "username": _username(listener),
        "master_metadata_track_name": fields.get("master_metadata_track_name"),
        "master_metadata_album_artist_name": fields.get("master_metadata_album_artist_name"),
        "master_metadata_album_album_name": fields.get("master_metadata_album_album_name"),
        "spotify_track_uri": fields.get("spotify_track_uri"),
        "episode_name": fields.get("episode_name"),
        "episode_show_name": fields.get("episode_show_name"),
        "spotify_episode_uri": fields.get("spotify_episode_uri"),
        "reason_start": fields.get("reason_start", "trackdone"),
        "reason_end": fields.get("reason_end", "endplay"),
        "shuffle": rng.random() < 0.3,
        "skipped": fields.get("skipped", False),
        "offline": rng.random() < 0.05,
        "offline_timestamp": 0,
        "incognito_mode": fields.get("incognito_mode", False),
    }
