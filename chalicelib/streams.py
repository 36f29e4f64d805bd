"""The account's streams, each declared once: what a run can be asked to read.

A stream is its name (what `--streams`, `POST /runs` and a manifest's `streams` say), the
Extractor method that reads it (chalicelib.spotify.extract), the raw part streams its
answers land as with the parser of each (chalicelib.transform.parse) and the snapshot
tables those parts fill (chalicelib.schema). The extract, the transform, the
command line's and the API's validation and the docs' lists all read this registry;
docs/ARCHITECTURE.md says what else a new stream touches (nothing but its reader, its
parser and its schema entries).

Besides these, every run reads the user (`me`) and the catalog objects its answers
reference; those are not streams a caller picks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from chalicelib import raw
from chalicelib.errors import BadRawDataError, ValidationError
from chalicelib.transform import parse


@dataclass(frozen=True)
class Stream:
    """One stream a run can be asked to read, with everything the pipeline needs of it."""

    name: str
    read: str  # the Extractor method that reads it
    lands: Mapping[str, parse.Parser]  # each raw part stream of its answers, and its parser
    feeds: tuple[str, ...]  # the snapshot tables its parts fill; plays are merged instead
    polled: bool = False  # read by the frequent plays poll too, not only by the snapshot


STREAMS: tuple[Stream, ...] = (
    Stream(
        "playlists",
        read="playlists",
        lands={raw.PLAYLISTS: parse.playlists, raw.PLAYLIST_ITEMS: parse.playlist_items},
        feeds=("playlists", "playlist_items"),
    ),
    Stream("plays", read="plays", lands={raw.PLAYS: parse.plays}, feeds=(), polled=True),
    Stream(
        "top",
        read="top",
        lands={raw.TOP_TRACKS: parse.top_tracks, raw.TOP_ARTISTS: parse.top_artists},
        feeds=("top_items",),
    ),
    Stream(
        "saved",
        read="saved",
        lands={raw.SAVED_TRACKS: parse.saved_tracks},
        feeds=("saved_tracks",),
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
