"""Parquet bytes: one object per partition (a month), written whole by one `lake.put`
(see commit), its rows sorted by their date.

A catalog partition is written as two row groups, the rows its days' plays reference
(`played`) first, the rest after: each row group's statistics then say whether it holds
played rows, and a query filtering on `played` skips the other group (see schema).
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chalicelib.schema import PLAYED, TABLES, stored_schema

COMPRESSION = "zstd"


def to_parquet(table: pa.Table, *more: pa.Table) -> bytes:
    """The tables as Parquet bytes, a row group (at least) each, empty ones left out: zstd,
    no pandas metadata, so equal tables give equal bytes."""
    groups = [t for t in (table, *more) if t.num_rows] or [table]
    sink = pa.BufferOutputStream()
    with pq.ParquetWriter(sink, table.schema.remove_metadata(), compression=COMPRESSION) as writer:
        for group in groups:
            writer.write_table(group.replace_schema_metadata(None))
    return sink.getvalue().to_pybytes()


def from_parquet(data: bytes) -> pa.Table:
    """The table in Parquet bytes."""
    return pq.ParquetFile(pa.BufferReader(data)).read()


def month_bytes(
    name: str, current: bytes | None, days: Mapping[str, pa.Table], *, anew: bool = False
) -> bytes | None:
    """The month's object `current` (None: none yet) with each day of `days` holding the
    rows given there instead of its own (no rows: none), or with those days alone where it
    is made `anew`; None where that leaves a month that did not exist without rows."""
    kept = split_days(name, from_parquet(current)) if current is not None and not anew else {}
    kept.update(days)
    kept = {day: rows for day, rows in kept.items() if rows.num_rows}
    if current is None and not kept:
        return None
    date = TABLES[name].date_column
    parts = [
        rows.append_column(date, pa.array([day] * rows.num_rows, pa.string()))
        for day, rows in sorted(kept.items())
    ]
    return partition_bytes(name, parts)


def split_days(name: str, month: pa.Table) -> dict[str, pa.Table]:
    """A month's rows by their date, each day's in the order the object holds them."""
    date = TABLES[name].date_column
    month = month.take(pc.sort_indices(month, [(date, "ascending")]))  # a stable sort
    return slices_by(month.drop_columns([date]), month.column(date).to_pylist())


def slices_by(table: pa.Table, keys: list[str]) -> dict[str, pa.Table]:
    """The table's rows by `keys` (one per row, equal keys adjacent), each run a slice."""
    parts, start = {}, 0
    for index in range(1, len(keys) + 1):
        if index == len(keys) or keys[index] != keys[start]:
            parts[keys[start]] = table.slice(start, index - start)
            start = index
    return parts


def partition_bytes(name: str, parts: list[pa.Table]) -> bytes:
    """A partition's Parquet object from its days' rows (each with its date column, in date
    order): the stored columns in their schema, played rows in a row group of their own
    where the table has them."""
    spec = TABLES[name]
    schema = stored_schema(spec)
    table = pa.concat_tables(
        [schema.empty_table(), *(part.select(schema.names).cast(schema) for part in parts)]
    )
    if PLAYED not in spec.column_names:
        return to_parquet(table)
    played = pc.fill_null(table[PLAYED], False)
    return to_parquet(table.filter(played), table.filter(pc.invert(played)))
