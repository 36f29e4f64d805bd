"""Parquet partitions: one object per partition, written whole by one `lake.put`."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from chalicelib.errors import NotFoundError
from chalicelib.lake import Lake
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


def write_partition(lake: Lake, name: str, value: str, table: pa.Table) -> str:
    """Replace a partition of a table with these rows (the partition column stays out)."""
    spec = TABLES[name]
    key = spec.partition_key(value)
    lake.put(key, to_parquet(table.select(spec.column_names).cast(arrow_schema(spec))))
    return key


def read_partition(lake: Lake, name: str, value: str) -> pa.Table | None:
    """A partition's rows, or None when the partition does not exist yet."""
    try:
        data = lake.get(TABLES[name].partition_key(value))
    except NotFoundError:
        return None
    return from_parquet(data).cast(arrow_schema(TABLES[name]))
