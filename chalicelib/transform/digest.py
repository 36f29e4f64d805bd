"""Per-run digests: the catalog rows one run references, kept for the day's merge; and the
day's digests reduced to one, which each transform of the day adds its run to.

    state/digests/<snapshot_date>/<run_id>/<table>.parquet    tracks, track_artists, albums,
                                                              artists, each with _rank, _run_id
    state/days/<snapshot_date>/<table>.parquet                the day's reduction, the same
                                                              tables, naming the runs it holds

A day's catalog is the merge of every digest of the day, so a run transformed late, or
twice, yields the same partitions as runs transformed in order. Reducing is associative
(chalicelib.transform.merge.reduce_catalog), so the last poll of a day of 49 runs reads the
day's reduction, not 48 digests and 48 manifests again: a transform costs the same requests
however many runs the day has had.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq

from chalicelib.lake import Lake
from chalicelib.schema import CATALOG_TABLES
from chalicelib.transform.merge import reduce_catalog
from chalicelib.transform.tables import digest_schema
from chalicelib.transform.write import COMPRESSION, from_parquet, to_parquet

DIGESTS = "state/digests/"
DAYS = "state/days/"
RUNS = b"runs"  # the Parquet metadata naming a reduction's runs


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


def day_state_keys(snapshot_date: str) -> dict[str, str]:
    """The objects of a day's reduction, by table."""
    return {name: f"{DAYS}{snapshot_date}/{name}.parquet" for name in CATALOG_TABLES}


@dataclass
class DayState:
    """A day's digests reduced to one, with the runs it holds and, for each, the snapshot
    tables it can provide (chalicelib.transform.day.snapshot_tables_of)."""

    tables: dict[str, pa.Table] = field(default_factory=dict)
    runs: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def read(cls, current: Mapping[str, bytes | None], snapshot_date: str) -> DayState:
        """The reduction in `current` (objects by key), of the runs all its tables hold;
        none where a table is missing or has other columns (an earlier version wrote it)."""
        state = cls()
        held: set[str] | None = None
        for name, key in day_state_keys(snapshot_date).items():
            data = current.get(key)
            if data is None:
                return cls()
            stored = pq.ParquetFile(pa.BufferReader(data))
            table = stored.read()
            if table.schema.names != digest_schema(name).names:
                return cls()
            state.tables[name] = table.cast(digest_schema(name))
            runs = json.loads(stored.schema_arrow.metadata[RUNS])
            state.runs.update(runs)
            held = set(runs) if held is None else held & set(runs)
        # A write interrupted between tables leaves some holding a run the others do not:
        # the runs all hold, and adding the others again is harmless (reducing is idempotent).
        state.runs = {run: tables for run, tables in state.runs.items() if run in (held or ())}
        return state

    def add(
        self, runs: Mapping[str, Collection[str]], digests: list[dict[str, pa.Table]]
    ) -> DayState:
        """The reduction with these runs and their digests added."""
        added = {run: sorted(tables) for run, tables in runs.items()}
        if not digests:
            return DayState(self.tables, {**self.runs, **added})
        parts = ([self.tables] if self.tables else []) + digests
        return DayState(reduce_catalog(parts), {**self.runs, **added})

    def objects(self, snapshot_date: str) -> dict[str, bytes]:
        """The reduction's objects, by key, each naming the runs it holds."""
        runs = json.dumps(self.runs, sort_keys=True).encode()
        objects = {}
        for name, key in day_state_keys(snapshot_date).items():
            sink = pa.BufferOutputStream()
            table = self.tables[name].replace_schema_metadata({RUNS: runs})
            pq.write_table(table, sink, compression=COMPRESSION)
            objects[key] = sink.getvalue().to_pybytes()
        return objects
