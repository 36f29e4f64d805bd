"""Parquet bytes: one object per partition, written whole by one `lake.put` (see commit).

A catalog partition is written as two row groups, the rows its day's plays reference
(`played`) first, the rest after: each row group's statistics then say whether it holds
played rows, and a query filtering on `played` skips the other group (see schema).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from chalicelib.schema import PLAYED, TABLES, arrow_schema

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


def partition_bytes(name: str, table: pa.Table) -> bytes:
    """A partition's Parquet object: the table's columns (not the partition's) in its schema,
    played rows in a row group of their own where the table has them."""
    spec = TABLES[name]
    table = table.select(spec.column_names).cast(arrow_schema(spec))
    if PLAYED not in spec.column_names:
        return to_parquet(table)
    played = pc.fill_null(table[PLAYED], False)
    return to_parquet(table.filter(played), table.filter(pc.invert(played)))
