"""Rebuild every processed table from raw/, one snapshot date at a time.

Memory is bounded by one day's runs: a run's pages are parsed one at a time into rows, and
a day's tables are written before the next day is read. A day's catalog and snapshot go
through the same conditional commit as a single run's, so a run landing during the rebuild
keeps its place in them. A month's object is started anew the first time the rebuild
writes it (what it held before is not read: a damaged object is rebuilt too), which could
drop the rows of a run that landed after the rebuild listed raw/; so the runs that landed
meanwhile are transformed once more at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby

import pyarrow as pa

from chalicelib import raw
from chalicelib.lake import Lake
from chalicelib.schema import TABLES
from chalicelib.transform.day import snapshot_tables_of
from chalicelib.transform.digest import day_state_keys, write_digest
from chalicelib.transform.read import ReadRun
from chalicelib.transform.run import (
    DAY_TABLES,
    Snapshot,
    fail,
    load_run,
    merge_plays_into,
    partition_of,
    shift_day,
    snapshot_state,
    succeed,
    transform_run,
    utc_now,
    write_day,
)
from chalicelib.transform.tables import RunTables


@dataclass
class DayBuild:
    """What one day's runs add up to, held until the day's partitions are written."""

    digests: dict[str, dict[str, pa.Table]] = field(default_factory=dict)
    plays: dict[str, list[pa.Table]] = field(default_factory=dict)
    snapshot: Snapshot = field(default_factory=dict)
    runs: list[tuple[ReadRun, dict[str, int], int]] = field(default_factory=list)

    def add(self, run: ReadRun, tables: RunTables) -> None:
        self.digests[run.run_id] = tables.digest
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
    keys = _manifest_keys(lake)
    summaries: list[dict] = []
    rebuilt: set[str] = set()  # the month objects written so far
    for snapshot_date, day_keys in groupby(keys, key=lambda k: raw.run_of_manifest(k)[0]):
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
        summaries.extend(_write_day(lake, snapshot_date, build, rebuilt, now))
    landed = sorted(set(_manifest_keys(lake)) - set(keys), key=raw.run_of_manifest)
    summaries += [transform_run(lake, key, now=now) for key in landed]
    return summaries


def _manifest_keys(lake: Lake) -> list[str]:
    keys = (key for key in lake.list(f"{raw.RAW}/") if raw.is_manifest_key(key))
    return sorted(keys, key=raw.run_of_manifest)


def _write_day(
    lake: Lake,
    snapshot_date: str,
    build: DayBuild,
    rebuilt: set[str],
    now: Callable[[], datetime],
) -> Iterator[dict]:
    written = {}
    if build.runs:
        keys = {TABLES[name].partition_key(snapshot_date) for name in DAY_TABLES}
        fresh = (keys - rebuilt) | set(day_state_keys(snapshot_date).values())
        written = write_day(lake, snapshot_date, build.digests, build.snapshot, now, fresh=fresh)
        rebuilt.update(keys)
    plays = {played_date: pa.concat_tables(tables) for played_date, tables in build.plays.items()}
    months = {partition_of(shift_day(day, offset)) for day in plays for offset in (-1, 0, 1)}
    rebuilt.update(merge_plays_into(lake, plays, fresh=months - rebuilt).written)
    for run, rows, null_entries in build.runs:
        applied = [table for table, (run_id, _) in written.items() if run_id == run.run_id]
        yield succeed(lake, run, rows, null_entries, snapshot_state(run, applied), now)
