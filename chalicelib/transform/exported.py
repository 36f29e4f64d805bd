"""An export file's entries as plays rows, column by column in Arrow.

A privacy export of ten years holds half a million entries; reading each into a row of
Python values would be most of an import's time. So a file's entries become one Arrow
table of the fields an import keeps, and the plays columns are computed from its columns:
what chalicelib.transform.parse, `history`, says is kept and skipped.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from chalicelib.errors import BadRawDataError
from chalicelib.schema import TABLES, arrow_schema
from chalicelib.transform.parse import EXPORT_FIELDS, epoch_ms

PLAYS = arrow_schema(TABLES["plays"])
STRINGS = (
    "ts",
    "spotify_track_uri",
    "spotify_episode_uri",
    "master_metadata_track_name",
    "master_metadata_album_artist_name",
    "master_metadata_album_album_name",
    "reason_start",
    "reason_end",
    "platform",
)
FLAGS = ("shuffle", "skipped", "offline", "incognito_mode")
ENTRY = pa.schema(
    [
        *(pa.field(name, pa.string()) for name in STRINGS),
        pa.field("ms_played", pa.int64()),
        *(pa.field(name, pa.bool_()) for name in FLAGS),
    ]
)
EXPORT_TIME = "%Y-%m-%dT%H:%M:%SZ"  # how every extended export writes `ts`


def export_plays(entries: list[Any]) -> pa.Table:
    """The plays of an export file's entries (a BadRawDataError for a value of the wrong
    type, or a URI of the wrong kind), in the file's order."""
    try:
        table = pa.Table.from_pylist(entries, schema=ENTRY)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as error:
        raise BadRawDataError(f"an entry holds a value of the wrong type: {error}") from None
    private = pc.fill_null(table.column("incognito_mode"), False)
    track = _ids(table.column("spotify_track_uri"), "track")
    episode = _ids(table.column("spotify_episode_uri"), "episode")
    kept = pc.and_(pc.invert(private), pc.or_(pc.is_valid(track), pc.is_valid(episode)))
    if table.column("ts").null_count:
        raise BadRawDataError("an entry has no `ts` time")
    ended = _moments(table.column("ts"))
    columns = {
        "played_at": ended,
        "track_id": track,
        "context_type": pa.nulls(table.num_rows, pa.string()),
        "context_uri": pa.nulls(table.num_rows, pa.string()),
        "source": pa.array(["export"] * table.num_rows, pa.string()),
        "ms_played": table.column("ms_played"),
        "episode_id": episode,
        "ended_at": ended,
        **{column: table.column(field) for column, field in EXPORT_FIELDS.items()},
    }
    plays = pa.table({name: columns[name] for name in PLAYS.names}).cast(PLAYS)
    return plays.filter(kept)


def _ids(uris: pa.ChunkedArray, kind: str) -> pa.ChunkedArray:
    """The IDs of `spotify:KIND:ID` URIs, null for none; a BadRawDataError for another."""
    prefix = f"spotify:{kind}:"
    given = pc.and_(pc.is_valid(uris), pc.not_equal(uris, ""))
    good = pc.and_(pc.starts_with(uris, prefix), pc.greater(pc.utf8_length(uris), len(prefix)))
    wrong = pc.and_(given, pc.invert(pc.fill_null(good, False)))
    if pc.any(wrong).as_py():
        first = uris.filter(wrong)[0].as_py()
        raise BadRawDataError(f"{first!r} is not a spotify:{kind}: URI")
    ids = pc.utf8_slice_codeunits(uris, len(prefix))
    return pc.if_else(given, ids, pa.scalar(None, pa.string()))


def _moments(stamps: pa.ChunkedArray) -> pa.Array:
    """Each `ts` as UTC milliseconds; one written otherwise than the export's way is read
    as any ISO 8601 time (no offset means UTC)."""
    try:
        parsed = pc.strptime(stamps, format=EXPORT_TIME, unit="ms", error_is_null=False)
        return pc.cast(parsed, pa.int64()).cast(pa.timestamp("ms", tz="UTC"))
    except pa.ArrowInvalid:
        moments = [epoch_ms(stamp) for stamp in stamps.to_pylist()]
        return pa.array(moments, pa.int64()).cast(pa.timestamp("ms", tz="UTC"))
