"""Transform one run: raw answers -> digest, plays, the day's catalog and its snapshot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pyarrow as pa

from chalicelib import raw
from chalicelib.history.match import BOTH
from chalicelib.lake import Lake
from chalicelib.raw import Manifest
from chalicelib.runs import RunStore, Status
from chalicelib.schema import CATALOG_TABLES, SNAPSHOT_TABLES, TABLES
from chalicelib.streams import add_part
from chalicelib.transform.commit import commit
from chalicelib.transform.day import day_manifests, snapshot_runs, snapshot_tables_of
from chalicelib.transform.digest import digested_runs, read_digest, write_digest
from chalicelib.transform.merge import merge_catalog, merge_plays
from chalicelib.transform.parse import RunRows
from chalicelib.transform.quarantine import lift, quarantine
from chalicelib.transform.read import Problem, ReadRun, read_answer, read_run, unique_parts
from chalicelib.transform.tables import CONVERSION_ERRORS, RunTables, run_tables
from chalicelib.transform.write import from_parquet, partition_bytes

APPLIED = "applied"
SUPERSEDED = "superseded"
NONE = "none"
MAX_RECORDED_ERRORS = 20

# Snapshot tables of a day, each with the run whose snapshot its rows are.
Snapshot = dict[str, tuple[str, pa.Table]]


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
    fared = merge_plays_into(lake, tables.plays)
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
) -> Snapshot:
    """Replace the day's catalog, merged from every digest of the day, and each snapshot
    table whose latest run of the day is the one `snapshot` holds it from; those tables.

    One conditional commit (chalicelib.transform.commit): a run of the same day landing
    meanwhile is either listed here or makes this write start over.
    """
    keys = {
        name: TABLES[name].partition_key(snapshot_date)
        for name in (*CATALOG_TABLES, *SNAPSHOT_TABLES)
    }
    written: Snapshot = {}

    def build(_: dict[str, bytes | None]) -> dict[str, bytes]:
        manifests = day_manifests(lake, snapshot_date, keep=digests.keys())
        day_digests, valid = _day_digests(lake, snapshot_date, manifests, digests, now)
        chosen = snapshot_runs(valid)
        written.clear()
        written.update(
            {table: held for table, held in snapshot.items() if chosen.get(table) == held[0]}
        )
        tables = {**merge_catalog(day_digests), **{t: rows for t, (_, rows) in written.items()}}
        return {keys[name]: partition_bytes(name, table) for name, table in tables.items()}

    commit(lake, list(keys.values()), build)
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
    lake: Lake, plays: dict[str, pa.Table], *, fresh: bool = False
) -> dict[str, int]:
    """Merge plays into their played_date partitions (replacing them when `fresh`); how
    the plays brought fared (`plays_fared`), over every partition."""
    fared: dict[str, dict[str, int]] = {}
    for played_date, table in plays.items():
        key = TABLES["plays"].partition_key(played_date)

        def build(current: dict[str, bytes | None], key=key, table=table) -> dict[str, bytes]:
            existing = None if fresh or current[key] is None else from_parquet(current[key])
            merged = merge_plays([table] if existing is None else [existing, table])
            fared[key] = plays_fared(existing, table, merged)
            return {key: partition_bytes("plays", merged)}

        commit(lake, [key], build)
    return {name: sum(f[name] for f in fared.values()) for name in FARED}


FARED = ("new", "merged", "known")


def plays_fared(existing: pa.Table | None, brought: pa.Table, merged: pa.Table) -> dict[str, int]:
    """Of the plays `brought` into a partition: how many are rows of their own (new), how
    many became one row with the other source's play of them (merged: an export's entry
    with the API's play, or the reverse), and how many the partition held already (known:
    a play polled again, an export imported again)."""
    before = 0 if existing is None else existing.num_rows
    absorbed = before + brought.num_rows - merged.num_rows
    merged_now = _both(merged) - (0 if existing is None else _both(existing))
    new = brought.num_rows - absorbed
    return {"new": new, "merged": merged_now, "known": absorbed - merged_now}


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
    """The digests of the day's valid runs (digesting runs whose transform never ran or whose
    digest an earlier version wrote, and quarantining those that cannot be), and those runs'
    manifests."""
    digested = digested_runs(lake, snapshot_date)
    digests, valid = [], []
    for manifest in manifests:
        digest = known.get(manifest.run_id)
        if digest is None and manifest.run_id in digested:
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
