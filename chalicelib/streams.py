"""The account's streams, each declared once: what a run can be asked to read.

A stream is its name (what `--streams`, `POST /runs` and a manifest's `streams` say), its
reader (a generator in chalicelib.spotify.readers), the bookmark it keeps between runs if
it is incremental, the raw part streams its answers land as with the parser of each
(chalicelib.transform.parse) and the snapshot tables those parts fill (chalicelib.schema).
The extract, its state, the transform, the command line's and the API's validation and the
docs' lists all read this registry; docs/ARCHITECTURE.md says what else a new stream
touches (nothing but its reader, its parser and its schema entries).

Besides these, every run reads the user (`me`) and the catalog objects its answers
reference; those are not streams a caller picks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chalicelib import raw
from chalicelib.errors import BadRawDataError, ValidationError
from chalicelib.spotify import readers
from chalicelib.transform import parse

if TYPE_CHECKING:
    from chalicelib.spotify.client import SpotifyClient


@dataclass(frozen=True)
class Bookmark:
    """What an incremental stream keeps between runs (state/streams/<name>.json): the JSON
    object its reader is given and replaces as it goes (chalicelib.spotify.readers)."""

    kept_when_cut_short: bool = True  # else kept only by a run that completed
    legacy: str | None = None  # the state file the previous version kept it in, read once


@dataclass(frozen=True)
class Stream:
    """One stream a run can be asked to read, with everything the pipeline needs of it."""

    name: str
    read: Callable[[SpotifyClient, readers.Context, dict[str, Any]], readers.Reader]
    lands: Mapping[str, parse.Parser]  # each raw part stream of its answers, and its parser
    feeds: tuple[str, ...]  # the snapshot tables its parts fill; plays are merged instead
    bookmark: Bookmark | None = None
    polled: bool = False  # read by the frequent plays poll too, not only by the snapshot


STREAMS: tuple[Stream, ...] = (
    Stream(
        "playlists",
        read=readers.playlists,
        lands={raw.PLAYLISTS: parse.playlists, raw.PLAYLIST_ITEMS: parse.playlist_items},
        feeds=("playlists", "playlist_items"),
        # by playlist, the snapshot_id its items were read at and the pages they were read into
        bookmark=Bookmark(legacy="state/playlists.json"),
    ),
    Stream(
        "plays",
        read=readers.plays,
        lands={raw.PLAYS: parse.plays},
        feeds=(),
        # the cursor; a run cut short never fetched its plays' catalog, so it reads them again
        bookmark=Bookmark(kept_when_cut_short=False, legacy="state/plays_cursor.json"),
        polled=True,
    ),
    Stream(
        "top",
        read=readers.top,
        lands={raw.TOP_TRACKS: parse.top_tracks, raw.TOP_ARTISTS: parse.top_artists},
        feeds=("top_items",),
    ),
    Stream(
        "saved",
        read=readers.saved,
        lands={raw.SAVED_TRACKS: parse.saved_tracks},
        feeds=("saved_tracks",),
        # the newest saved tracks known, the pages holding them all, when last read in full
        bookmark=Bookmark(legacy="state/saved_tracks.json"),
    ),
)
BY_NAME = {stream.name: stream for stream in STREAMS}
NAMES = tuple(BY_NAME)
# The parser of every raw part stream a manifest may list: an import's history files too.
PARSERS: dict[str, parse.Parser] = {
    **parse.EVERY_RUN,
    **{raw_stream: parser for s in STREAMS for raw_stream, parser in s.lands.items()},
    raw.HISTORY: parse.history,
}


def add_part(rows: parse.RunRows, part: raw.Part, answer: object) -> None:
    """Add one API answer to the run's rows, by the raw stream the manifest says it is."""
    parser = PARSERS.get(part.stream)
    if parser is None:
        raise BadRawDataError(f"unknown stream {part.stream!r}")
    parser(rows, part, answer)


def of_kind(kind: str) -> tuple[str, ...]:
    """The streams a run of this kind reads when it is not told which."""
    return tuple(s.name for s in STREAMS if kind == raw.SNAPSHOT or s.polled)


def check(names: Iterable[str]) -> tuple[str, ...]:
    """Stream names as a caller gave them, or a ValidationError listing the known ones."""
    names = tuple(names)
    unknown = [name for name in names if not isinstance(name, str) or name not in BY_NAME]
    if not names or unknown:
        raise ValidationError(f"streams must be a list of names from {', '.join(NAMES)}")
    return names


def in_order(names: Iterable[str]) -> list[Stream]:
    """The named streams in the registry's order (the order a run reads them)."""
    wanted = set(names)
    return [stream for stream in STREAMS if stream.name in wanted]


def sources(table: str) -> set[str]:
    """The manifest `streams` names behind a snapshot table: the streams that feed it and
    the raw part streams they land (older manifests list those)."""
    return {name for s in STREAMS if table in s.feeds for name in (s.name, *s.lands)}
