"""Reading one run's raw answers: its manifest, then every part it names, checked.

Nothing here raises for bad raw input: what is wrong comes back as `Problem`s naming the
offending object, for the quarantine. Lake failures (S3 down) do raise, so a retry can
succeed where a quarantine would be wrong.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass, field
from typing import Any

from orjson import loads

from chalicelib import raw
from chalicelib.errors import BadRawDataError, NotFoundError
from chalicelib.lake import Lake
from chalicelib.streams import add_part
from chalicelib.transform.parse import RunRows

KINDS = (raw.SNAPSHOT, raw.PLAYS_ONLY, raw.IMPORT)
MANIFEST_STATUSES = (raw.MANIFEST_COMPLETE, raw.MANIFEST_PARTIAL)
# What a malformed answer raises while being parsed, besides BadRawDataError.
SHAPE_ERRORS = (BadRawDataError, TypeError, AttributeError, KeyError, IndexError, ValueError)


@dataclass(frozen=True)
class Problem:
    """One raw object that cannot be transformed, and why."""

    key: str
    reason: str

    def __str__(self) -> str:
        return f"{self.key}: {self.reason}"


@dataclass
class ReadRun:
    """A run as read from raw/: its rows, or the problems that stop it."""

    manifest_key: str
    run_id: str
    snapshot_date: str
    manifest: raw.Manifest | None = None
    rows: RunRows | None = None
    problems: list[Problem] = field(default_factory=list)


def read_run(lake: Lake, manifest_key: str) -> ReadRun:
    """The run's manifest and rows; a missing manifest is the caller's mistake and raises."""
    snapshot_date, run_id = raw.run_of_manifest(manifest_key)
    run = ReadRun(manifest_key, run_id, snapshot_date)
    if not lake.exists(manifest_key):
        raise NotFoundError(f"no manifest at {manifest_key}: the run has not landed its data")
    try:
        run.manifest = check_manifest(loads(lake.get(manifest_key)), snapshot_date, run_id)
    except SHAPE_ERRORS as error:
        run.problems.append(Problem(manifest_key, f"malformed manifest: {_describe(error)}"))
        return run
    run.rows = RunRows(withheld=frozenset(run.manifest.withheld_playlists))
    for part in unique_parts(run.manifest):
        problem = _add(lake, run.rows, part)
        if problem:
            run.problems.append(problem)
    run.rows.catalog.played["tracks"].update(run.manifest.played_tracks)
    if run.problems:
        run.rows = None
    return run


def unique_parts(manifest: raw.Manifest) -> list[raw.Part]:
    """The manifest's parts, each key once (the first listing wins): a key listed twice is
    one answer, and must not count its entries twice."""
    parts: dict[str, raw.Part] = {}
    for part in manifest.parts:
        parts.setdefault(part.key, part)
    return list(parts.values())


def read_manifest(lake: Lake, manifest_key: str) -> raw.Manifest | None:
    """A manifest that parses and agrees with its key, else None."""
    snapshot_date, run_id = raw.run_of_manifest(manifest_key)
    try:
        return check_manifest(loads(lake.get(manifest_key)), snapshot_date, run_id)
    except SHAPE_ERRORS:
        return None


def check_manifest(data: Any, snapshot_date: str, run_id: str) -> raw.Manifest:
    """The manifest, checked against its key and the contract in chalicelib.raw."""
    if not isinstance(data, dict):
        raise BadRawDataError("a manifest is a JSON object")
    manifest = raw.Manifest.from_json(data)
    if (manifest.snapshot_date, manifest.run_id) != (snapshot_date, run_id):
        raise BadRawDataError(f"it names run {manifest.run_id} of {manifest.snapshot_date}")
    if manifest.kind not in KINDS or manifest.status not in MANIFEST_STATUSES:
        raise BadRawDataError(f"kind {manifest.kind!r} or status {manifest.status!r} unknown")
    listed = [*manifest.streams, *manifest.withheld_playlists, *manifest.played_tracks]
    if not all(isinstance(p, str) for p in listed):
        raise BadRawDataError("streams, withheld_playlists and played_tracks are lists of strings")
    for part in manifest.parts:
        _check_part(part)
    return manifest


def _check_part(part: raw.Part) -> None:
    names = part.key.split("/") if isinstance(part.key, str) else [".."]
    if names[0] != raw.RAW or ".." in names:
        raise BadRawDataError(f"part key {part.key!r} is not under {raw.RAW}/")
    if not isinstance(part.offset, int) or isinstance(part.offset, bool) or part.offset < 0:
        raise BadRawDataError(f"part {part.key} has offset {part.offset!r}")


def _add(lake: Lake, rows: RunRows, part: raw.Part) -> Problem | None:
    try:
        answer = read_answer(lake.get(part.key))
    except NotFoundError:
        return Problem(part.key, "missing: the manifest names it but the lake does not hold it")
    except SHAPE_ERRORS + (OSError, EOFError, zlib.error) as error:
        return Problem(part.key, f"unreadable: {_describe(error)}")
    try:
        add_part(rows, part, answer)
    except SHAPE_ERRORS as error:
        return Problem(part.key, f"unexpected shape for stream {part.stream!r}: {_describe(error)}")
    return None


def read_answer(data: bytes) -> Any:
    """One stored API answer: gzip JSON (plain JSON is accepted too)."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return loads(data)


def _describe(error: Exception) -> str:
    return str(error) if isinstance(error, BadRawDataError) else f"{type(error).__name__}: {error}"
