"""Transform one run: raw answers -> digest, plays, the day's catalog and its snapshot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pyarrow as pa

from chalicelib.lake import Lake
from chalicelib.raw import Manifest
from chalicelib.runs import FAILED, TRANSFORMED, RunStore
from chalicelib.transform.day import day_manifests, snapshot_runs, snapshot_tables_of
from chalicelib.transform.digest import digested_runs, read_digest, write_digest
from chalicelib.transform.merge import merge_catalog, merge_plays
from chalicelib.transform.parse import RunRows, add_part
from chalicelib.transform.quarantine import lift, quarantine
from chalicelib.transform.read import Problem, ReadRun, read_answer, read_run
from chalicelib.transform.tables import CONVERSION_ERRORS, RunTables, run_tables
from chalicelib.transform.write import read_partition, write_partition

APPLIED = "applied"
SUPERSEDED = "superseded"
NONE = "none"
MAX_RECORDED_ERRORS = 20


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
    merge_plays_into(lake, tables.plays)
    manifests = day_manifests(lake, date, keep=run_id)
    manifests = _write_catalog(lake, date, manifests, {run_id: tables.digest}, now)
    chosen = snapshot_runs(manifests)
    applied = [table for table, chosen_id in chosen.items() if chosen_id == run_id]
    for table in applied:
        write_partition(lake, table, date, tables.snapshot[table])
    state = snapshot_state(run, applied)
    return succeed(lake, run, tables.row_counts(), tables.null_entries, state, now)


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
    for part in run.manifest.parts if run.manifest else []:
        rows = RunRows(withheld=run.rows.withheld if run.rows else frozenset())
        add_part(rows, part, read_answer(lake.get(part.key)))
        try:
            run_tables(rows, run.run_id)
        except CONVERSION_ERRORS as error:
            problems.append(Problem(part.key, _wrong_type(error)))
    return problems


def _wrong_type(error: Exception) -> str:
    return f"a value of the wrong type: {type(error).__name__}: {error}"


def merge_plays_into(lake: Lake, plays: dict[str, pa.Table], *, fresh: bool = False) -> None:
    """Merge plays into their played_date partitions (replacing them when `fresh`)."""
    for played_date, table in plays.items():
        existing = None if fresh else read_partition(lake, "plays", played_date)
        merged = merge_plays([table] if existing is None else [existing, table])
        if existing is None or not merged.equals(existing):
            write_partition(lake, "plays", played_date, merged)


def write_catalog(lake: Lake, snapshot_date: str, digests: list[dict[str, pa.Table]]) -> None:
    """The day's catalog partitions, merged from all its digests."""
    if digests:
        for name, table in merge_catalog(digests).items():
            write_partition(lake, name, snapshot_date, table)


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
) -> dict:
    """Record the run as transformed; its summary."""
    finished_at = iso_utc(now())
    lift(lake, run.run_id, finished_at)
    transform = {
        "finished_at": finished_at,
        "rows": rows,
        "null_entries": null_entries,
        "snapshot": snapshot,
    }
    RunStore(lake).update(run.run_id, status=TRANSFORMED, transform=transform)
    return {
        "run_id": run.run_id,
        "status": TRANSFORMED,
        "rows": rows,
        "null_entries": null_entries,
        "snapshot": snapshot,
    }


def fail(lake: Lake, run: ReadRun, now: Callable[[], datetime]) -> dict:
    """Quarantine the run's offending objects and record it as failed; its summary."""
    finished_at = iso_utc(now())
    prefix = quarantine(lake, run.run_id, run.manifest_key, run.problems, finished_at)
    errors = [str(problem) for problem in run.problems[:MAX_RECORDED_ERRORS]]
    if len(run.problems) > MAX_RECORDED_ERRORS:
        errors.append(f"... {len(run.problems) - MAX_RECORDED_ERRORS} more in {prefix}")
    transform = {"finished_at": finished_at, "quarantine": prefix, "snapshot": NONE}
    RunStore(lake).update(run.run_id, status=FAILED, errors=errors, transform=transform)
    return {
        "run_id": run.run_id,
        "status": FAILED,
        "rows": {},
        "null_entries": 0,
        "snapshot": NONE,
        "errors": errors,
        "quarantine": prefix,
    }


def iso_utc(moment: datetime) -> str:
    """`2026-11-26T13:52:00Z`, as run records write times."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _write_catalog(
    lake: Lake,
    snapshot_date: str,
    manifests: list[Manifest],
    known: dict[str, dict[str, pa.Table]],
    now: Callable[[], datetime],
) -> list[Manifest]:
    """Write the day's catalog, digesting runs whose transform never ran; the valid runs."""
    digested = digested_runs(lake, snapshot_date)
    digests, valid = [], []
    for manifest in manifests:
        if manifest.run_id in known:
            digests.append(known[manifest.run_id])
            valid.append(manifest)
            continue
        if manifest.run_id in digested:
            digests.append(read_digest(lake, snapshot_date, manifest.run_id))
            valid.append(manifest)
            continue
        other, tables = load_run(lake, manifest.key)
        if tables is None:
            fail(lake, other, now)
            continue
        write_digest(lake, snapshot_date, manifest.run_id, tables.digest)
        digests.append(tables.digest)
        valid.append(manifest)
    write_catalog(lake, snapshot_date, digests)
    return valid
