"""Glue table definitions derived from chalicelib.schema: the one place columns are named.

Each table is external Parquet at `s3://bucket/prefix/processed/<table>/`, partitioned by
account (`account_id`, the listener's Spotify user ID) and then by the month of its date
column (`played_month`, a string `2026-11`; the date itself is a column of the files). With
partition projection Athena computes the partitions, so a partition is queryable the moment
the transform writes it; without it (crawler mode) the crawler adds partitions and the table
carries no projection keys.

`account_id` is projected as `injected`, not `enum`: its values come from each query's own
`account_id = ?` (or a static `IN` list), so a listener added by `spotify-etl auth` is
queryable at once with no change to the tables (an enum would list every account in each
table's properties, rewritten by whatever adds or forgets one), and a query that names no
account fails in Athena instead of reading every listener's rows.
"""

from __future__ import annotations

from typing import Any

from chalicelib.accounts import ACCOUNT
from chalicelib.schema import Table

PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
# Spotify launched on 2008-10-07: no privacy export holds an earlier play, and the API only
# ever answers the latest, so every month from its launch's is projected.
PROJECTION_START = "2008-10"
PROJECTION = "projection"
CRAWLER = "crawler"
MODES = (PROJECTION, CRAWLER)


def table_location(bucket: str, prefix: str, table: Table) -> str:
    """The table's folder in S3; prefix is empty or ends with '/'."""
    return f"s3://{bucket}/{prefix}{table.prefix()}"


def projection_parameters(location: str, partition: str) -> dict[str, str]:
    """Partition projection over the accounts the queries name, and the months from
    Spotify's launch to this one."""
    return {
        "projection.enabled": "true",
        f"projection.{ACCOUNT}.type": "injected",
        f"projection.{partition}.type": "date",
        f"projection.{partition}.range": f"{PROJECTION_START},NOW",
        f"projection.{partition}.format": "yyyy-MM",
        f"projection.{partition}.interval": "1",
        f"projection.{partition}.interval.unit": "MONTHS",
        "storage.location.template": (
            f"{location}{ACCOUNT}=${{{ACCOUNT}}}/{partition}=${{{partition}}}/"
        ),
    }


def table_input(table: Table, bucket: str, prefix: str, mode: str = PROJECTION) -> dict[str, Any]:
    """The Glue TableInput of one of the nine tables."""
    location = table_location(bucket, prefix, table)
    parameters = {"classification": "parquet", "EXTERNAL": "TRUE"}
    if mode == PROJECTION:
        parameters.update(projection_parameters(location, table.partition))
    return {
        "Name": table.name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": parameters,
        "PartitionKeys": [
            {"Name": ACCOUNT, "Type": "string"},
            {"Name": table.partition, "Type": "string"},
        ],
        "StorageDescriptor": {
            "Columns": [{"Name": c.name, "Type": c.type} for c in table.stored_columns],
            "Location": location,
            "InputFormat": PARQUET_INPUT,
            "OutputFormat": PARQUET_OUTPUT,
            "Compressed": False,
            "SerdeInfo": {
                "SerializationLibrary": PARQUET_SERDE,
                "Parameters": {"serialization.format": "1"},
            },
        },
    }


def comparable(table: dict[str, Any]) -> dict[str, Any]:
    """The parts of a Glue table (as get_table returns it) that setup owns, for comparing."""
    storage = table.get("StorageDescriptor", {})
    return {
        "TableType": table.get("TableType"),
        "Parameters": table.get("Parameters", {}),
        "PartitionKeys": [_column(c) for c in table.get("PartitionKeys", [])],
        "Columns": [_column(c) for c in storage.get("Columns", [])],
        "Location": storage.get("Location"),
        "InputFormat": storage.get("InputFormat"),
        "OutputFormat": storage.get("OutputFormat"),
        "SerializationLibrary": storage.get("SerdeInfo", {}).get("SerializationLibrary"),
    }


def _column(column: dict[str, Any]) -> dict[str, str]:
    return {"Name": column["Name"], "Type": column["Type"]}
