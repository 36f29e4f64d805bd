"""Reading a Spotify privacy export ("Extended streaming history"), redacted as it is read.

An export is a zip (or its unpacked folder, or some of its JSON files) holding
`Streaming_History_Audio_*.json`, `Streaming_History_Video_*.json` or, in older exports,
`endsong_*.json` (`endsong.json` where it fits in one file): each one JSON array of entries,
one per playback. Entries carry personal data (`ip_addr`, `ip_addr_decrypted`,
`user_agent_decrypted`, `username`) that must never be stored: `redact` keeps only the
fields the plays table and its queries read (a list of what to keep, so a field Spotify
adds later is dropped too).

The basic "Account data" export (`StreamingHistory_music_*.json`: minute precision, no
URIs) cannot be imported exactly and is refused with a message saying how to request the
extended one. Anything else that is not an array of extended entries is a `BadExport`,
which the import quarantines with its reason.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orjson import JSONDecodeError, loads

from chalicelib.errors import BadRawDataError, PipelineError, ValidationError

# Every name Spotify gives them: `endsong.json` where an old export fits in one file.
EXTENDED = re.compile(r"(?:^|/)(?:Streaming_History_(?:Audio|Video)[^/]*|endsong[^/]*)\.json$")
BASIC = re.compile(r"(?:^|/)StreamingHistory[^/]*\.json$")
# The fields an import keeps, in this order; every other field of an entry is dropped.
KEPT = (
    "ts",
    "ms_played",
    "spotify_track_uri",
    "spotify_episode_uri",
    "master_metadata_track_name",
    "master_metadata_album_artist_name",
    "master_metadata_album_album_name",
    "episode_name",
    "episode_show_name",
    "reason_start",
    "reason_end",
    "shuffle",
    "skipped",
    "offline",
    "incognito_mode",
    "platform",
)
REQUEST_EXTENDED = (
    "this is the basic 'Account data' export (minute precision, no track IDs), which "
    "cannot be imported exactly; request 'Extended streaming history' on "
    "https://www.spotify.com/account/privacy/ and import that zip instead"
)


class BadExport(BadRawDataError):
    """A file of the export that cannot be read as extended streaming history."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class ExportFile:
    """One file of an export, by its name within the export; `read` gives its bytes, read
    only then (an export of ten years unzips to hundreds of MB: one file is held at once)."""

    name: str
    read: Callable[[], bytes]


def files_of(path: Path) -> list[ExportFile]:
    """The history files of an export given as a zip, a folder or one JSON file, in name
    order; a ValidationError if the path holds none, or only the basic export."""
    return _history(str(path), _candidates(path))


def check_export(path: Path) -> None:
    """A ValidationError where `path` holds no export to import (it does not exist, is of
    another kind, holds no history files or only the basic export); a damaged export is
    left for the import to fail and record."""
    with contextlib.suppress(BadExport):
        files_of(path)


def files_of_upload(name: str, data: bytes) -> list[ExportFile]:
    """The history files of an export uploaded whole: the zip Spotify sent, or one of its
    JSON files (`name` is the upload's, which says which)."""
    if zipfile.is_zipfile(io.BytesIO(data)):
        return _history(name, _zipped(name, lambda: zipfile.ZipFile(io.BytesIO(data))))
    if name.lower().endswith(".json"):
        return _history(name, [ExportFile(name.rpartition("/")[2], lambda: data)])
    if name.lower().endswith(".zip"):
        raise BadExport(name, "not a readable zip archive (truncated or damaged upload?)")
    raise ValidationError(f"{name} is not a zip or a JSON file of an export")


def _history(source: str, candidates: Iterable[ExportFile]) -> list[ExportFile]:
    found = sorted(candidates, key=lambda file: file.name)
    basic = [file.name for file in found if BASIC.search(file.name)]
    history = [file for file in found if EXTENDED.search(file.name)]
    if not history and basic:
        raise ValidationError(f"{source}: {REQUEST_EXTENDED}")
    if not history:
        raise ValidationError(
            f"{source} holds no Streaming_History_Audio*.json, Streaming_History_Video*.json "
            "or endsong*.json: give the zip Spotify sent, its folder, or those files"
        )
    return history


def _candidates(path: Path) -> Iterator[ExportFile]:
    if not path.exists():
        raise ValidationError(f"{path} does not exist: give the path of the zip Spotify sent")
    if path.is_dir():
        for file in path.rglob("*.json"):
            yield ExportFile(file.relative_to(path).as_posix(), file.read_bytes)
    elif path.is_file() and zipfile.is_zipfile(path):
        yield from _zipped(path.name, functools.partial(zipfile.ZipFile, path))
    elif path.is_file() and path.suffix.lower() == ".json":
        yield ExportFile(path.name, path.read_bytes)
    elif path.is_file() and path.suffix.lower() == ".zip":
        raise BadExport(path.name, "not a readable zip archive (truncated or damaged download?)")
    else:
        raise ValidationError(f"{path} is not a zip, a folder or a JSON file of an export")


def _zipped(name: str, open_zip: Callable[[], zipfile.ZipFile]) -> Iterator[ExportFile]:
    """The JSON members of the zip `open_zip` opens (each time one is read: a member is
    read whole when landed, and only then)."""
    try:
        with open_zip() as archive:
            members = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise BadExport(name, f"not a readable zip archive ({error})") from None
    for info in members:
        if info.filename.lower().endswith(".json"):
            yield ExportFile(info.filename, functools.partial(_member, name, open_zip, info))


def _member(name: str, open_zip: Callable[[], zipfile.ZipFile], info: zipfile.ZipInfo) -> bytes:
    """One file out of the zip; a BadExport if the archive is damaged there."""
    try:
        with open_zip() as archive:
            return archive.read(info)
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise BadExport(info.filename, f"cannot be read from {name} ({error})") from None


def entries(file: ExportFile) -> list[dict[str, Any]]:
    """The file's entries, redacted; a BadExport saying what is wrong with the file."""
    try:
        data = loads(file.read())
    except JSONDecodeError as error:
        raise BadExport(file.name, f"not complete JSON (truncated?): {error}") from None
    if not isinstance(data, list) or not all(isinstance(entry, dict) for entry in data):
        raise BadExport(file.name, "not a JSON array of streaming history entries")
    for index, entry in enumerate(data):
        if not isinstance(entry.get("ts"), str) or not isinstance(entry.get("ms_played"), int):
            raise BadExport(file.name, f"entry {index} has no `ts` time or `ms_played` count")
    return [redact(entry) for entry in data]


def username_of(files: Callable[[], list[ExportFile]]) -> str | None:
    """Whose export it is: the `username` (the Spotify user ID) its first file's entries
    name, where they name exactly one; None otherwise, or where the export cannot be read
    (its import then fails saying why)."""
    try:
        listed = files()
        data = loads(listed[0].read()) if listed else None
    except (JSONDecodeError, PipelineError):
        return None
    if not isinstance(data, list):
        return None
    named = {entry.get("username") for entry in data if isinstance(entry, dict)}
    [name] = named if len(named) == 1 else [None]
    return name if isinstance(name, str) else None


def redact(entry: dict[str, Any]) -> dict[str, Any]:
    """Only the fields KEPT, so no IP address, user agent or username goes any further."""
    return {name: entry[name] for name in KEPT if name in entry}
