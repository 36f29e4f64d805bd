"""Requests, wall time, memory and rate-limit resilience of the extract, on the emulator,
beside dlt's generic `rest_api` source reading the same streams.

    make bench-deps   # dlt, a benchmark-only dependency, into .venv
    .venv/bin/python benchmarks/api_calls.py

Everything runs offline: the bundled emulator on a fake clock this script moves, temporary
local lakes, and after every extract its transform, as a local lake does. It prints figures
with PASS or MISS beside each target and asserts nothing. About six minutes on 2 cores,
most of it dlt's.

1. Requests of a first run, an unchanged re-run and a re-run after one playlist changed, on
   40 playlists x 1,000 entries, 1,500 saved tracks, 60 plays a day, with the default
   settings, each beside the pages the streams need (see MINIMUM), computed from the
   emulator's account model alone; and a first run with a detail budget of 50.
2. The same first run beside dlt's `rest_api` source, each in a fresh interpreter against
   the same emulator: requests, wall time unpaced (ours: extract and transform into the nine
   tables; dlt: `pipeline.run` into DuckDB) and peak RSS. dlt is configured as its
   documentation shows (JSON-link paginator on `next`, items under `items`, playlist items
   as a child resource, 403 ignored), once with its default nesting and once flat
   (`max_table_nesting=0`). Then our run's time under the default SPOTIFY_RATE_LIMIT, on the
   fake clock the pacer sleeps on (one request at a time: at 2 requests a second the pacer,
   not the pool, sets the pace, and a request's own latency hides inside its spacing).
3. Wall time of a first run at the default concurrency against a sequential one, with 100 ms
   of latency per request, unpaced, on a smaller account (LATENCY_SCALE).
4. With a fifth of the answers 429 (no real waiting: the client's sleep is a no-op that
   counts the waits), in RATE_LIMIT_TRIALS runs on fresh lakes: each run completes and its
   nine tables equal a fault-free run's, row by row.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
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
from chalicelib.accounts import AccountLake  # noqa: E402
from chalicelib.errors import PipelineError
from chalicelib.lake import LocalLake, get_json
from chalicelib.runs import RunRecord, RunStore
from chalicelib.schema import TABLES
from chalicelib.settings import DEFAULT_RATE_LIMIT, Settings
from chalicelib.spotify.client import RetryPolicy
from chalicelib.transform import transform_run
from emulator import Account, Emulator, Faults, Scale
from emulator.account import TIME_RANGES
from emulator.clock import SimulatedClock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from peak import run_python  # noqa: E402  (beside this file)

SEED = 11
START = datetime(2026, 11, 20, 3, 15, tzinfo=UTC)  # the daily snapshot schedule's time
SCALE = Scale(playlists=40, entries=1000, saved_tracks=1500, plays_per_day=60, changes_per_day=1)
LATENCY_SCALE = Scale(playlists=30, entries=150, saved_tracks=300, plays_per_day=60)
FAULT_SCALE = Scale(playlists=30, entries=400, saved_tracks=1500, plays_per_day=60)
PAGE = 50
FIRST_RUN_FACTOR = 1.05
UNCHANGED_RERUN_MAX = 10
DLT_REQUESTS_FACTOR = 1.1
SPEEDUP_FACTOR = 0.3
RATE_LIMIT_TRIALS = 3
BUDGET = 50
UNPACED = {"SPOTIFY_RATE_LIMIT": "0"}
MIB = 1024**2

# The fewest requests the API allows for a run, printed under table 1:
MINIMUM = (
    "minimum = 1 (token) + 1 (/me) + ceil(playlists/50) (listing) + sum of ceil(entries/50) "
    "over readable playlists that are new or whose snapshot_id changed + 1 (recently played, "
    "at most 50) + sum over the 6 top lists of ceil(len/50) + saved pages (first run: "
    "ceil(total/50); re-runs: ceil((new saved + 1)/50)); every track arrives whole, with its "
    "album and artists embedded, so the nine tables need nothing else. The target adds the "
    f"detail budget (CATALOG_DETAIL_BUDGET, default {Settings().catalog_detail_budget}): "
    f"requests <= {FIRST_RUN_FACTOR} x minimum + budget"
)
ENDPOINTS = {
    "token": "POST /api/token",
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

console = Console(width=120)


@dataclass
class MinimalExtractor:
    """The pages a run must ask the API for at the least, given what earlier runs read.

    Computed from the emulator's account model only, never from our extractor's output.
    """

    snapshots: dict[str, str] = field(default_factory=dict)
    saved: set[tuple[str, float]] | None = None

    def run(self, account: Account) -> Counter[str]:
        """The requests of one run against `account`, by endpoint; remembers what it read."""
        readable = [p for p in account.playlists if p.readable]
        changed = [p for p in readable if self.snapshots.get(p.id) != p.snapshot_id]
        saved = {(s.track_id, s.added_at) for s in account.saved}
        new_saved = len(saved - self.saved) if self.saved is not None else None
        counts = Counter(
            {
                "token": 1,
                "me": 1,
                "playlists listing": _pages(len(account.playlists)),
                "playlist items": sum(_pages(len(p.entries)) for p in changed),
                "recently played": 1,
                "top lists": sum(_pages(len(items)) for items in account.top.values()),
                "saved tracks": _pages(len(saved) if new_saved is None else new_saved + 1),
            }
        )
        self.snapshots.update((p.id, p.snapshot_id) for p in readable)
        self.saved = saved
        return counts


@dataclass
class Bench:
    """One emulator and the settings pointing the pipeline at it."""

    emulator: Emulator
    clock: SimulatedClock

    def variables(self, lake_root: Path, **variables: str) -> dict[str, str]:
        return {
            "LAKE_URI": str(lake_root),
            "QUERY_ENGINE": "duckdb",
            "PLAYLISTS": "all",
            **self.emulator.variables(),
            **variables,
        }

    def run(
        self, lake: LocalLake, sleep: Callable[[float], None] = lambda _: None, **variables: str
    ) -> Run:
        """One extract, then its transform; the requests and wall time of the extract.

        A run that fails is measured too: its record says why.
        """
        self.emulator.reset_counts()
        run_id = raw.new_run_id(self.clock.now())
        settings = Settings.from_env(self.variables(lake.root, **variables))
        began, moment = time.perf_counter(), self.clock.time()
        with suppress(PipelineError):  # a failed run leaves its record, read below
            pipeline.extract(settings, now=self.clock.now, sleep=sleep, run_id=run_id)
        seconds, slept = time.perf_counter() - began, self.clock.time() - moment
        requests = Counter(self.emulator.requests)
        view = AccountLake(lake, self.emulator.users[0].user_id)  # the account's objects
        record = RunStore(view).get(run_id)
        manifest = get_json(view, record.manifest) if record.manifest else {}
        if manifest:
            transform_run(view, record.manifest)
        return Run(record, manifest, requests, seconds, slept)


@dataclass
class Run:
    record: RunRecord
    manifest: dict[str, Any]
    requests: Counter[str]
    seconds: float
    clock_seconds: float  # how far the run's sleeps moved the fake clock

    @property
    def total(self) -> int:
        """Every request the emulator answered for the run, the token's included."""
        return sum(self.requests.values())

    def by_endpoint(self) -> Counter[str]:
        return by_endpoint(self.requests)


def by_endpoint(requests: Counter[str]) -> Counter[str]:
    counts = Counter({name: requests[path] for name, path in ENDPOINTS.items()})
    counts["other"] = sum(n for path, n in requests.items() if path not in ENDPOINTS.values())
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
    with bench(SCALE) as b, fresh_lakes("lake", "budget") as (lake, budget_lake):
        emulator, world, minimal = b.emulator, b.emulator.world, MinimalExtractor()
        first_account = emulator.account
        budgeted = b.run(budget_lake, CATALOG_DETAIL_BUDGET=str(BUDGET))
        runs = [("first run", b.run(lake), minimal.run(first_account))]
        b.clock.moment = quiet_moment(first_account, START)
        unchanged_account = emulator.account
        runs.append(("unchanged re-run", b.run(lake), minimal.run(unchanged_account)))
        change = datetime.fromtimestamp(world.change_time(1), UTC)
        b.clock.moment = max(START + timedelta(days=1), change + timedelta(minutes=1))
        changed_account = emulator.account
        runs.append(("re-run, 1 playlist changed", b.run(lake), minimal.run(changed_account)))
    first_min = runs[0][2]
    runs.append((f"first run, budget {BUDGET}", budgeted, first_min))

    table = Table(title=f"1. Requests per run (seed {SEED}, {_describe(SCALE)})")
    table.add_column("endpoint")
    for name, _, _ in runs:
        table.add_column(f"{name}\nours", justify="right")
        table.add_column("\nminimum", justify="right")
    for endpoint in [*ENDPOINTS, "other"]:
        cells = [(str(r.by_endpoint()[endpoint]), str(m[endpoint])) for _, r, m in runs]
        table.add_row(endpoint, *(cell for pair in cells for cell in pair))
    totals = [(str(r.total), str(sum(m.values()))) for _, r, m in runs]
    table.add_row("[b]total[/]", *(f"[b]{cell}[/]" for pair in totals for cell in pair))
    console.print(table)
    console.print(_account_changes(first_account, unchanged_account, changed_account, runs))
    pending = [r.record.counts.get("details_pending") for _, r, _ in runs]
    console.print(f"Full objects still pending after each run: {pending}.")
    console.print(f"[dim]{MINIMUM}.[/]\n")

    (_, first, _), (_, unchanged, _), (_, changed, changed_min), _ = runs
    default_budget = Settings().catalog_detail_budget
    for name, run, budget in (("first run", first, default_budget), (runs[3][0], budgeted, BUDGET)):
        ceiling = FIRST_RUN_FACTOR * sum(first_min.values()) + budget
        summary.add_row(
            f"{name}: requests / (minimum + budget)",
            f"{run.total} / ({sum(first_min.values())} + {budget})",
            f"<= {FIRST_RUN_FACTOR} x minimum + {budget} = {ceiling:.0f}",
            verdict(run.total <= ceiling),
        )
    api_requests = unchanged.total - unchanged.by_endpoint()["token"]
    summary.add_row(
        "unchanged re-run: API requests (+ the token's)",
        f"{api_requests} (+ {unchanged.by_endpoint()['token']})",
        f"<= {UNCHANGED_RERUN_MAX}",
        verdict(api_requests <= UNCHANGED_RERUN_MAX),
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

    moments = ", ".join(f"{name} at {r.record.started_at}" for name, r, _ in runs[:3])
    return (
        f"{moments}.\nAccount between runs: unchanged re-run: {differs(first, unchanged)} "
        f"playlists changed, {len(unchanged.saved) - len(first.saved)} new saved, "
        f"{new_plays(first, unchanged)} new plays; next day: {differs(unchanged, changed)} "
        f"playlist changed, {len(changed.saved) - len(unchanged.saved)} new saved, "
        f"{new_plays(unchanged, changed)} new plays (at most 50 retrievable)."
    )


# Part 2: beside dlt. Each loader runs in a fresh interpreter (`--loader`), so its peak RSS
# is its own; the emulator stays in this process and counts what each asked for.


def load_ours() -> dict[str, Any]:
    """Extract and transform into the nine tables, with the settings of the environment."""
    began = time.perf_counter()
    settings = Settings.from_env(os.environ)
    record = pipeline.extract(settings)
    extracted = time.perf_counter() - began
    view = AccountLake(LocalLake(settings.lake_uri), str(record.account))
    summary = transform_run(view, record.manifest)
    rows = summary.get("rows", {})
    return {
        "seconds": time.perf_counter() - began,
        "extract_seconds": extracted,
        "tables": sum(1 for name in TABLES if rows.get(name)),
        "rows": sum(rows.values()),
    }


def load_dlt(nesting: int | None) -> dict[str, Any]:
    """dlt's rest_api source over the same streams into DuckDB, as its documentation shows.

    dlt has no refresh-token flow of its own: one token request first, then a bearer token.
    """
    import dlt
    import requests
    from dlt.sources.rest_api import rest_api_source

    began = time.perf_counter()
    answer = requests.post(
        f"{os.environ['SPOTIFY_AUTH_URL']}/api/token",
        data={"grant_type": "refresh_token", "refresh_token": os.environ["SPOTIFY_REFRESH_TOKEN"]},
        auth=(os.environ["SPOTIFY_CLIENT_ID"], os.environ["SPOTIFY_CLIENT_SECRET"]),
        timeout=10,
    )
    config = dlt_config(os.environ["SPOTIFY_API_URL"], answer.json()["access_token"])
    folder = os.environ["BENCH_FOLDER"]
    loader = dlt.pipeline(
        pipeline_name="spotify",
        pipelines_dir=folder,
        destination=dlt.destinations.duckdb(f"{folder}/loaded.duckdb"),
        dataset_name="spotify",
    )
    loader.run(rest_api_source(config, max_table_nesting=nesting))
    counts = loader.last_trace.last_normalize_info.row_counts
    return {
        "seconds": time.perf_counter() - began,
        "tables": sum(1 for name in counts if not name.startswith("_dlt")),
        "rows": sum(counts.values()),
    }


def dlt_config(api_url: str, token: str) -> dict[str, Any]:
    """The streams we read, as dlt's rest_api configuration."""
    ignore = [{"status_code": status, "action": "ignore"} for status in (403, 404)]
    tops = [
        {"name": f"top_{kind}_{span}", "endpoint": {"path": f"me/top/{kind}",
                                                    "params": {"time_range": span}}}
        for kind in ("tracks", "artists")
        for span in TIME_RANGES
    ]  # fmt: skip
    return {
        "client": {
            "base_url": f"{api_url}/",
            "auth": {"type": "bearer", "token": token},
            "paginator": {"type": "json_link", "next_url_path": "next"},
        },
        "resource_defaults": {
            "write_disposition": "replace",
            "endpoint": {"data_selector": "items", "params": {"limit": PAGE}},
        },
        "resources": [
            {"name": "me", "endpoint": {"path": "me", "data_selector": "$",
                                        "paginator": "single_page"}},
            {"name": "playlists", "endpoint": {"path": "me/playlists"}},
            {
                "name": "playlist_items",
                "endpoint": {
                    "path": "playlists/{resources.playlists.id}/items",
                    "params": {"additional_types": "track,episode"},
                    "response_actions": ignore,
                },
            },
            {"name": "recently_played", "endpoint": {"path": "me/player/recently-played"}},
            *tops,
            {"name": "saved_tracks", "endpoint": {"path": "me/tracks"}},
        ],
    }  # fmt: skip


LOADERS: dict[str, Callable[[], dict[str, Any]]] = {
    "ours": load_ours,
    "dlt": lambda: load_dlt(None),
    "dlt-flat": lambda: load_dlt(0),
}
LOADER_NAMES = {
    "ours": "ours (extract + transform, unpaced)",
    "dlt": "dlt rest_api (documented config)",
    "dlt-flat": "dlt rest_api, max_table_nesting=0",
}


def run_loader(b: Bench, name: str) -> tuple[dict[str, Any], Counter[str]]:
    """One loader in a fresh interpreter against the bench's emulator, on a fresh folder."""
    b.emulator.reset_counts()
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as folder:
        env = {
            **os.environ,
            **b.variables(Path(folder) / "lake", **UNPACED),
            "BENCH_FOLDER": folder,
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "RUNTIME__LOG_LEVEL": "ERROR",
        }
        figures = run_python([__file__, "--loader", name], cwd=ROOT, env=env)
    return figures, Counter(b.emulator.requests)


def measure_against_dlt(summary: Table) -> None:
    """Part 2: ours beside dlt's rest_api on the same first run; then ours under pacing."""
    try:
        import dlt  # noqa: F401
    except ImportError:
        console.print("[red]2. skipped: dlt is not installed; run `make bench-deps`[/]\n")
        summary.add_row("against dlt", "dlt not installed", "make bench-deps", verdict(False))
        return
    with bench(SCALE) as b, fresh_lakes("paced") as (paced_lake,):
        measured = {name: run_loader(b, name) for name in LOADERS}
        paced = b.run(paced_lake, sleep=b.clock.sleep, EXTRACT_CONCURRENCY="1")

    table = Table(title=f"2. First run beside dlt's rest_api ({_describe(SCALE)})")
    for column in ("loader", "requests", "wall time", "peak RSS", "tables", "rows"):
        table.add_column(column, justify="left" if column == "loader" else "right")
    for name, (figures, requests) in measured.items():
        table.add_row(
            LOADER_NAMES[name],
            str(sum(requests.values())),
            f"{figures['seconds']:.1f} s",
            f"{figures['peak_rss'] / MIB:,.0f} MiB",
            str(figures["tables"]),
            f"{figures['rows']:,}",
        )
    console.print(table)
    endpoints = Table(title="Requests by endpoint")
    endpoints.add_column("endpoint")
    for name in measured:
        endpoints.add_column(name, justify="right")
    counts = {name: by_endpoint(requests) for name, (_, requests) in measured.items()}
    for endpoint in [*ENDPOINTS, "other"]:
        endpoints.add_row(endpoint, *(str(counts[name][endpoint]) for name in measured))
    console.print(endpoints)
    ours, _ = measured["ours"]
    console.print(
        f"Ours: extract {ours['extract_seconds']:.1f} s of {ours['seconds']:.1f} s. dlt makes "
        "one table per nested list (artists, images, markets), hence its tables and rows.\n"
        f"Under the default SPOTIFY_RATE_LIMIT={DEFAULT_RATE_LIMIT}: {paced.total} requests in "
        f"{paced.clock_seconds:.0f} s on the fake clock ({paced.clock_seconds / 60:.1f} min; "
        f"{paced.seconds:.1f} s of real work), status {paced.record.status}.\n"
    )
    dlt_figures, dlt_requests = measured["dlt"]
    ours_requests = sum(measured["ours"][1].values())
    ratios = (
        ("requests, ours / dlt", ours_requests / sum(dlt_requests.values()), DLT_REQUESTS_FACTOR),
        ("unpaced wall time, ours / dlt", ours["seconds"] / dlt_figures["seconds"], 1.0),
        ("peak RSS, ours / dlt", ours["peak_rss"] / dlt_figures["peak_rss"], 1.0),
    )
    for label, ratio, target in ratios:
        summary.add_row(label, f"{ratio:.3f}", f"<= {target}", verdict(ratio <= target))
    summary.add_row(
        "ours: tables produced", f"{ours['tables']} of {len(TABLES)}", f"{len(TABLES)}",
        verdict(ours["tables"] == len(TABLES)),
    )  # fmt: skip
    summary.add_row(
        f"first run under SPOTIFY_RATE_LIMIT={DEFAULT_RATE_LIMIT}",
        f"{paced.clock_seconds:.0f} s for {paced.total} requests",
        "(reported)",
        "",
    )


def measure_concurrency(summary: Table) -> None:
    """Part 3: wall time of a first run, default concurrency against sequential, 100 ms latency."""
    default = Settings().extract_concurrency
    with bench(LATENCY_SCALE, Faults(latency_ms=100)) as b, fresh_lakes("pool", "one") as lakes:
        pooled = b.run(lakes[0], **UNPACED)
        sequential = b.run(lakes[1], EXTRACT_CONCURRENCY="1", **UNPACED)
    table = Table(
        title=f"3. First run with 100 ms latency per request ({_describe(LATENCY_SCALE)})"
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
    """Part 4: with 20 % of answers 429 each run completes, with a fault-free run's tables."""
    faults = Faults(rate_limit=0.2, retry_after=1)
    title = f"4. First run, 20 % of answers 429, Retry-After 1 s ({_describe(FAULT_SCALE)})"
    table = Table(title=title)
    for column in ("trial", "status", "manifest", "429s absorbed", "requests", "nine tables"):
        table.add_column(column, justify="left" if column in ("status", "nine tables") else "right")
    trials = []
    names = ("reference", *map(str, range(RATE_LIMIT_TRIALS)))
    with bench(FAULT_SCALE) as b, fresh_lakes(*names) as lakes:
        reference, clean = lakes[0], b.run(lakes[0], **UNPACED)
        expected = {name: _rows(reference, name) for name in TABLES}
        b.emulator.faults = faults
        for number, lake in enumerate(lakes[1:], 1):
            waits: list[float] = []
            trial = b.run(lake, sleep=waits.append, **UNPACED)
            differing = _differing_tables(expected, lake) if trial.manifest else None
            trials.append((trial, len(waits), differing))
            table.add_row(
                str(number),
                trial.record.status,
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
        if trial.record.errors:
            console.print(f"[red]Trial {number}:[/] {'; '.join(trial.record.errors)}")
    console.print()
    completed = sum(
        t.manifest.get("status") == raw.MANIFEST_COMPLETE and not t.record.errors
        for t, _, _ in trials
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


PARTS = (measure_requests, measure_against_dlt, measure_concurrency, measure_rate_limits)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loader", choices=LOADERS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.loader:
        print(json.dumps(LOADERS[args.loader]()))
        return
    summary = Table(title="Summary")
    for column in ("measure", "value", "target", ""):
        summary.add_column(column)
    began = time.perf_counter()
    for number, part in enumerate(PARTS, 1):
        part_began = time.perf_counter()
        part(summary)
        console.print(f"[dim]Part {number}: {time.perf_counter() - part_began:.0f} s.[/]\n")
    console.print(summary)
    console.print(f"[dim]Benchmark wall time: {time.perf_counter() - began:.0f} s.[/]")


if __name__ == "__main__":
    main()
