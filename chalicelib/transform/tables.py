"""One run's rows as Arrow tables with the explicit schemas of chalicelib.schema.

Columns are built from the rows (tuples in the schema's column order, made by
chalicelib.schema's `Table.row`, `played` appended here) and converted once per table; a
value of the wrong type for its column raises (pyarrow.ArrowInvalid or ArrowTypeError) and
the run goes to quarantine.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from chalicelib.schema import CATALOG_TABLES, SNAPSHOT_TABLES, TABLES, arrow_schema
from chalicelib.transform.parse import RunRows, utc_date
from chalicelib.transform.write import slices_by

RANK = "_rank"
RUN_ID = "_run_id"
HELPERS = (pa.field(RANK, pa.int8()), pa.field(RUN_ID, pa.string()))
CONVERSION_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError)


@dataclass
class RunTables:
    """A run's snapshot tables, its catalog digest and its plays by played_date."""

    snapshot: dict[str, pa.Table]
    digest: dict[str, pa.Table]
    plays: dict[str, pa.Table]
    null_entries: int

    def row_counts(self) -> dict[str, int]:
        """The rows the run's answers hold, per table."""
        counts = {name: table.num_rows for name, table in {**self.snapshot, **self.digest}.items()}
        counts["plays"] = sum(table.num_rows for table in self.plays.values())
        return {name: counts[name] for name in TABLES}


def run_tables(rows: RunRows, run_id: str) -> RunTables:
    """Convert a run's rows, each table sorted by its key."""
    return RunTables(
        snapshot={name: build(name, _by_key(rows.snapshot[name])) for name in SNAPSHOT_TABLES},
        digest=_digest(rows, run_id),
        plays=_plays(rows),
        null_entries=rows.null_entries,
    )


def digest_schema(name: str) -> pa.Schema:
    """A catalog table's schema plus the helper columns the day's merge ranks rows by."""
    schema = arrow_schema(TABLES[name])
    for helper in HELPERS:
        schema = schema.append(helper)
    return schema


def build(name: str, rows: Iterable[tuple], schema: pa.Schema | None = None) -> pa.Table:
    """An Arrow table of the named table's schema (or the one given) from row tuples."""
    schema = schema or arrow_schema(TABLES[name])
    columns = list(zip(*rows, strict=True)) or [()] * len(schema)
    arrays = [pa.array(column, type=f.type) for column, f in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)


def _digest(rows: RunRows, run_id: str) -> dict[str, pa.Table]:
    catalog = rows.catalog
    ranked = {"tracks": catalog.tracks, "albums": catalog.albums, "artists": catalog.artists}
    digest = {
        name: build(
            name,
            (
                row + (key in catalog.played[name], rank, run_id)
                for key, (rank, row) in sorted(ranked[name].items())
            ),
            digest_schema(name),
        )
        for name in ranked
    }
    played_tracks = catalog.played["tracks"]
    track_artists = (
        artist + (track_id in played_tracks, catalog.tracks[track_id][0], run_id)
        for track_id, artists in sorted(catalog.track_artists.items())
        for artist in artists
    )
    digest["track_artists"] = build("track_artists", track_artists, digest_schema("track_artists"))
    return {name: digest[name] for name in CATALOG_TABLES}


def _plays(rows: RunRows) -> dict[str, pa.Table]:
    """The run's plays (the API's, or an export's entries) by played date."""
    by_date: dict[str, list[tuple]] = {}
    for played_at in sorted(rows.plays):
        by_date.setdefault(utc_date(played_at), []).append(rows.plays[played_at])
    plays = {date: build("plays", rows) for date, rows in by_date.items()}
    if rows.export_plays:
        exported = pa.concat_tables(rows.export_plays)
        exported = exported.take(pc.sort_indices(exported, [("played_at", "ascending")]))
        for day, part in by_played_date(exported).items():
            plays[day] = pa.concat_tables([plays[day], part]) if day in plays else part
    return dict(sorted(plays.items()))


def by_played_date(plays: pa.Table) -> dict[str, pa.Table]:
    """The plays (sorted by played_at) split by their UTC date, each part still sorted."""
    days = pc.strftime(plays.column("played_at"), format="%Y-%m-%d").to_pylist()
    return slices_by(plays, days)


def _by_key(rows: dict) -> list[tuple]:
    return [rows[key] for key in sorted(rows)]
