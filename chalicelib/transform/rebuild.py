"""Rebuild every processed table from raw/, one snapshot date at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby

import pyarrow as pa

from chalicelib import raw
from chalicelib.lake import Lake
from chalicelib.transform.day import snapshot_tables_of
from chalicelib.transform.digest import write_digest
from chalicelib.transform.read import ReadRun, run_of
from chalicelib.transform.run import (
    fail,
    load_run,
    merge_plays_into,
    snapshot_state,
    succeed,
    utc_now,
    write_catalog,
)
from chalicelib.transform.tables import RunTables
from chalicelib.transform.write import write_partition


@dataclass
class DayBuild:
    """What one day's runs add up to, held until the day's partitions are written."""

    digests: list[dict[str, pa.Table]] = field(default_factory=list)
    plays: dict[str, list[pa.Table]] = field(default_factory=dict)
    snapshot: dict[str, tuple[str, pa.Table]] = field(default_factory=dict)
    runs: list[tuple[ReadRun, dict[str, int], int]] = field(default_factory=list)

    def add(self, run: ReadRun, tables: RunTables) -> None:
        self.digests.append(tables.digest)
        for played_date, plays in tables.plays.items():
            self.plays.setdefault(played_date, []).append(plays)
        for table in snapshot_tables_of(run.manifest):  # runs come in run_id order: latest wins
            self.snapshot[table] = (run.run_id, tables.snapshot[table])
        self.runs.append((run, tables.row_counts(), tables.null_entries))


def transform_all(
    lake: Lake,
    *,
    progress: Callable[[int, int], None] | None = None,
    now: Callable[[], datetime] = utc_now,
) -> list[dict]:
    """Rebuild every table from raw/, day by day (memory bounded by one day); the summaries."""
    keys = sorted((k for k in lake.list(f"{raw.RAW}/") if raw.is_manifest_key(k)), key=run_of)
    summaries: list[dict] = []
    rebuilt_plays: set[str] = set()
    for snapshot_date, day_keys in groupby(keys, key=lambda k: run_of(k)[0]):
        build = DayBuild()
        for key in day_keys:
            run, tables = load_run(lake, key)
            if tables is None:
                summaries.append(fail(lake, run, now))
            else:
                write_digest(lake, snapshot_date, run.run_id, tables.digest)
                build.add(run, tables)
            if progress:
                progress(len(summaries) + len(build.runs), len(keys))
        summaries.extend(_write_day(lake, snapshot_date, build, rebuilt_plays, now))
    return summaries


def _write_day(
    lake: Lake,
    snapshot_date: str,
    build: DayBuild,
    rebuilt_plays: set[str],
    now: Callable[[], datetime],
) -> Iterator[dict]:
    write_catalog(lake, snapshot_date, build.digests)
    for table, (_, rows) in build.snapshot.items():
        write_partition(lake, table, snapshot_date, rows)
    for played_date, plays in build.plays.items():
        # The first time a rebuild touches a partition it replaces it, dropping stale rows.
        fresh = played_date not in rebuilt_plays
        merge_plays_into(lake, {played_date: pa.concat_tables(plays)}, fresh=fresh)
        rebuilt_plays.add(played_date)
    for run, rows, null_entries in build.runs:
        applied = [t for t, (run_id, _) in build.snapshot.items() if run_id == run.run_id]
        yield succeed(lake, run, rows, null_entries, snapshot_state(run, applied), now)
