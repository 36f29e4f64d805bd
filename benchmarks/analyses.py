"""SPEC §10's analyses over ten years of plays: each query over the whole history and the year
in review's page, on DuckDB, and what Athena would scan for the review.

    .venv/bin/python benchmarks/analyses.py [--entries 500000] [--repeat 3] [--keep DIR]

1. The lake: benchmarks/aging.py's aged one (the demo's account, then a ten-year export of
   `--entries` entries over 2016 to 2026, three years of daily snapshots and 50,000 run
   records); with `--keep DIR`, the one aging.py or this script built there before.
2. Each measure runs in a fresh interpreter, `--repeat` times, its median; the modules it
   needs are imported before its clock starts: listening_sessions, listening_streaks,
   discovery, forgotten_favourites, listening_summary and new_artists over the whole history
   (from Spotify's launch to the lake's last day; forgotten_favourites as of that day), and
   `GET /recap/{year}` of the last whole year, its page rendered (13 queries side by side),
   with the page's size.
3. Athena's bytes for that review, by benchmarks/scan_bytes.py's model over the same lake:
   per query the review asks, the months each table's partition filter keeps and the bytes of
   the columns it reads in them (the row groups `played` rules out left out), footers apart.

Goals (issue 28): <= 1 s per query, <= 3 s for the review's page.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.aging import FIRST_PLAY, build, listener  # noqa: E402
from benchmarks.peak import run_python  # noqa: E402

ANALYSES = (
    "listening_sessions",
    "listening_streaks",
    "discovery",
    "forgotten_favourites",
    "listening_summary",
    "new_artists",
)
MIB = 1024 * 1024


def reviewed_year() -> int:
    """The last whole year."""
    return datetime.now(UTC).year - 1


def last_day(lake: Path) -> str:
    """The lake's last played date, from its newest plays month."""
    import pyarrow.parquet as pq

    mine = lake / "processed" / "plays" / f"account_id={listener()}"
    newest = max(mine.glob("played_month=*/data.parquet"))
    return max(pq.read_table(newest, columns=["played_date"]).column(0).to_pylist())


def measure(lake: Path, name: str) -> dict:
    """One measure, in this (fresh) interpreter."""
    import duckdb  # noqa: F401  (imported before the clock starts, as the query's modules)
    import sqlglot  # noqa: F401

    from chalicelib.settings import Settings

    settings = Settings.from_env({"LAKE_URI": str(lake), "QUERY_ENGINE": "duckdb"})
    if name == "recap":
        from chalicelib import dashboard
        from chalicelib.dashboard import review  # noqa: F401  (its templates' modules)

        started = time.perf_counter()
        asked = {"account": listener()}
        response = dashboard.respond_recap(settings, str(reviewed_year()), asked)
        seconds = time.perf_counter() - started
        return {"seconds": seconds, "bytes": len(response.body.encode()), "status": 200}
    from chalicelib.query import named, service

    end = last_day(lake)
    period = {"start_date": FIRST_PLAY, "end_date": end, "as_of": end, "account": listener()}
    wanted = {param.name for param in named.get_query(name).params}
    asked = {key: value for key, value in period.items() if key in wanted}
    started = time.perf_counter()
    result = service.run_named(settings, name, asked, 120, page_size=1000)
    return {"seconds": time.perf_counter() - started, "rows": len(result.get("rows", []))}


def median(lake: Path, name: str, repeat: int) -> dict:
    found = [
        run_python([__file__, "--measure", name, "--lake", str(lake)], ROOT) for _ in range(repeat)
    ]
    return {**found[-1], "seconds": statistics.median(figure["seconds"] for figure in found)}


def athena_bytes(lake: Path) -> list[tuple[str, dict[str, int], int, int]]:
    """Per query the review asks: the months each table's filters keep, and the column
    chunks and footers Athena would read, by benchmarks/scan_bytes.py's model."""
    from benchmarks.scan_bytes import parquet_bytes, scans
    from chalicelib import recap
    from chalicelib.query.named import get_query
    from chalicelib.schema import TABLES

    year = reviewed_year()
    this, last = recap.Year.of(year), recap.Year.of(year - 1)
    mine = {"account": listener()}
    asked = [
        (f"{name} {period.year}", name, {**period.params(), **extra, **mine})
        for period in (this, last)
        for name, extra in recap.YEARLY.items()
    ]
    both = {"start_date": last.start.isoformat(), "end_date": this.end.isoformat(), **mine}
    asked.append((f"{recap.DISCOVERY} {last.year}-{this.year}", recap.DISCOVERY, both))
    months: dict[str, list[str]] = defaultdict(list)
    for name, table in TABLES.items():
        folder = lake / table.prefix() / f"account_id={listener()}"
        months[name] = sorted(p.name.split("=", 1)[1] for p in folder.glob("*=*"))
    rows = []
    for label, name, params in asked:
        query = get_query(name)
        kept, chunks, footers = {}, 0, 0
        for table, scan in scans(query, params, sorted(set().union(*months.values()))).items():
            scan.partitions &= set(months[table])
            kept[table] = len(scan.partitions)
            read, footer = parquet_bytes(lake, TABLES[table], scan, listener())
            chunks, footers = chunks + read, footers + footer
        rows.append((label, kept, chunks, footers))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--keep", type=Path, help="build the lakes here (or find them) and keep them"
    )
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--lake", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.lake, args.measure)))
        return
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        if not (folder / "aged").exists():
            print(f"building the young lake and the aged one ({args.entries:,} entries) ...")
            build(folder, args.entries)
        report(folder / "aged", args.repeat)


def report(lake: Path, repeat: int) -> None:
    import pyarrow.parquet as pq

    plays = sum(
        pq.ParquetFile(path).metadata.num_rows
        for path in (lake / "processed" / "plays" / f"account_id={listener()}").glob(
            "*/data.parquet"
        )
    )
    print(f"{plays:,} plays from {FIRST_PLAY} to {last_day(lake)}; median of {repeat} runs")
    print(f"{'measure':<34} {'seconds':>8}  notes")
    for name in [*ANALYSES, "recap"]:
        figure = median(lake, name, repeat)
        label = f"GET /recap/{reviewed_year()}" if name == "recap" else f"{name} (all)"
        notes = (
            f"{figure['bytes'] / 1e3:,.0f} kB page"
            if "bytes" in figure
            else (f"{figure['rows']:,} rows")
        )
        print(f"{label:<34} {figure['seconds']:8.3f}  {notes}")
    print(f"\nAthena, the review of {reviewed_year()}: months read per table, MiB scanned")
    total = footers_total = 0
    for label, kept, chunks, footers in athena_bytes(lake):
        months = ", ".join(f"{table} {count}" for table, count in sorted(kept.items()))
        print(f"{label:<34} {chunks / MIB:8.2f} MiB (+{footers / MIB:.2f} footers)  {months}")
        total, footers_total = total + chunks, footers_total + footers
    print(f"{'the review':<34} {total / MIB:8.2f} MiB (+{footers_total / MIB:.2f} footers)")


if __name__ == "__main__":
    main()
