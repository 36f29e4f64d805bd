"""Generated listening histories and SPEC §10's analyses recounted from them in plain Python.

A history is a privacy export's entries over thirteen months, then three weeks of plays only
the API saw, with the catalog those weeks fetched. `History.generate(seed)` draws the random
days around what the definitions turn on:

- a session across midnight (and a month's end), 30 June 2025 23:40 on;
- on 10 August 2025 two plays exactly 30 minutes apart (one session at the default gap) and
  two 30 minutes and a millisecond apart (two sessions);
- skips (an entry under 30 s is a play but no stream) and podcast episodes;
- plays the API saw without `ms_played` (their length is the track's), one of a track no
  catalog row describes (its length unknown, its artist too);
- streaks across a year's end (2024 into 2025), a month's end (January into February 2026)
  and from the export's days into the API's;
- Nova, an artist the export names (x1) before the catalog knows it by ID (t2, a2, which
  only the API plays); two
  catalogued artists called Twin, whose name alone identifies neither; y1, an imported track
  the catalog came to know, its export naming its artist otherwise;
- favourites of the first months (x5, t4) never streamed again, and artists found later (x6
  from March 2025, x7 from the middle of September).

`Recount` answers each query from the same entries, API plays and catalog, following SPEC
§10's words, not the SQL.
"""

from __future__ import annotations

import json
import random
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from chalicelib import pipeline
from chalicelib.lake import LocalLake
from chalicelib.settings import Settings
from tests.history.exports import export_entry
from tests.query.conftest import LISTENER, write_rows

EXPORT_FROM = date(2024, 12, 20)
API_FROM = date(2026, 1, 16)
API_TO = date(2026, 2, 5)
STREAM_MS = 30_000
ARTISTS = {"a1": "Alpha", "a2": "Nova", "a3": "Twin", "a4": "Twin", "a5": "Echo"}
# Catalogued tracks: name, length and credited artists in order.
CATALOGUED: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "t1": ("One", 180_000, ("a1", "a5")),
    "t2": ("Two", 240_000, ("a2",)),
    "t3": ("Three", 200_000, ("a3",)),
    "t4": ("Four", 150_000, ("a4", "a1")),
    "t5": ("Five", 210_000, ("a5",)),
    "y1": ("Late One", 190_000, ("a5",)),
}
# What the export says of a track: its name and its artist's name.
EXPORT_NAMES = {
    **{track: (name, ARTISTS[credits[0]]) for track, (name, _, credits) in CATALOGUED.items()},
    "y1": ("Late One (Remaster)", "Echo & Friends"),
    "x1": ("Nova Song", "Nova"),
    "x2": ("Twin Song", "Twin"),
    "x3": ("Garage", "Unsigned"),
    "x4": ("Demo", "Unsigned"),
    "x5": ("B-side", "Forgotten Band"),
    "x6": ("Spring", "Late Bloomer"),
    "x7": ("Leaves", "Autumn Band"),
}
UNCATALOGUED_MS = {"x1": 220_000, "x2": 170_000, "x3": 260_000, "x4": 140_000, "x5": 200_000,
                   "x6": 230_000, "x7": 180_000}  # fmt: skip
FAVOURITES_UNTIL = date(2025, 5, 1)  # x5 and t4 are streamed before this day only
FOUND_LATER = {"x6": date(2025, 3, 1), "x7": date(2025, 9, 15)}  # streamed from these days
EPISODES = {"e1": 1_500_000, "e2": 2_400_000}
UNKNOWN = "u1"  # played by the API, described by no catalog row
API_TRACKS = ("t1", "t2", "t3", "t5", "y1", UNKNOWN)
EVERY_DAY = [(date(2024, 12, 26), date(2025, 1, 4)), (date(2026, 1, 10), date(2026, 1, 15))]
FIXED_DAYS = {date(2025, 6, 30), date(2025, 7, 1), date(2025, 8, 10)}


@dataclass(frozen=True)
class Play:
    """A row of plays as the recount sees it: when it ended and what the source says."""

    end: datetime
    source: str
    track_id: str | None
    episode_id: str | None = None
    ms_played: int | None = None
    export_track: str | None = None
    export_artist: str | None = None

    @property
    def day(self) -> str:
        return self.end.date().isoformat()

    @property
    def stream(self) -> bool:
        return self.source != "export" or (self.ms_played or 0) >= STREAM_MS


@dataclass
class History:
    """Export entries, the API's plays (end, track) and the catalog."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    api_plays: list[tuple[datetime, str]] = field(default_factory=list)

    @classmethod
    def generate(cls, seed: int) -> History:
        rng = random.Random(seed)
        history = cls()
        day = EXPORT_FROM
        while day < API_FROM:
            if day not in FIXED_DAYS and day + timedelta(days=1) not in FIXED_DAYS:
                every = any(first <= day <= last for first, last in EVERY_DAY)
                if every or rng.random() < 0.6:
                    history._export_day(rng, day, every)
            day += timedelta(days=1)
        history._fixed()
        cut = datetime.combine(API_FROM, datetime.min.time())
        history.entries = [e for e in history.entries if _ended(e) < cut]
        day = API_FROM
        while day <= API_TO:
            history._api_day(rng, day)
            day += timedelta(days=1)
        last = datetime.combine(API_TO + timedelta(days=1), datetime.min.time())
        history.api_plays = [(at, track) for at, track in history.api_plays if at < last]
        return history

    def _export_day(self, rng: random.Random, day: date, every: bool) -> None:
        for session in range(rng.randint(1, 3)):
            end = datetime.combine(day, datetime.min.time()) + timedelta(
                hours=rng.randint(6, 20), minutes=rng.randint(0, 59), seconds=rng.randint(0, 59)
            )
            for number in range(rng.randint(1, 7)):
                item = self._pick(rng, day)
                full = EPISODES.get(item) or UNCATALOGUED_MS.get(item) or CATALOGUED[item][1]
                whole = (every and session == number == 0) or rng.random() > 0.15
                ms = rng.randint(STREAM_MS, full) if whole else rng.randint(0, STREAM_MS - 1)
                end += timedelta(milliseconds=ms) + _pause(rng)
                end = end.replace(microsecond=0)  # an export counts seconds
                self._entry(end, item, ms)
            if end.date() > day:
                break

    def _pick(self, rng: random.Random, day: date) -> str:
        if rng.random() < 0.08:
            return rng.choice(sorted(EPISODES))
        if day < FAVOURITES_UNTIL and rng.random() < 0.4:
            return rng.choice(("x5", "t4"))
        later = {track for track, found in FOUND_LATER.items() if day < found}
        pool = [track for track in EXPORT_NAMES if track not in {"x5", "t4", "t2", *later}]
        return rng.choice(pool)

    def _entry(self, end: datetime, item: str, ms: int) -> None:
        ts = end.strftime("%Y-%m-%dT%H:%M:%SZ")
        if item in EPISODES:
            self.entries.append(
                export_entry(
                    ts,
                    None,
                    ms,
                    spotify_episode_uri=f"spotify:episode:{item}",
                    master_metadata_track_name=None,
                    master_metadata_album_artist_name=None,
                    master_metadata_album_album_name=None,
                    episode_name=f"Episode {item}",
                    episode_show_name="A Show",
                )
            )
            return
        track, artist = EXPORT_NAMES[item]
        self.entries.append(
            export_entry(
                ts,
                item,
                ms,
                master_metadata_track_name=track,
                master_metadata_album_artist_name=artist,
            )
        )

    def _fixed(self) -> None:
        """The session across midnight, and the two pauses at and just past 30 minutes."""
        end = datetime(2025, 6, 30, 23, 40)
        for item, ms in (("t1", 180_000), ("x1", 220_000), ("e1", 900_000), ("t3", 12_000)):
            end += timedelta(milliseconds=ms, seconds=20)
            self._entry(end.replace(microsecond=0), item, ms)
        first = datetime(2025, 8, 10, 10, 0)
        self._entry(first, "t5", 210_000)
        at_gap = first + timedelta(minutes=30, milliseconds=200_000)
        self._entry(at_gap, "x3", 200_000)
        past_gap = at_gap + timedelta(minutes=30, seconds=181)
        self._entry(past_gap, "x4", 180_999)  # starts 30 min and 1 ms after the one before

    def _api_day(self, rng: random.Random, day: date) -> None:
        for _ in range(rng.randint(1, 2)):
            at = datetime.combine(day, datetime.min.time()) + timedelta(
                hours=rng.randint(0, 20),
                minutes=rng.randint(0, 59),
                milliseconds=rng.randint(0, 999),
            )
            for _ in range(rng.randint(1, 6)):
                track = rng.choice(API_TRACKS)
                length = CATALOGUED[track][1] if track in CATALOGUED else 200_000
                at += timedelta(milliseconds=length) + _pause(rng)
                self.api_plays.append((at, track))

    def plays(self) -> list[Play]:
        """Every play the lake holds, as the import and the API's transform make them."""
        imported = [
            Play(
                end=_ended(entry),
                source="export",
                track_id=_id(entry["spotify_track_uri"]),
                episode_id=_id(entry["spotify_episode_uri"]),
                ms_played=entry["ms_played"],
                export_track=entry["master_metadata_track_name"],
                export_artist=entry["master_metadata_album_artist_name"],
            )
            for entry in self.entries
        ]
        return imported + [Play(end=at, source="api", track_id=t) for at, t in self.api_plays]

    def fill(self, lake: LocalLake, scratch: Path) -> None:
        """The lake holding this history: its export imported by the import, its API days and
        their catalog written as the transform writes them."""
        settings = Settings.from_env({"LAKE_URI": str(lake.root)})
        export = self.write_export(scratch / "export.zip")
        record = pipeline.import_history(settings, export, account=LISTENER)
        assert record.status == "transformed", record.errors
        for day, rows in self.api_days().items():
            write_rows(lake, "plays", day, rows)
        for day, tables in self.catalog_days().items():
            for name, rows in tables.items():
                write_rows(lake, name, day, rows)

    def write_export(self, path: Path) -> Path:
        with zipfile.ZipFile(path, "w") as archive:
            name = "Spotify Extended Streaming History/Streaming_History_Audio_2024-2026.json"
            archive.writestr(name, json.dumps(self.entries))
        return path

    def api_days(self) -> dict[str, list[dict[str, Any]]]:
        """The API's plays by day, as rows of plays."""
        days: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for at, track in self.api_plays:
            days[at.date().isoformat()].append(
                {
                    "played_at": at,
                    "track_id": track,
                    "context_type": "playlist",
                    "context_uri": "spotify:playlist:p1",
                    "source": "api",
                }
            )
        return days

    def catalog_days(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """Each API day's catalog rows, all `played`: the tracks its plays reference, and on
        the first day every catalogued track (the imported ones fetched through the budget)."""
        days: dict[str, set[str]] = defaultdict(set)
        for at, track in self.api_plays:
            if track in CATALOGUED:
                days[at.date().isoformat()].add(track)
        days[API_FROM.isoformat()] |= set(CATALOGUED)
        return {day: _catalog_rows(sorted(tracks)) for day, tracks in days.items()}


def _catalog_rows(tracks: list[str]) -> dict[str, list[dict[str, Any]]]:
    credits = [
        {"track_id": t, "artist_id": a, "artist_position": n, "played": True}
        for t in tracks
        for n, a in enumerate(CATALOGUED[t][2])
    ]
    artists = sorted({credit["artist_id"] for credit in credits})
    return {
        "tracks": [
            {
                "track_id": t,
                "name": CATALOGUED[t][0],
                "album_id": "al1",
                "duration_ms": CATALOGUED[t][1],
                "played": True,
            }
            for t in tracks
        ],
        "track_artists": credits,
        "artists": [{"artist_id": a, "name": ARTISTS[a], "played": True} for a in artists],
    }


def _pause(rng: random.Random) -> timedelta:
    """The pause before the next play: none, seconds, minutes, or about half an hour."""
    kind = rng.choices(("none", "seconds", "minutes", "long"), weights=(5, 3, 2, 1))[0]
    seconds = {"none": 0, "seconds": rng.randint(1, 120), "minutes": rng.randint(300, 1500)}
    return timedelta(seconds=seconds.get(kind, rng.randint(1700, 1900)))


def _ended(entry: dict[str, Any]) -> datetime:
    return datetime.strptime(entry["ts"], "%Y-%m-%dT%H:%M:%SZ")


def _id(uri: str | None) -> str | None:
    return uri.rsplit(":", 1)[1] if uri else None


class Recount:
    """SPEC §10's analyses over a history's plays, with the catalog's lengths and credits."""

    def __init__(self, history: History):
        self.plays = history.plays()
        self.lengths = {track: length for track, (_, length, _) in CATALOGUED.items()}
        named = defaultdict(list)
        for artist, name in ARTISTS.items():
            named[name].append(artist)
        self.by_name = {name: ids[0] for name, ids in named.items() if len(ids) == 1}

    def listened_ms(self, play: Play) -> int | None:
        if play.ms_played is not None:
            return play.ms_played
        return self.lengths.get(play.track_id or "")

    def start(self, play: Play) -> datetime:
        return play.end - timedelta(milliseconds=self.listened_ms(play) or 0)

    def artist(self, play: Play) -> tuple[str | None, str | None] | None:
        """(artist ID, None) or (None, the export's name); None when neither is known."""
        if play.track_id in CATALOGUED:
            return CATALOGUED[play.track_id][2][0], None
        if play.export_artist in self.by_name:
            return self.by_name[play.export_artist], None
        if play.export_artist:
            return None, play.export_artist
        return None

    def between(self, start: str, end: str) -> list[Play]:
        return [play for play in self.plays if start <= play.day <= end]

    def listening_sessions(self, start: str, end: str, gap_minutes: int) -> list[dict]:
        sessions: list[dict] = []
        latest: datetime | None = None
        for play in sorted(self.between(start, end), key=lambda p: (self.start(p), p.end)):
            began = self.start(play)
            if latest is None or began - latest > timedelta(minutes=gap_minutes):
                sessions.append(
                    {"session_start": began, "session_end": play.end, "plays": 0, "ms": 0}
                )
            session = sessions[-1]
            session["session_end"] = max(session["session_end"], play.end)
            session["plays"] += 1
            session["ms"] += self.listened_ms(play) or 0
            latest = play.end if latest is None else max(latest, play.end)
        sessions.sort(key=lambda s: (-s["ms"], s["session_start"]))
        return [
            {**{k: v for k, v in s.items() if k != "ms"}, "minutes": s["ms"] / 60_000}
            for s in sessions
        ]

    def listening_streaks(self, start: str, end: str) -> list[dict]:
        streams: dict[date, int] = defaultdict(int)
        for play in self.between(start, end):
            if play.stream:
                streams[play.end.date()] += 1
        streaks: list[dict] = []
        for day in sorted(streams):
            if streaks and streaks[-1]["last_day"] == day - timedelta(days=1):
                streaks[-1]["last_day"] = day
                streaks[-1]["days"] += 1
                streaks[-1]["streams"] += streams[day]
            else:
                streaks.append(
                    {"first_day": day, "last_day": day, "days": 1, "streams": streams[day]}
                )
        return sorted(streaks, key=lambda s: (-s["days"], -s["last_day"].toordinal()))

    def _track_streams(self, end: str) -> list[Play]:
        return [p for p in self.plays if p.day <= end and p.track_id and p.stream]

    def _first_days(self, end: str) -> dict[tuple, str]:
        first: dict[tuple, str] = {}
        for play in self._track_streams(end):
            artist = self.artist(play)
            if artist is not None:
                first[artist] = min(first.get(artist, play.day), play.day)
        return first

    def discovery(self, start: str, end: str) -> list[dict]:
        first = self._first_days(end)
        months: dict[str, dict] = {}
        for play in self._track_streams(end):
            if play.day < start:
                continue
            month = months.setdefault(
                play.day[:7], {"streams": 0, "artists": set(), "new": set(), "new_streams": 0}
            )
            month["streams"] += 1
            artist = self.artist(play)
            if artist is None:
                continue
            month["artists"].add(artist)
            if first[artist][:7] == play.day[:7]:
                month["new"].add(artist)
                month["new_streams"] += 1
        return [
            {
                "month": name,
                "streams": m["streams"],
                "artists": len(m["artists"]),
                "new_artists": len(m["new"]),
                "new_artist_streams": m["new_streams"],
            }
            for name, m in sorted(months.items())
        ]

    def new_artists(self, start: str, end: str) -> list[dict]:
        first = self._first_days(end)
        streams: dict[tuple, int] = defaultdict(int)
        for play in self._track_streams(end):
            artist = self.artist(play)
            if artist is not None and first[artist] >= start:
                streams[artist] += 1
        ranked = sorted(streams, key=lambda a: (-streams[a], first[a], a[0] or a[1]))
        return [
            {
                "rank": rank,
                "artist_id": a[0],
                "artist_name": ARTISTS[a[0]] if a[0] else a[1],
                "first_streamed": date.fromisoformat(first[a]),
                "streams": streams[a],
            }
            for rank, a in enumerate(ranked, start=1)
        ]

    def forgotten_favourites(self, as_of: str, quiet_days: int, min_streams: int) -> list[dict]:
        cutoff = (date.fromisoformat(as_of) - timedelta(days=quiet_days)).isoformat()
        earlier: dict[str, list[Play]] = defaultdict(list)
        lately = set()
        for play in self._track_streams(as_of):
            if play.day <= cutoff:
                earlier[play.track_id or ""].append(play)
            else:
                lately.add(play.track_id)
        rows = []
        for track, plays in earlier.items():
            if track in lately or len(plays) < min_streams:
                continue
            catalogued = CATALOGUED.get(track)
            rows.append(
                {
                    "track_id": track,
                    "track": catalogued[0] if catalogued else plays[0].export_track,
                    "artist": ARTISTS[catalogued[2][0]] if catalogued else plays[0].export_artist,
                    "streams": len(plays),
                    "last_streamed": date.fromisoformat(max(p.day for p in plays)),
                }
            )
        rows.sort(key=lambda r: r["track_id"])
        rows.sort(key=lambda r: r["last_streamed"], reverse=True)
        return sorted(rows, key=lambda r: -r["streams"])

    def listening_summary(self, start: str, end: str) -> list[dict]:
        plays = self.between(start, end)
        if not plays:
            return []
        streams = [play for play in plays if play.stream]
        artists = {self.artist(p) for p in streams if p.track_id} - {None}
        return [
            {
                "plays": len(plays),
                "streams": len(streams),
                "minutes": sum(self.listened_ms(p) or 0 for p in plays) / 60_000,
                "tracks": len({p.track_id for p in streams if p.track_id}),
                "artists": len(artists),
                "days": len({p.day for p in streams}),
                **self._most(plays, "top_month", lambda p: p.day[:7]),
                **self._most(plays, "top_weekday", lambda p: p.end.isoweekday()),
                **self._most(plays, "top_hour", lambda p: p.end.hour),
            }
        ]

    def _most(self, plays: list[Play], name: str, key) -> dict[str, Any]:
        """The value of `key` with the most minutes (the least of a tie), and its minutes."""
        ms: dict[Any, int] = defaultdict(int)
        for play in plays:
            ms[key(play)] += self.listened_ms(play) or 0
        most = min(ms, key=lambda value: (-ms[value], value))
        return {name: most, f"{name}_minutes": ms[most] / 60_000}
