"""Requests, wall time and rate-limit resilience of the extractor, measured on the emulator.

    .venv/bin/python benchmarks/api_calls.py

Everything runs offline: the bundled emulator on a fake clock this script moves, temporary
local lakes, and after every extract its transform, as a local lake does. It prints figures
with PASS or MISS beside each target and asserts nothing. About three minutes on 2 cores.

1. Requests of a first run, an unchanged re-run and a re-run after one playlist changed, on
   30 playlists x 400 entries, 1,500 saved tracks, 60 plays a day, each beside the minimum
   the API allows, computed from the emulator's account model alone (see MINIMUM).
2. Wall time of a first run at the default concurrency against a sequential one, with 100 ms
   of latency per request, on a smaller account (LATENCY_SCALE) so the sequential run stays
   under a minute.
3. With a fifth of the answers 429 (no real waiting: the client's sleep is a no-op that
   counts the waits), in RATE_LIMIT_TRIALS runs on fresh lakes: each run completes and its
   nine tables equal a fault-free run's, row by row.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from chalicelib import pipeline, raw
from chalicelib.errors import PipelineError
from chalicelib.lake import LocalLake, get_json
from chalicelib.runs import RunStore
from chalicelib.schema import TABLES
from chalicelib.settings import Settings
from chalicelib.spotify.client import RetryPolicy
from chalicelib.transform import transform_run
from emulator import Account, Emulator, Faults, Scale
from emulator.account import TIME_RANGES
from emulator.clock import SimulatedClock

SEED = 11
START = datetime(2026, 11, 20, 3, 15, tzinfo=UTC)  # the daily snapshot schedule's time
SCALE = Scale(playlists=30, entries=400, saved_tracks=1500, plays_per_day=60, changes_per_day=1)
LATENCY_SCALE = Scale(playlists=10, entries=100, saved_tracks=300, plays_per_day=60)
PAGE = 50
FIRST_RUN_FACTOR = 1.05
UNCHANGED_RERUN_MAX = 10
SPEEDUP_FACTOR = 0.3
RATE_LIMIT_TRIALS = 3

# The fewest requests the API allows for a run, printed under table 1:
MINIMUM = (
    "minimum = 1 (/me) + ceil(playlists/50) (listing) + sum of ceil(entries/50) over readable "
    "playlists that are new or whose snapshot_id changed + 1 (recently played, at most 50) + "
    "sum over the 6 top lists of ceil(len/50) + saved pages (first run: ceil(total/50); "
    "re-runs: ceil((new saved + 1)/50)) + albums referenced by the run's tracks (playlist "
    "entries, unchanged playlists included, saved, top tracks, plays fetched) not fetched by "
    "an earlier run + artists referenced (track and album artists) neither in a top-artists "
    "list of this run nor fetched earlier; tracks come whole in every answer, so none is "
    "fetched on its own"
)
ENDPOINTS = {
    "me": "GET /v1/me",
    "playlists listing": "GET /v1/me/playlists",
    "playlist items": "GET /v1/playlists/{id}/items",
    "recently played": "GET /v1/me/player/recently-played",
    "top lists": "GET /v1/me/top/{type}",
    "saved tracks": "GET /v1/me/tracks",
    "albums": "GET /v1/albums/{id}",
    "artists": "GET /v1/artists/{id}",
    "tracks": "GET /v1/tracks/{id}",
}

console = Console(width=110)


@dataclass
class MinimalExtractor:
    """What a run must ask the API at the least, given what earlier runs already fetched.

    Computed from the emulator's account model only, never from our extractor's output.
    """

    snapshots: dict[str, str] = field(default_factory=dict)
    saved: set[tuple[str, float]] | None = None
    plays_after: int | None = None
    albums: set[str] = field(default_factory=set)
    artists: set[str] = field(default_factory=set)

    def run(self, account: Account) -> Counter[str]:
        """The requests of one run against `account`, by endpoint; remembers what it read."""
        catalog = account.world.catalog
        readable = [p for p in account.playlists if p.readable]
        changed = [p for p in readable if self.snapshots.get(p.id) != p.snapshot_id]
        plays = [p for p in account.recent_plays if p.played_at_ms > (self.plays_after or -1)]
        saved = {(s.track_id, s.added_at) for s in account.saved}
        new_saved = len(saved - self.saved) if self.saved is not None else None
        top_tracks = {t for r in TIME_RANGES for t in account.top["tracks", r]}
        top_artists = {a for r in TIME_RANGES for a in account.top["artists", r]}
        tracks = {e.ref for p in readable for e in p.entries if e.kind == "track"}
        tracks |= {s.track_id for s in account.saved} | top_tracks | {p.track_id for p in plays}
        albums = {catalog.tracks[t].album_id for t in tracks}
        artists = {a for t in tracks for a in catalog.tracks[t].artist_ids}
        artists |= {a for album in albums for a in catalog.albums[album].artist_ids}
        artists -= top_artists
        counts = Counter(
            {
                "me": 1,
                "playlists listing": _pages(len(account.playlists)),
                "playlist items": sum(_pages(len(p.entries)) for p in changed),
                "recently played": 1,
                "top lists": sum(_pages(len(items)) for items in account.top.values()),
                "saved tracks": _pages(len(saved) if new_saved is None else new_saved + 1),
                "albums": len(albums - self.albums),
                "artists": len(artists - self.artists),
            }
        )
        self.snapshots.update((p.id, p.snapshot_id) for p in readable)
        self.saved = saved
        self.plays_after = max((p.played_at_ms for p in plays), default=self.plays_after)
        self.albums |= albums
        self.artists |= artists
        return counts


@dataclass
class Bench:
    """One emulator and the settings pointing the pipeline at it."""

    emulator: Emulator
    clock: SimulatedClock

    def settings(self, lake: LocalLake, **variables: str) -> Settings:
        emulator = self.emulator
        return Settings.from_env(
            {
                "LAKE_URI": str(lake.root),
                "QUERY_ENGINE": "duckdb",
                "PLAYLISTS": "all",
                **emulator.variables(),
                **variables,
            }
        )

    def run(
        self, lake: LocalLake, sleep: Callable[[float], None] = lambda _: None, **variables: str
    ) -> Run:
        """One extract, then its transform; the requests and wall time of the extract.

        A run that fails is measured too: its record says why.
        """
        self.emulator.reset_counts()
        run_id = raw.new_run_id(self.clock.now())
        settings = self.settings(lake, **variables)
        began = time.perf_counter()
        with suppress(PipelineError):  # a failed run leaves its record, read below
            pipeline.extract(settings, now=self.clock.now, sleep=sleep, run_id=run_id)
        seconds = time.perf_counter() - began
        requests = Counter(self.emulator.requests)
        record = RunStore(lake).get(run_id)
        manifest = get_json(lake, record["manifest"]) if record.get("manifest") else {}
        if manifest:
            transform_run(lake, record["manifest"])
        return Run(record, manifest, requests, self.emulator.total_requests, seconds)


@dataclass
class Run:
    record: dict[str, Any]
    manifest: dict[str, Any]
    requests: Counter[str]
    total: int
    seconds: float

    def by_endpoint(self) -> Counter[str]:
        counts = Counter({name: self.requests[path] for name, path in ENDPOINTS.items()})
        known = set(ENDPOINTS.values()) | {"POST /api/token"}
        counts["other"] = sum(n for path, n in self.requests.items() if path not in known)
        return counts


@contextmanager
def bench(scale: Scale, faults: Faults | None = None) -> Iterator[Bench]:
    clock = SimulatedClock(START)
    with Emulator(seed=SEED, scale=scale, faults=faults, clock=clock.time) as emulator:
        yield Bench(emulator, clock)


@contextmanager
def fresh_lakes(*names: str) -> Iterator[list[LocalLake]]:
    with tempfile.TemporaryDirectory(prefix="spotify-bench-") as folder:
        yield [LocalLake(Path(folder) / name) for name in names]


def _pages(count: int) -> int:
    return max(1, math.ceil(count / PAGE))


def quiet_moment(account: Account, after: datetime) -> datetime:
    """Ten minutes later, or halfway to the next play if one comes sooner: nothing changes."""
    later = after + timedelta(minutes=10)
    upcoming = account.world.newest_plays(later.timestamp(), None)
    after_ms = after.timestamp() * 1000
    next_ms = min((p.played_at_ms for p in upcoming if p.played_at_ms > after_ms), default=None)
    if next_ms is None:
        return later
    return min(later, after + timedelta(milliseconds=(next_ms - after_ms) / 2))


def verdict(passed: bool) -> str:
    return "[green]PASS[/]" if passed else "[red]MISS[/]"


def measure_requests(summary: Table) -> None:
    """Part 1: the requests of three runs beside the minimum the API allows for each."""
    with bench(SCALE) as b, fresh_lakes("lake") as (lake,):
        emulator, world, minimal = b.emulator, b.emulator.world, MinimalExtractor()
        first_account = emulator.account
        runs = [("first run", b.run(lake), minimal.run(first_account))]
        b.clock.moment = quiet_moment(first_account, START)
        unchanged_account = emulator.account
        runs.append(("unchanged re-run", b.run(lake), minimal.run(unchanged_account)))
        change = datetime.fromtimestamp(world.change_time(1), UTC)
        b.clock.moment = max(START + timedelta(days=1), change + timedelta(minutes=1))
        changed_account = emulator.account
        runs.append(("re-run, 1 playlist changed", b.run(lake), minimal.run(changed_account)))

    table = Table(title=f"1. Requests per run (seed {SEED}, {_describe(SCALE)})")
    table.add_column("endpoint")
    for name, _, _ in runs:
        table.add_column(f"{name}\nours", justify="right")
        table.add_column("\nminimum", justify="right")
    rows = [*ENDPOINTS, "other"]
    for endpoint in rows:
        cells = [(str(r.by_endpoint()[endpoint]), str(m[endpoint])) for _, r, m in runs]
        table.add_row(endpoint, *(cell for pair in cells for cell in pair))
    totals = [(str(r.total), str(sum(m.values()))) for _, r, m in runs]
    table.add_row("[b]total[/]", *(f"[b]{cell}[/]" for pair in totals for cell in pair))
    console.print(table)
    console.print(_account_changes(first_account, unchanged_account, changed_account, runs))
    console.print(f"[dim]{MINIMUM}.[/]\n")

    (_, first, first_min), (_, unchanged, unchanged_min), (_, changed, changed_min) = runs
    ceiling = FIRST_RUN_FACTOR * sum(first_min.values())
    summary.add_row(
        "first run: requests / minimum",
        f"{first.total} / {sum(first_min.values())} = {first.total / sum(first_min.values()):.3f}",
        f"<= {FIRST_RUN_FACTOR} x minimum",
        verdict(first.total <= ceiling),
    )
    summary.add_row(
        "unchanged re-run: requests (minimum)",
        f"{unchanged.total} ({sum(unchanged_min.values())})",
        f"<= {UNCHANGED_RERUN_MAX}",
        verdict(unchanged.total <= UNCHANGED_RERUN_MAX),
    )
    summary.add_row(
        "re-run, 1 playlist changed: requests / minimum",
        f"{changed.total} / {sum(changed_min.values())}",
        "(reported)",
        "",
    )


def _account_changes(first: Account, unchanged: Account, changed: Account, runs: list) -> str:
    def differs(a: Account, b: Account) -> int:
        before = {p.id: p.snapshot_id for p in a.playlists}
        return sum(before.get(p.id) != p.snapshot_id for p in b.playlists)

    def new_plays(a: Account, b: Account) -> int:
        newest = a.recent_plays[0].played_at_ms
        return sum(p.played_at_ms > newest for p in b.recent_plays)

    moments = ", ".join(f"{name} at {r.record['started_at']}" for name, r, _ in runs)
    return (
        f"{moments}.\nAccount between runs: unchanged re-run: {differs(first, unchanged)} "
        f"playlists changed, {len(unchanged.saved) - len(first.saved)} new saved, "
        f"{new_plays(first, unchanged)} new plays; next day: {differs(unchanged, changed)} "
        f"playlist changed, {len(changed.saved) - len(unchanged.saved)} new saved, "
        f"{new_plays(unchanged, changed)} new plays (at most 50 retrievable)."
    )


def measure_concurrency(summary: Table) -> None:
    """Part 2: wall time of a first run, default concurrency against sequential, 100 ms latency."""
    default = Settings().extract_concurrency
    with bench(LATENCY_SCALE, Faults(latency_ms=100)) as b, fresh_lakes("pool", "one") as lakes:
        pooled = b.run(lakes[0])
        sequential = b.run(lakes[1], EXTRACT_CONCURRENCY="1")
    table = Table(
        title=f"2. First run with 100 ms latency per request ({_describe(LATENCY_SCALE)})"
    )
    for column in ("EXTRACT_CONCURRENCY", "requests", "extract wall time", "requests/s"):
        table.add_column(column, justify="right")
    for label, run in ((f"{default} (default)", pooled), ("1 (sequential)", sequential)):
        table.add_row(
            label, str(run.total), f"{run.seconds:.1f} s", f"{run.total / run.seconds:.1f}"
        )
    console.print(table)
    console.print("[dim]Wall time of pipeline.extract only (the transform is not timed).[/]\n")
    ratio = pooled.seconds / sequential.seconds
    summary.add_row(
        f"first run, 100 ms latency: concurrency {default} / sequential",
        f"{pooled.seconds:.1f} s / {sequential.seconds:.1f} s = {ratio:.2f}",
        f"<= {SPEEDUP_FACTOR}",
        verdict(ratio <= SPEEDUP_FACTOR),
    )


def measure_rate_limits(summary: Table) -> None:
    """Part 3: with 20 % of answers 429 each run completes, with a fault-free run's tables."""
    faults = Faults(rate_limit=0.2, retry_after=1)
    table = Table(title=f"3. First run, 20 % of answers 429, Retry-After 1 s ({_describe(SCALE)})")
    for column in ("trial", "status", "manifest", "429s absorbed", "requests", "nine tables"):
        table.add_column(column, justify="left" if column in ("status", "nine tables") else "right")
    trials = []
    with bench(SCALE) as b, fresh_lakes("reference", *map(str, range(RATE_LIMIT_TRIALS))) as lakes:
        reference, clean = lakes[0], b.run(lakes[0])
        expected = {name: _rows(reference, name) for name in TABLES}
        b.emulator.faults = faults
        for number, lake in enumerate(lakes[1:], 1):
            waits: list[float] = []
            trial = b.run(lake, sleep=waits.append)
            differing = _differing_tables(expected, lake) if trial.manifest else None
            trials.append((trial, len(waits), differing))
            table.add_row(
                str(number),
                trial.record["status"],
                trial.manifest.get("status", "none"),
                str(len(waits)),
                str(trial.total),
                _tables_cell(differing, expected),
            )
    console.print(table)
    attempts = RetryPolicy().max_rate_limited
    at_risk = 1 - (1 - faults.rate_limit**attempts) ** clean.total
    console.print(
        f"Fault-free reference: {clean.total} requests, "
        f"{sum(map(len, expected.values()))} rows over the nine tables. 429s absorbed = waits "
        "the client asked for; the injected sleep is a no-op, so no Retry-After second was "
        f"really waited. A request answered 429 {attempts} times in a row (the client's "
        "max_rate_limited) would cut the run short (partial, resumed by the next run): the "
        f"chance some request of {clean.total} does is "
        f"1 - (1 - {faults.rate_limit}^{attempts})^{clean.total} = {at_risk:.1g}."
    )
    for number, (trial, _, _) in enumerate(trials, 1):
        if trial.record["errors"]:
            console.print(f"[red]Trial {number}:[/] {'; '.join(trial.record['errors'])}")
    console.print()
    completed = sum(
        t.manifest.get("status") == raw.COMPLETE and not t.record["errors"] for t, _, _ in trials
    )
    equal = sum(differing == [] for _, _, differing in trials)
    summary.add_row(
        "20 % 429s: runs complete (status, manifest)",
        f"{completed}/{len(trials)}",
        f"{len(trials)}/{len(trials)}",
        verdict(completed == len(trials)),
    )
    summary.add_row(
        "20 % 429s: nine tables equal a fault-free run",
        f"{equal}/{len(trials)}",
        f"{len(trials)}/{len(trials)}",
        verdict(equal == len(trials)),
    )
    absorbed = ", ".join(str(waits) for _, waits, _ in trials)
    summary.add_row("20 % 429s: 429s absorbed per run", absorbed, "(reported)", "")


def _differing_tables(expected: dict[str, list[dict[str, Any]]], lake: LocalLake) -> list[str]:
    """The tables whose rows, sorted, differ from the expected ones (or are empty)."""
    return [name for name, rows in expected.items() if not rows or _rows(lake, name) != rows]


def _tables_cell(differing: list[str] | None, expected: dict[str, list[dict[str, Any]]]) -> str:
    if differing is None:
        return "not transformed: no manifest"
    if not differing:
        return f"identical ({sum(map(len, expected.values()))} rows)"
    return f"differ: {', '.join(differing)}"


def _rows(lake: LocalLake, name: str) -> list[dict[str, Any]]:
    """Every row of a table over all its partitions, with the partition, sorted."""
    table = TABLES[name]
    rows = []
    for key in sorted(k for k in lake.list(table.prefix()) if k.endswith(".parquet")):
        partition = key.split(f"{table.partition}=", 1)[1].split("/", 1)[0]
        found = pq.read_table(lake.uri(key)).to_pylist()
        rows.extend({**row, table.partition: partition} for row in found)
    return sorted(rows, key=lambda row: [repr(value) for value in row.values()])


def _describe(scale: Scale) -> str:
    return (
        f"{scale.playlists} playlists x {scale.entries} entries, {scale.saved_tracks} saved, "
        f"{scale.plays_per_day} plays a day"
    )


def main() -> None:
    summary = Table(title="Summary")
    for column in ("measure", "value", "target", ""):
        summary.add_column(column)
    began = time.perf_counter()
    for number, part in enumerate((measure_requests, measure_concurrency, measure_rate_limits), 1):
        part_began = time.perf_counter()
        part(summary)
        console.print(f"[dim]Part {number}: {time.perf_counter() - part_began:.0f} s.[/]\n")
    console.print(summary)
    console.print(f"[dim]Benchmark wall time: {time.perf_counter() - began:.0f} s.[/]")


if __name__ == "__main__":
    main()
