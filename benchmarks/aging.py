"""How the lake's reads grow with its age: a young lake and an aged one, side by side.

    .venv/bin/python benchmarks/aging.py [--entries 500000] [--repeat 3] [--keep DIR]

1. young: the demo's account (seed 7), five days of its schedules (20 runs) after a year of
   history imported, made by `spotify-etl demo`'s code.
2. aged: the young lake, then a real import of a ten-year export of `--entries` entries
   (benchmarks/import.py's, over 2016 to 2026) by `pipeline.import_history`; then,
   synthesised: three years of daily snapshots before the first (copies of the first day's,
   in their months' objects) and 50,000 run records every 30 minutes over three years
   (copies of one).
3. Each measure runs in a fresh interpreter, `--repeat` times, its median; the modules it
   needs are imported before its clock starts: a plays poll and a snapshot run against the
   emulator (extract and transform, on a copy of the lake), `runs` (the newest 20 records,
   once the lake's runs are indexed, as they are after a deployment's first read of them),
   every named query over the last 30 days and over the whole history, and the dashboard for
   the last 30 days and for the whole history, with the page's size.
4. On moto, once: the S3 requests of `runs` (the first, which indexes the records a lake
   holds from before the index, and the next) and of the transform of a plays poll.

Goals (issue 23): aged/young <= 1.2 for the runs and `runs`, <= 1.5 for the 30-day queries and
the dashboard; a whole-history query <= 3 x a young 30-day one; the page < 1 MB.
"""

from __future__ import annotations

import argparse
import importlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.peak import run_python  # noqa: E402

SEED = 7
DAYS = 5  # of the demo's schedules: 20 runs
SNAPSHOT_YEARS = 3
RUN_RECORDS = 50_000
FIRST_PLAY = "2008-10-07"  # the whole history: from Spotify's launch
LAKES = ("young", "aged")


def build(folder: Path, entries: int) -> None:
    """The young and the aged lake under `folder`."""
    from chalicelib import pipeline
    from chalicelib.accounts import AccountLake
    from chalicelib.lake import LocalLake
    from chalicelib.runs import RunStore
    from chalicelib.settings import Settings
    from spotify_etl import output
    from spotify_etl.demo import run_demo

    young, aged = folder / "young", folder / "aged"
    output.console.quiet = True  # the demo's tables
    run_demo(str(young), days=DAYS, seed=SEED, first_day=_first_day())
    output.console.quiet = False
    shutil.copytree(young, aged)
    export = folder / "export.zip"
    importlib.import_module("benchmarks.import").write_export(export, entries, 5_000)
    settings = Settings.from_env({"LAKE_URI": str(aged)})
    pipeline.import_history(settings, export, account=listener())
    export.unlink()
    _older_snapshots(AccountLake(LocalLake(aged), listener()))
    _run_records(Path(AccountLake(LocalLake(aged), listener()).uri("runs")))
    for lake in (young, aged):  # as a deployment is after its first read of the runs
        RunStore(AccountLake(LocalLake(lake), listener())).recent()


def listener() -> str:
    """The demo's first listener, whose lake ages here and whose reads are measured."""
    from emulator import Emulator

    return Emulator(seed=SEED).users[0].user_id


def _first_day() -> datetime:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=DAYS)


def _older_snapshots(lake) -> None:
    """Each snapshot table's first day, copied to every day of SNAPSHOT_YEARS before it,
    into those days' months, as the transform writes them."""
    from itertools import groupby

    from chalicelib.schema import TABLES, month_of
    from chalicelib.transform.write import from_parquet, month_bytes, split_days

    for name, table in TABLES.items():
        keys = sorted(lake.list(table.prefix()))
        if table.date_column != "snapshot_date" or not keys:
            continue
        days = split_days(name, from_parquet(lake.get(keys[0])))
        first = min(days)
        older = (
            (date.fromisoformat(first) - timedelta(days=back)).isoformat()
            for back in range(SNAPSHOT_YEARS * 365, 0, -1)
        )
        for _, group in groupby(older, key=month_of):
            group = list(group)
            key = table.partition_key(group[0])
            current = lake.get(key) if lake.exists(key) else None
            lake.put(key, month_bytes(name, current, {day: days[first] for day in group}))


def _run_records(runs: Path) -> None:
    sample = json.loads(min(runs.glob("*.json")).read_text())
    start = datetime.now(UTC) - timedelta(days=SNAPSHOT_YEARS * 365 + 10)
    for index in range(RUN_RECORDS):
        moment = start + timedelta(minutes=30 * index)
        run_id = f"{moment:%Y%m%dT%H%M%SZ}-{index:06x}"
        (runs / f"{run_id}.json").write_text(json.dumps({**sample, "run_id": run_id}))


def measure(kind: str, lake: Path, name: str | None) -> dict:
    """One measure, in this (fresh) interpreter."""
    from chalicelib.settings import Settings

    settings = Settings.from_env({"LAKE_URI": str(lake), "QUERY_ENGINE": "duckdb"})
    if kind in ("plays", "snapshot"):
        return _run(settings, kind)
    if kind == "runs":
        from chalicelib.accounts import AccountLake
        from chalicelib.lake import open_lake_to_read
        from chalicelib.runs import RunStore

        account = listener()
        started = time.perf_counter()
        RunStore(AccountLake(open_lake_to_read(str(lake)), account)).recent(20)
        return {"seconds": time.perf_counter() - started}
    params = {**_period(kind), "account": listener()}
    if name == "dashboard":
        from chalicelib import dashboard

        started = time.perf_counter()
        response = dashboard.respond(settings, params)
        seconds = time.perf_counter() - started
        size = len(response.body.encode())
        return {"seconds": seconds, "bytes": size, "status": response.status_code}
    import duckdb  # noqa: F401  (imported before the clock starts, as the query's modules)
    import sqlglot  # noqa: F401

    from chalicelib.query import named, service

    wanted = {param.name for param in named.get_query(name).params}
    started = time.perf_counter()
    asked = {key: value for key, value in params.items() if key in wanted}
    result = service.run_named(settings, name, asked, 120)
    return {"seconds": time.perf_counter() - started, "rows": len(result.get("rows", []))}


def _period(kind: str) -> dict[str, str]:
    end = _first_day() + timedelta(days=DAYS - 1)
    start = FIRST_PLAY if kind == "all" else (end - timedelta(days=29)).date().isoformat()
    return {"start_date": start, "end_date": end.date().isoformat()}


def _run(settings, kind: str, *, transform: bool = True) -> dict:
    """A run of `kind` against the emulator, extracted and (unless told not to) transformed."""
    from chalicelib import pipeline, raw
    from emulator import Emulator
    from emulator.clock import SimulatedClock

    hour, minute = (9, 0) if kind == "plays" else (3, 15)
    moment = _first_day() + timedelta(days=DAYS, hours=hour, minutes=minute)
    clock = SimulatedClock(moment)
    with Emulator(seed=SEED, clock=clock.time) as emulator:
        variables = {"PLAYLISTS": "all", "SPOTIFY_RATE_LIMIT": "0", **emulator.variables()}
        config = type(settings).from_env({"LAKE_URI": settings.lake_uri, **variables})
        run_kind = raw.PLAYS_ONLY if kind == "plays" else raw.SNAPSHOT
        account = listener()
        started = time.perf_counter()
        run = pipeline.extract_and_transform if transform else pipeline.extract
        record = run(config, account=account, kind=run_kind, now=clock.now)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "status": str(record.status)}


def s3_requests(lake: Path) -> dict:
    """The S3 requests of `runs` and of a plays poll's transform over the lake, in moto."""
    import boto3
    from moto import mock_aws

    from chalicelib.accounts import AccountLake, split_key
    from chalicelib.lake import LocalLake, S3Lake
    from chalicelib.runs import RECENT, RunStore
    from chalicelib.settings import Settings
    from chalicelib.transform import transform_run

    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "lake"
        shutil.copytree(lake, copy)
        # the first read of the runs lists them once
        Path(AccountLake(LocalLake(copy), listener()).uri(RECENT)).unlink(missing_ok=True)
        local = LocalLake(copy)
        before = set(_manifests(local))
        # extracted only: the transform measured on S3 is the run's first, not a replay
        _run(Settings.from_env({"LAKE_URI": str(copy)}), "plays", transform=False)
        [manifest] = set(_manifests(local)) - before
        with mock_aws():
            client = boto3.client("s3", region_name="us-east-1")
            client.create_bucket(Bucket="lake")
            _upload(local, "lake")
            counted: list[str] = []
            client.meta.events.register(
                "before-call.s3", lambda model, **_: counted.append(model.name)
            )
            s3 = AccountLake(S3Lake(client, "lake"), listener())
            found = {}
            viewed = split_key(manifest)[1]
            for name, measured in (
                ("runs, the first", lambda: RunStore(s3).recent(20)),
                ("runs", lambda: RunStore(s3).recent(20)),
                ("a poll's transform", lambda: transform_run(s3, viewed)),
            ):
                counted.clear()
                measured()
                found[name] = Counter(counted)
            return found


def _manifests(lake) -> list[str]:
    return [key for key in lake.list("raw/") if key.endswith("manifest.json")]


def _upload(lake, bucket: str) -> None:
    """Every object of the local lake into moto's bucket, through moto's backend (fast)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["global"]
    for key in lake.list(""):
        backend.put_object(bucket, key, lake.get(key))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="build the lakes here and keep them")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--lake", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--name", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        found = s3_requests(args.lake) if args.measure == "s3" else measure(
            args.measure, args.lake, args.name
        )
        print(json.dumps(found))
        return
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        if not (folder / "aged").exists():
            print(f"building the young lake and the aged one ({args.entries:,} entries) ...")
            build(folder, args.entries)
        report(folder, args.repeat)


def report(folder: Path, repeat: int) -> None:
    from chalicelib.query.named import load_queries

    measures = [("plays", None), ("snapshot", None), ("runs", None)]
    for name in [*sorted(load_queries()), "dashboard"]:
        measures += [("30", name), ("all", name)]
    print(f"{'measure':<34} {'young s':>8} {'aged s':>8} {'aged/young':>10}  notes")
    for kind, name in measures:
        figures = {lake: _median(folder / lake, kind, name, repeat) for lake in LAKES}
        label = kind if name is None else f"{name} ({'30 days' if kind == '30' else 'all'})"
        ratio = figures["aged"]["seconds"] / figures["young"]["seconds"]
        notes = ""
        if "bytes" in figures["aged"]:
            notes = ", ".join(
                f"{lake} {figures[lake]['status']} {figures[lake]['bytes'] / 1e6:.2f} MB"
                for lake in LAKES
            )
        print(
            f"{label:<34} {figures['young']['seconds']:8.3f} {figures['aged']['seconds']:8.3f}"
            f" {ratio:10.2f}  {notes}"
        )
    for lake in LAKES:
        found = run_python([__file__, "--measure", "s3", "--lake", str(folder / lake)], ROOT)
        found.pop("peak_rss")
        for name, counts in found.items():
            print(f"S3 requests on moto, {lake}, {name}: {_requests(counts)}")


def _requests(counts: dict[str, int]) -> str:
    named = ", ".join(f"{count} {name}" for name, count in sorted(counts.items()))
    return f"{sum(counts.values())} ({named})"


def _median(lake: Path, kind: str, name: str | None, repeat: int) -> dict:
    found = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as scratch:
            target = lake
            if kind in ("plays", "snapshot"):  # a run writes: each on a copy of the lake
                target = Path(scratch) / "lake"
                shutil.copytree(lake, target)
            command = [__file__, "--measure", kind, "--lake", str(target)]
            found.append(run_python([*command, *(["--name", name] if name else [])], ROOT))
    seconds = statistics.median(figure["seconds"] for figure in found)
    return {**found[-1], "seconds": seconds}


if __name__ == "__main__":
    main()
