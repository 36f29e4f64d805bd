"""Shaping across runs with pandas: the day's catalog from its digests, plays into plays.

Every merge is a sort on the row's key and helper columns followed by keeping the first
row per key, so the result does not depend on the order in which runs arrive.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from chalicelib.schema import CATALOG_TABLES, PLAYED, TABLES, arrow_schema
from chalicelib.transform.tables import RANK, RUN_ID

CATALOG_KEYS = {"tracks": ["track_id"], "albums": ["album_id"], "artists": ["artist_id"]}
PLAY_ORDER = ["played_at", "track_id", "context_type", "context_uri"]


def merge_catalog(digests: list[dict[str, pa.Table]]) -> dict[str, pa.Table]:
    """One row per ID over the day's digests: the most complete, then the latest run's;
    played if any run's plays referenced it."""
    merged = {}
    for name, key in CATALOG_KEYS.items():
        frame = _frame([digest[name] for digest in digests])
        frame[PLAYED] = frame.groupby(key)[PLAYED].transform("any")
        ordered = frame.sort_values([*key, RANK, RUN_ID], ascending=[True, False, False])
        merged[name] = ordered.drop_duplicates(key)
    # A track's artists come from the same run as the track row that won, played as it is.
    track_artists = (
        _frame([digest["track_artists"] for digest in digests])
        .drop(columns=PLAYED)
        .merge(merged["tracks"][["track_id", RUN_ID, PLAYED]], on=["track_id", RUN_ID])
    )
    merged["track_artists"] = track_artists.sort_values(["track_id", "artist_position"])
    # The album and the credited artists of a played track's kept row are played too, even
    # where the copy the play brought named others (an artist credited since, say).
    tracks, credits = merged["tracks"], merged["track_artists"]
    merged["albums"] = _played_too(merged["albums"], "album_id", tracks, "album_id")
    merged["artists"] = _played_too(merged["artists"], "artist_id", credits, "artist_id")
    return {name: _table(name, merged[name]) for name in CATALOG_TABLES}


def _played_too(frame: pd.DataFrame, key: str, by: pd.DataFrame, column: str) -> pd.DataFrame:
    """The frame with its rows that `by`'s played rows name in `column` played as well."""
    named = by.loc[by[PLAYED], column]
    return frame.assign(**{PLAYED: frame[PLAYED] | frame[key].isin(named)})


def merge_plays(tables: list[pa.Table]) -> pa.Table:
    """Plays unique by played_at, sorted; of rows sharing a played_at the smallest is kept."""
    frame = _frame(tables).sort_values(PLAY_ORDER, na_position="last")
    return _table("plays", frame.drop_duplicates("played_at"))


def _frame(tables: list[pa.Table]) -> pd.DataFrame:
    return pa.concat_tables(tables).to_pandas(types_mapper=pd.ArrowDtype)


def _table(name: str, frame: pd.DataFrame) -> pa.Table:
    schema = arrow_schema(TABLES[name])
    table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
    return table.replace_schema_metadata(None)
