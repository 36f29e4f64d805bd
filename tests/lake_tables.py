"""Reading a processed table's rows of one day back from the lake, as tests compare them."""

from __future__ import annotations

import io
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from chalicelib.lake import Lake
from chalicelib.schema import TABLES, arrow_schema
from chalicelib.transform.write import split_days


def read_day(lake: Lake, name: str, day: str) -> pa.Table:
    """The day's rows as its month's Parquet object stores them (its date column aside);
    none where the month has no object."""
    key = TABLES[name].partition_key(day)
    if not lake.exists(key):
        return arrow_schema(TABLES[name]).empty_table()
    month = pq.read_table(io.BytesIO(lake.get(key)))
    empty = month.drop_columns([TABLES[name].date_column]).slice(0, 0)
    return split_days(name, month).get(day, empty)


def sorted_rows(table: pa.Table) -> list[dict[str, Any]]:
    """The table's rows in an order that does not depend on how they were written."""
    return sorted(table.to_pylist(), key=lambda row: [str(value) for value in row.values()])


def day_tables(lake: Lake, day: str) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows of the day, sorted, by table (none where its month has none)."""
    return {
        name: sorted_rows(read_day(lake, name, day))
        for name, table in TABLES.items()
        if lake.exists(table.partition_key(day))
    }
