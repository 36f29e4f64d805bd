"""The nine tables: names, columns, Athena types and partitions, named once, here.

The transform, the Glue setup and the local engine all read them from this module.
pyarrow is imported only by `arrow_schema` and `stored_schema`, so importing this module
stays cheap.

Each table is partitioned by month (`processed/plays/played_month=2026-11/data.parquet`),
and its date column (SPEC §5's `played_date` or `snapshot_date`) is a column of the file: a
lake holding fifteen years is 180 objects a table, not 5,500 small ones that every
whole-history query would open. A day's rows are replaced within their month's object by
one conditional write (chalicelib.transform.commit), so a month is never seen half-written.
A query prunes by both: `played_month` for the objects it opens, `played_date` for the rows.

Beyond the columns SPEC §5 names, `plays` carries `ended_at` (timestamp): when an export
says the playback ended (null for a play only the API saw), which tells an export entry
imported again from a new one. And the four catalog tables carry `played` (boolean): true
for the rows a play fetched that day references (the track, its album, their artists).
Each day's catalog holds the whole day's snapshot catalog, so a plays query over a month
would otherwise read thirty copies of it; the transform writes the played rows of a month
as their own Parquet row group, and a query filtering on `played` reads only that group in
each partition (Athena and DuckDB skip row groups by their min/max statistics).
"""
from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

PROCESSED = "processed"
PLAYED = "played"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Athena type: string, bigint, int, boolean, timestamp, array<string>


@dataclass(frozen=True)
class Table:
    name: str
    date_column: str  # played_date or snapshot_date: an ISO date, `2026-11-26`
    columns: tuple[Column, ...]

    @property
    def partition(self) -> str:
        """The partition column: the month of the date column (`played_month`, `2026-11`)."""
        return self.date_column.removesuffix("_date") + "_month"

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def parsed_columns(self) -> list[str]:
        """The columns a parser fills: all but `played`, which the transform appends last."""
        return [name for name in self.column_names if name != PLAYED]

    @functools.cached_property
    def row(self) -> Callable[..., tuple]:
        """The builder of one row from its values named by column (`Table.row(a=1, b=2)`),
        as a plain tuple in the schema's order (a plain tuple is what the garbage collector
        can stop tracking, which counts over a million rows); a name missing or unknown is
        a TypeError."""
        names = self.parsed_columns
        ordered = operator.itemgetter(*names)

        def build(**values: Any) -> tuple:
            try:
                if len(values) == len(names):
                    return ordered(values)
            except KeyError:
                pass
            raise TypeError(
                f"a {self.name} row has the values {', '.join(names)}, not {sorted(values)}"
            )

        return build

    def prefix(self) -> str:
        """The folder holding the table's partitions, relative to the lake root."""
        return f"{PROCESSED}/{self.name}/"

    def partition_key(self, day: str) -> str:
        """The one Parquet object that holds the rows of the ISO date `day`: its month's."""
        return f"{self.prefix()}{self.partition}={month_of(day)}/data.parquet"

    @property
    def stored_columns(self) -> tuple[Column, ...]:
        """The columns of the table's Parquet files: its columns, then its date column."""
        return (*self.columns, Column(self.date_column, "string"))


def month_of(day: str) -> str:
    """The partition value (`2026-11`) of an ISO date (`2026-11-26`)."""
    return day[:7]


def _table(name: str, date_column: str, columns: str) -> Table:
    pairs = (item.split(":", 1) for item in columns.split())
    return Table(name, date_column, tuple(Column(n, t) for n, t in pairs))


TABLES: dict[str, Table] = {
    table.name: table
    for table in (
        _table(
            "playlists",
            "snapshot_date",
            "playlist_id:string name:string description:string owner_id:string "
            "owner_name:string public:boolean collaborative:boolean snapshot_id:string "
            "item_count:bigint items_extracted:boolean",
        ),
        _table(
            "playlist_items",
            "snapshot_date",
            "playlist_id:string position:bigint item_type:string item_id:string "
            "item_uri:string item_name:string added_at:timestamp added_by_id:string",
        ),
        _table(
            "tracks",
            "snapshot_date",
            "track_id:string name:string album_id:string duration_ms:bigint explicit:boolean "
            "disc_number:int track_number:int isrc:string popularity:int played:boolean",
        ),
        _table(
            "track_artists",
            "snapshot_date",
            "track_id:string artist_id:string artist_position:int played:boolean",
        ),
        _table(
            "albums",
            "snapshot_date",
            "album_id:string name:string album_type:string release_date:string "
            "release_date_precision:string release_year:int total_tracks:int label:string "
            "popularity:int played:boolean",
        ),
        _table(
            "artists",
            "snapshot_date",
            "artist_id:string name:string genres:array<string> followers:bigint "
            "popularity:int image_url:string played:boolean",
        ),
        _table(
            "plays",
            "played_date",
            "played_at:timestamp track_id:string context_type:string context_uri:string "
            "source:string ms_played:bigint reason_start:string reason_end:string "
            "shuffle:boolean skipped:boolean offline:boolean platform:string "
            "episode_id:string track_name:string artist_name:string album_name:string "
            "ended_at:timestamp",
        ),
        _table(
            "top_items",
            "snapshot_date",
            "item_type:string time_range:string rank:int item_id:string",
        ),
        _table("saved_tracks", "snapshot_date", "track_id:string added_at:timestamp"),
    )
}

CATALOG_TABLES = ("tracks", "track_artists", "albums", "artists")
# The tables each snapshot run replaces for its day, fed by the streams of chalicelib.streams.
SNAPSHOT_TABLES = tuple(
    name
    for name, table in TABLES.items()
    if table.date_column == "snapshot_date" and name not in CATALOG_TABLES
)


def arrow_type(athena_type: str) -> pa.DataType:
    """The Parquet (pyarrow) type for an Athena type; timestamps are UTC milliseconds."""
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "bigint": pa.int64(),
        "int": pa.int32(),
        "boolean": pa.bool_(),
        "timestamp": pa.timestamp("ms"),
        "array<string>": pa.list_(pa.string()),
    }
    return types[athena_type]


def arrow_schema(table: Table) -> pa.Schema:
    """The explicit schema of a table's rows as the transform builds them (date excluded)."""
    import pyarrow as pa

    return pa.schema([pa.field(c.name, arrow_type(c.type)) for c in table.columns])


def stored_schema(table: Table) -> pa.Schema:
    """The explicit Parquet schema of a table's data files: its rows and their date."""
    import pyarrow as pa

    return pa.schema([pa.field(c.name, arrow_type(c.type)) for c in table.stored_columns])
