"""Per-run digests: the catalog rows one run references, kept for the day's merge.

    state/digests/<snapshot_date>/<run_id>/<table>.parquet    tracks, track_artists, albums,
                                                              artists, each with _rank, _run_id

A day's catalog partitions are the merge of every digest of the day, so a run transformed
late, or twice, yields the same partitions as runs transformed in order.
"""

from __future__ import annotations

import pyarrow as pa

from chalicelib.lake import Lake
from chalicelib.schema import CATALOG_TABLES
from chalicelib.transform.tables import digest_schema
from chalicelib.transform.write import from_parquet, to_parquet

DIGESTS = "state/digests/"


def digest_key(snapshot_date: str, run_id: str, name: str) -> str:
    return f"{DIGESTS}{snapshot_date}/{run_id}/{name}.parquet"


def write_digest(lake: Lake, snapshot_date: str, run_id: str, digest: dict[str, pa.Table]) -> None:
    """Store a run's digest; the tables go first to last, so the last one marks it whole."""
    for name in CATALOG_TABLES:
        lake.put(digest_key(snapshot_date, run_id, name), to_parquet(digest[name]))


def read_digest(lake: Lake, snapshot_date: str, run_id: str) -> dict[str, pa.Table] | None:
    """A run's stored digest; None where it has other columns (an earlier version wrote it),
    so the caller digests the run from raw again, as a digest only caches what raw holds."""
    digest = {}
    for name in CATALOG_TABLES:
        table = from_parquet(lake.get(digest_key(snapshot_date, run_id, name)))
        schema = digest_schema(name)
        if table.schema.names != schema.names:
            return None
        digest[name] = table.cast(schema)
    return digest


def digested_runs(lake: Lake, snapshot_date: str) -> set[str]:
    """The runs of a day whose digest is whole (every table stored)."""
    tables: dict[str, set[str]] = {}
    for key in lake.list(f"{DIGESTS}{snapshot_date}/"):
        run_id, _, file_name = key[len(DIGESTS) + len(snapshot_date) + 1 :].partition("/")
        tables.setdefault(run_id, set()).add(file_name)
    whole = {f"{name}.parquet" for name in CATALOG_TABLES}
    return {run_id for run_id, names in tables.items() if names >= whole}
