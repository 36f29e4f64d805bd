"""Parquet bytes: one object per partition, written whole by one `lake.put` (see commit)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from chalicelib.schema import TABLES, arrow_schema

COMPRESSION = "zstd"


def to_parquet(table: pa.Table) -> bytes:
    """The table as Parquet bytes: zstd, no pandas metadata, so equal tables give equal bytes."""
    sink = pa.BufferOutputStream()
    pq.write_table(table.replace_schema_metadata(None), sink, compression=COMPRESSION)
    return sink.getvalue().to_pybytes()


def from_parquet(data: bytes) -> pa.Table:
    """The table in Parquet bytes."""
    return pq.ParquetFile(pa.BufferReader(data)).read()


def partition_bytes(name: str, table: pa.Table) -> bytes:
    """A partition's Parquet object: the table's columns (not the partition's) in its schema."""
    spec = TABLES[name]
    return to_parquet(table.select(spec.column_names).cast(arrow_schema(spec)))
