"""Shaping across runs: the day's catalog from its digests (pandas), plays into plays.

Every catalog merge is a sort on the row's key and helper columns followed by keeping the
first row per key, and plays are combined one row per play by chalicelib.history.match,
so the result does not depend on the order in which runs and imports arrive.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from chalicelib.history.match import API, EXPORT, combine
from chalicelib.schema import CATALOG_TABLES, PLAYED, TABLES, arrow_schema
from chalicelib.transform.tables import RANK, RUN_ID, digest_schema

CATALOG_KEYS = {"tracks": ["track_id"], "albums": ["album_id"], "artists": ["artist_id"]}
PLAYS = arrow_schema(TABLES["plays"])
# The plays schema with its timestamps as epoch milliseconds, as the combining reads them.
PLAYS_MS = pa.schema(
    [pa.field(f.name, pa.int64()) if pa.types.is_timestamp(f.type) else f for f in PLAYS]
)


def merge_catalog(digests: list[dict[str, pa.Table]]) -> dict[str, pa.Table]:
    """One row per ID over the day's digests: the most complete, then the latest run's;
    played if any run's plays referenced it."""
    return finish_catalog(reduce_catalog(digests))


def reduce_catalog(digests: list[dict[str, pa.Table]]) -> dict[str, pa.Table]:
    """The digests as one: per ID the row that wins (the most complete, then the latest
    run's) with its rank and run, played if any digest's was; a track's artists from the run
    of the track row that won. Reducing a reduction with more digests (or the same again)
    equals reducing them all at once, so a day's reduction is kept and added to."""
    reduced = {}
    for name, key in CATALOG_KEYS.items():
        frame = _frame([digest[name] for digest in digests])
        frame[PLAYED] = frame.groupby(key)[PLAYED].transform("any")
        ordered = frame.sort_values([*key, RANK, RUN_ID], ascending=[True, False, False])
        reduced[name] = ordered.drop_duplicates(key)
    credit = ["track_id", RUN_ID, "artist_position"]
    track_artists = (
        _frame([digest["track_artists"] for digest in digests])
        .drop(columns=PLAYED)
        .drop_duplicates(credit)
        .merge(reduced["tracks"][["track_id", RUN_ID, PLAYED]], on=["track_id", RUN_ID])
    )
    reduced["track_artists"] = track_artists.sort_values(["track_id", "artist_position"])
    return {name: _table(name, reduced[name], digest_schema(name)) for name in CATALOG_TABLES}


def finish_catalog(reduced: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """The day's catalog tables from its reduction: the album and the credited artists of a
    played track's kept row are played too, even where the copy the play brought named
    others (an artist credited since, say); the rank and run columns go."""
    frames = {name: reduced[name].to_pandas(types_mapper=pd.ArrowDtype) for name in CATALOG_TABLES}
    tracks, credits = frames["tracks"], frames["track_artists"]
    frames["albums"] = _played_too(frames["albums"], "album_id", tracks, "album_id")
    frames["artists"] = _played_too(frames["artists"], "artist_id", credits, "artist_id")
    return {name: _table(name, frames[name]) for name in CATALOG_TABLES}


def _played_too(frame: pd.DataFrame, key: str, by: pd.DataFrame, column: str) -> pd.DataFrame:
    """The frame with its rows that `by`'s played rows name in `column` played as well."""
    named = by.loc[by[PLAYED], column]
    return frame.assign(**{PLAYED: frame[PLAYED] | frame[key].isin(named)})


def merge_plays(tables: list[pa.Table]) -> pa.Table:
    """One row per play, whether the API saw it, an export did or both, sorted by time.

    Where every row is of one source and none is there twice (an import into days the API
    never saw, the first poll of a day), nothing can pair or merge, and sorting as `combine`
    does is all there is to do: in Arrow. Otherwise each row is combined in Python.
    """
    sorted_plays = _sorted_if_apart(tables)
    if sorted_plays is not None:
        return sorted_plays
    rows = combine(row for table in tables for row in _play_rows(table))
    return pa.Table.from_pylist(rows, schema=PLAYS_MS).cast(PLAYS)


# What makes a row the same play again within one source (chalicelib.history.match).
SAME_PLAY = {API: ["played_at"], EXPORT: ["ended_at", "episode_id", "track_id", "ms_played"]}


def repeated_plays(plays: pa.Table) -> int:
    """How many rows repeat a play of their source among the others (an export holding an
    entry twice, as real ones do), which merge_plays keeps once."""
    repeated = 0
    for source, same_play in SAME_PLAY.items():
        rows = plays.filter(pc.equal(plays.column("source"), source))
        repeated += rows.num_rows - rows.group_by(same_play).aggregate([]).num_rows
    return repeated


def _sorted_if_apart(tables: list[pa.Table]) -> pa.Table | None:
    """The rows sorted in combine's order, if they are of one source and each play once;
    else None."""
    if not all(set(PLAYS.names) <= set(table.column_names) for table in tables):
        return None  # written by an older version: combined row by row
    table = pa.concat_tables([t.select(PLAYS.names).cast(PLAYS) for t in tables])
    sources = set(table.column("source").unique().to_pylist())
    if len(sources) != 1 or not sources <= set(SAME_PLAY):
        return None
    if table.group_by(SAME_PLAY[sources.pop()]).aggregate([]).num_rows != table.num_rows:
        return None
    # combine's order: played_at, episodes before tracks, the item, ms_played (null as 0).
    keys = {
        "played_at": table.column("played_at"),
        "track": pc.is_null(table.column("episode_id")),
        "item": pc.coalesce(table.column("episode_id"), table.column("track_id"), ""),
        "ms": pc.fill_null(table.column("ms_played"), 0),
    }
    order = pa.table(keys)
    return table.take(pc.sort_indices(order, sort_keys=[(k, "ascending") for k in keys]))


def _play_rows(table: pa.Table) -> list[dict]:
    """A plays table's rows, written by any version: columns it lacks are null, and its
    plays without a source were the API's (the only source there was)."""
    for field in PLAYS:
        if field.name not in table.column_names:
            table = table.append_column(field, pa.nulls(table.num_rows, field.type))
    # To the plays types first (an older file's timestamps may be in another unit), then
    # to milliseconds as integers.
    rows = table.select(PLAYS.names).cast(PLAYS).cast(PLAYS_MS).to_pylist()
    for row in rows:
        row["source"] = row["source"] or API
    return rows


def _frame(tables: list[pa.Table]) -> pd.DataFrame:
    return pa.concat_tables(tables).to_pandas(types_mapper=pd.ArrowDtype)


def _table(name: str, frame: pd.DataFrame, schema: pa.Schema | None = None) -> pa.Table:
    schema = schema or arrow_schema(TABLES[name])
    table = pa.Table.from_pandas(frame[schema.names], schema=schema, preserve_index=False)
    return table.replace_schema_metadata(None)
