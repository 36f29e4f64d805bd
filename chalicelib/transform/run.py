"""Transform one run: raw answers -> digest, plays, the day's catalog and its snapshot."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from typing import Any

import pyarrow as pa

from chalicelib import raw
from chalicelib.history.match import BOTH
from chalicelib.lake import Lake
from chalicelib.raw import Manifest
from chalicelib.runs import RunStore, Status
from chalicelib.schema import CATALOG_TABLES, SNAPSHOT_TABLES, TABLES, month_of
from chalicelib.streams import add_part
from chalicelib.transform import summary
from chalicelib.transform.commit import commit
from chalicelib.transform.day import day_manifests, snapshot_runs, snapshot_tables_of
from chalicelib.transform.digest import (
    DayState,
    day_state_keys,
    digested_runs,
    read_digest,
    write_digest,
)
from chalicelib.transform.merge import finish_catalog, merge_plays, repeated_plays
from chalicelib.transform.parse import RunRows
from chalicelib.transform.quarantine import lift, quarantine
from chalicelib.transform.read import Problem, ReadRun, read_answer, read_run, unique_parts
from chalicelib.transform.tables import CONVERSION_ERRORS, RunTables, by_played_date, run_tables
from chalicelib.transform.write import from_parquet, month_bytes, split_days

APPLIED = "applied"
SUPERSEDED = "superseded"
NONE = "none"
MAX_RECORDED_ERRORS = 20

# Snapshot tables of a day, each with the run whose snapshot its rows are.
Snapshot = dict[str, tuple[str, pa.Table]]
# The tables a day's runs write by their snapshot date (plays go by their played date).
DAY_TABLES = (*CATALOG_TABLES, *SNAPSHOT_TABLES)


def utc_now() -> datetime:
    """The time now, in UTC: the default clock of the transform."""
    return datetime.now(UTC)


def transform_run(lake: Lake, manifest_key: str, *, now: Callable[[], datetime] = utc_now) -> dict:
    """Transform the run whose manifest is at `manifest_key`; bad raw input is quarantined."""
    run, tables = load_run(lake, manifest_key)
    if tables is None:
        return fail(lake, run, now)
    date, run_id = run.snapshot_date, run.run_id
    write_digest(lake, date, run_id, tables.digest)
    fared = merge_plays_into(lake, tables.plays).fared
    snapshot = {t: (run_id, tables.snapshot[t]) for t in snapshot_tables_of(run.manifest)}
    written = write_day(lake, date, {run_id: tables.digest}, snapshot, now)
    state = snapshot_state(run, list(written))
    return succeed(lake, run, tables.row_counts(), tables.null_entries, state, now, fared)


def write_day(
    lake: Lake,
    snapshot_date: str,
    digests: dict[str, dict[str, pa.Table]],
    snapshot: Snapshot,
    now: Callable[[], datetime],
    *,
    fresh: Collection[str] = (),
) -> Snapshot:
    """Replace the day's catalog, merged from every digest of the day, and each snapshot
    table whose latest run of the day is the one `snapshot` holds it from; those tables.
    The objects named in `fresh` (months, the day's reduction) are started anew rather than
    added to.

    The day's digests are kept reduced to one (chalicelib.transform.digest.DayState): this
    run's digest, and those of any run of the day the reduction does not hold yet, are
    added to it; a run it holds already (a replay, whose digest a newer version may make
    otherwise) has the day reduced again from every digest. One conditional commit
    (chalicelib.transform.commit) of the reduction and the day's rows in their months'
    objects: a run of the same day landing meanwhile is either listed here or makes this
    write start over, and a run of another day of the month makes it start over.
    """
    keys = {name: TABLES[name].partition_key(snapshot_date) for name in DAY_TABLES}
    state_keys = day_state_keys(snapshot_date)
    written: Snapshot = {}

    def build(current: dict[str, bytes | None]) -> dict[str, bytes]:
        day = DayState.read(current, snapshot_date)
        if day.runs.keys() & digests.keys() or any(key in fresh for key in state_keys.values()):
            day = DayState()
        manifests = day_manifests(lake, snapshot_date, keep=digests.keys(), known=day.runs)
        added, valid = _day_digests(lake, snapshot_date, manifests, digests, now)
        state = day.add({m.run_id: snapshot_tables_of(m) for m in valid}, added)
        chosen = snapshot_runs(state.runs)
        written.clear()
        written.update(
            {table: held for table, held in snapshot.items() if chosen.get(table) == held[0]}
        )
        tables = {**finish_catalog(state.tables), **{t: rows for t, (_, rows) in written.items()}}
        months = {
            keys[name]: month_bytes(
                name, current[keys[name]], {snapshot_date: table}, anew=keys[name] in fresh
            )
            for name, table in tables.items()
        }
        changed = {key: data for key, data in months.items() if data is not None}
        return {**changed, **state.objects(snapshot_date)}

    commit(lake, [*keys.values(), *state_keys.values()], build)
    return written


def load_run(lake: Lake, manifest_key: str) -> tuple[ReadRun, RunTables | None]:
    """A run read and converted to tables, or with the problems that stop it."""
    run = read_run(lake, manifest_key)
    if run.rows is None:
        return run, None
    try:
        tables = run_tables(run.rows, run.run_id)
    except CONVERSION_ERRORS as error:
        tables = None
        run.problems = _wrong_types(lake, run) or [Problem(manifest_key, _wrong_type(error))]
    run.rows = None  # the tables hold it all now
    return run, tables


def _wrong_types(lake: Lake, run: ReadRun) -> list[Problem]:
    """The parts holding a value of the wrong type for its column, found one part at a time."""
    problems = []
    for part in unique_parts(run.manifest) if run.manifest else []:
        rows = RunRows(withheld=run.rows.withheld if run.rows else frozenset())
        add_part(rows, part, read_answer(lake.get(part.key)))
        try:
            run_tables(rows, run.run_id)
        except CONVERSION_ERRORS as error:
            problems.append(Problem(part.key, _wrong_type(error)))
    return problems


def _wrong_type(error: Exception) -> str:
    return f"a value of the wrong type: {type(error).__name__}: {error}"


def merge_plays_into(
    lake: Lake, plays: dict[str, pa.Table], *, fresh: Collection[str] = ()
) -> Merged:
    """Merge plays into their played dates (starting the month objects named in `fresh`
    anew rather than merging with them); how the plays brought fared (`plays_fared`), over
    every date, and the month objects written.

    The dates of one month are merged together, each with the day before and the day
    after: a playback across midnight has its export entry (dated by its end) and the API's
    play (dated by its start, on some clients) on two days, and becomes one row on the
    API's. Each month is one conditional commit over its object and its neighbours'.
    """
    merged = Merged({name: 0 for name in FARED}, set())
    for _, group in groupby(sorted(plays), key=month_of):
        chunk = list(group)
        span = sorted({shift_day(day, offset) for day in chunk for offset in (-1, 0, 1)})
        keys = sorted({partition_of(day) for day in span})
        fared: dict[str, int] = {}
        figures: dict[str, dict[str, Any] | None] = {}

        def build(
            current: dict[str, bytes | None],
            chunk=chunk,
            span=span,
            fared=fared,
            figures=figures,
        ):
            months = {
                key: split_days("plays", from_parquet(data))
                for key, data in current.items()
                if data is not None and key not in fresh
            }
            existing = {
                day: rows
                for days in months.values()
                for day, rows in days.items()
                if day in span
            }
            brought = pa.concat_tables([plays[day] for day in chunk])
            result = merge_plays([*existing.values(), brought])
            old = pa.concat_tables(existing.values()) if existing else None
            fared.clear()
            fared.update(plays_fared(old, brought, result))
            by_day = by_played_date(result)
            days = {day: by_day.get(day, result.slice(0, 0)) for day in span}
            figures.clear()
            for key in current:
                month = {**months.get(key, {})}
                month.update({day: rows for day, rows in days.items() if partition_of(day) == key})
                figures[month_of_key(key)] = summary.month_figures(month.values())
            written = {
                key: month_bytes(
                    "plays",
                    data,
                    {day: rows for day, rows in days.items() if partition_of(day) == key},
                    anew=key in fresh,
                )
                for key, data in current.items()
            }
            return {key: data for key, data in written.items() if data is not None}

        written = commit(lake, keys, build)
        for name in FARED:
            merged.fared[name] += fared[name]
        merged.written.update(written)
        summary.save(lake, {month_of_key(key): figures[month_of_key(key)] for key in written})
    return merged


def month_of_key(key: str) -> str:
    """The month (`2026-11`) of a plays month object's key."""
    return key.rsplit("=", 1)[1].split("/", 1)[0]


def partition_of(day: str) -> str:
    """The key of the object holding the plays of the ISO date `day`."""
    return TABLES["plays"].partition_key(day)


@dataclass
class Merged:
    """What merge_plays_into did: how the plays fared, and the month objects it wrote."""

    fared: dict[str, int]
    written: set[str]


def shift_day(day: str, offset: int) -> str:
    """The ISO day `offset` days from `day`."""
    return (date.fromisoformat(day) + timedelta(days=offset)).isoformat()


FARED = ("new", "merged", "known", "duplicates")


def plays_fared(existing: pa.Table | None, brought: pa.Table, merged: pa.Table) -> dict[str, int]:
    """Of the plays `brought` into a partition: how many are rows of their own (new), how
    many became one row with the other source's play of them (merged: an export's entry
    with the API's play, or the reverse), how many the partition held already (known: a
    play polled again, an export imported again) and how many repeat another brought with
    them (duplicates: an entry an export holds twice). The four add up to those brought."""
    before = 0 if existing is None else existing.num_rows
    absorbed = before + brought.num_rows - merged.num_rows
    merged_now = _both(merged) - (0 if existing is None else _both(existing))
    duplicates = repeated_plays(brought)
    return {
        "new": brought.num_rows - absorbed,
        "merged": merged_now,
        "known": absorbed - merged_now - duplicates,
        "duplicates": duplicates,
    }


def _both(plays: pa.Table) -> int:
    """How many of the plays both the API and an export saw."""
    if "source" not in plays.column_names:
        return 0  # written before exports were imported: the API's alone
    return plays.column("source").to_pylist().count(BOTH)


def snapshot_state(run: ReadRun, applied: list[str]) -> str:
    """What the run did to its day's snapshot: applied, superseded, or none (not a snapshot)."""
    if applied:
        return APPLIED
    return SUPERSEDED if run.manifest and snapshot_tables_of(run.manifest) else NONE


def succeed(
    lake: Lake,
    run: ReadRun,
    rows: dict[str, int],
    null_entries: int,
    snapshot: str,
    now: Callable[[], datetime],
    plays: dict[str, int] | None = None,
) -> dict:
    """Record the run as transformed (with how its plays fared, when they were merged one
    run at a time); its summary."""
    finished_at = raw.iso_utc(now())
    lift(lake, run.run_id, finished_at)
    transform = {
        "status": Status.TRANSFORMED,
        "finished_at": finished_at,
        "rows": rows,
        "null_entries": null_entries,
        "snapshot": snapshot,
        **({"plays": plays} if plays is not None else {}),
    }
    status = _record(lake, run.run_id, transform, [])
    summary = {key: value for key, value in transform.items() if key != "finished_at"}
    return {"run_id": run.run_id, **summary, "status": status}


def fail(lake: Lake, run: ReadRun, now: Callable[[], datetime]) -> dict:
    """Quarantine the run's offending objects and record it as failed; its summary."""
    finished_at = raw.iso_utc(now())
    prefix = quarantine(lake, run.run_id, run.manifest_key, run.problems, finished_at)
    errors = [str(problem) for problem in run.problems[:MAX_RECORDED_ERRORS]]
    if len(run.problems) > MAX_RECORDED_ERRORS:
        errors.append(f"... {len(run.problems) - MAX_RECORDED_ERRORS} more in {prefix}")
    transform = {
        "status": Status.FAILED,
        "finished_at": finished_at,
        "quarantine": prefix,
        "snapshot": NONE,
    }
    _record(lake, run.run_id, transform, errors)
    return {
        "run_id": run.run_id,
        "status": Status.FAILED,
        "rows": {},
        "null_entries": 0,
        "snapshot": NONE,
        "errors": errors,
        "quarantine": prefix,
    }


def _record(lake: Lake, run_id: str, transform: dict, errors: list[str]) -> Status:
    """Record the transform's outcome in the run's record (RunRecord.transform_ended says
    how); the run's status now."""
    store = RunStore(lake)
    record = store.of_landed_run(run_id)
    record.transform_ended(transform, errors)
    store.save(record)
    return record.status


def _day_digests(
    lake: Lake,
    snapshot_date: str,
    manifests: list[Manifest],
    known: dict[str, dict[str, pa.Table]],
    now: Callable[[], datetime],
) -> tuple[list[dict[str, pa.Table]], list[Manifest]]:
    """The digests of these runs of the day that are valid (digesting runs whose transform
    never ran or whose digest an earlier version wrote, and quarantining those that cannot
    be), and those runs' manifests."""
    digested: set[str] | None = None  # listed only for a run whose digest is not at hand
    digests, valid = [], []
    for manifest in manifests:
        digest = known.get(manifest.run_id)
        if digest is None:
            digested = digested_runs(lake, snapshot_date) if digested is None else digested
            if manifest.run_id in digested:
                digest = read_digest(lake, snapshot_date, manifest.run_id)
        if digest is None:
            other, tables = load_run(lake, manifest.key)
            if tables is None:
                fail(lake, other, now)
                continue
            write_digest(lake, snapshot_date, manifest.run_id, tables.digest)
            digest = tables.digest
        digests.append(digest)
        valid.append(manifest)
    return digests, valid
