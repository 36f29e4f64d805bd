"""The fault suite's fixtures: a small emulated account on a fake clock, a fault-free
reference lake, and readers that compare raw/ and the tables before and after a fault.

Tests count what they injected (fault cases, payloads, requests) with `record_property`
under a name in FIGURES; the sums are printed at the end of the run for docs/RELIABILITY.md.
"""

from __future__ import annotations

import gzip
import io
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from chalicelib import pipeline
from chalicelib.accounts import AccountLake
from chalicelib.lake import LocalLake
from chalicelib.runs import RunRecord, RunStore
from chalicelib.settings import Settings
from chalicelib.transform import transform_run
from emulator import Scale
from emulator.clock import SimulatedClock

DAY = "2026-11-20"
SMALL = Scale(
    playlists=4, entries=12, plays_per_day=20, saved_tracks=30, top_items=10, history_days=2
)
FIGURE = "figure:"  # record_property names the summary adds up
ACCOUNT = pytest.mark.account(seed=3, scale=SMALL, clocked=True)  # every fault module's


class Sleeps(list):
    """An injected sleep that only remembers what it was asked to wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(autouse=True)
def emulator_requests(request, record_property):
    """The requests a fault case's emulator served, for the figures."""
    running = request.getfixturevalue("emulator") if "emulator" in request.fixturenames else None
    yield
    if running is not None:
        record_property(f"{FIGURE}emulator requests", sum(running.requests.values()))


@pytest.fixture
def fault_case(record_property):
    """Marks a test as one fault case of the suite, for the figures."""
    record_property(f"{FIGURE}fault cases", 1)


def extract(env: dict[str, str], clock: SimulatedClock, **options: Any) -> RunRecord:
    """One extract run with an injected sleep and clock; its run record."""
    options.setdefault("sleep", Sleeps())
    return pipeline.extract(Settings.from_env(env), now=clock.now, **options)


def run(env: dict[str, str], lake: Any, clock: SimulatedClock, **options: Any) -> RunRecord:
    """An extract, then its transform, as the local pipeline does (in the lake, or the view
    of it, where the run's account lands); the final run record."""
    record = extract(env, clock, **options)
    view = lake if isinstance(lake, AccountLake) else AccountLake(lake, str(record.account))
    if record.manifest:
        transform_run(view, record.manifest, now=clock.now)
    return RunStore(view).get(record.run_id)


@pytest.fixture
def reference(env, tmp_path, clock, listener):
    """A fault-free run on its own lake, at the same moment: what every table should hold
    (the listener's view of it)."""
    lake = AccountLake(LocalLake(tmp_path / "reference"), listener)
    run({**env, "LAKE_URI": str(lake.base.root)}, lake, clock)
    return lake


def raw_files(lake: LocalLake) -> dict[str, bytes]:
    """Every object under raw/, by key: compared before and after a fault."""
    return {key: lake.get(key) for key in lake.list("raw/")}


def rows_of(data: bytes) -> list[dict[str, Any]]:
    rows = pq.read_table(io.BytesIO(data)).to_pylist()
    return sorted(rows, key=lambda row: [str(value) for value in row.values()])


def tables(lake: LocalLake) -> dict[str, list[dict[str, Any]]]:
    """Every processed partition's rows, sorted, by key."""
    return {key: rows_of(lake.get(key)) for key in lake.list("processed/")}


def assert_no_duplicates(lake: LocalLake) -> None:
    """No partition holds a row twice, and no play is stored twice in the whole table."""
    played_at = []
    for key, rows in tables(lake).items():
        as_text = [repr(row) for row in rows]
        assert len(as_text) == len(set(as_text)), f"{key} holds a row twice"
        if key.startswith("processed/plays/"):
            played_at += [row["played_at"] for row in rows]
    assert len(played_at) == len(set(played_at)), "a play is stored twice"


def assert_raw_kept(before: dict[str, bytes], lake: LocalLake) -> None:
    """Every raw object that was there before is still there, byte for byte."""
    after = raw_files(lake)
    assert {key: after.get(key) for key in before} == before


def lake_text(lake: Any) -> str:
    """Everything the lake holds (every account's, for a view of one), as text: JSON (gzip
    or not) and Parquet rows."""
    texts = []
    root = lake.base.root if isinstance(lake, AccountLake) else lake.root
    for path in Path(root).rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.suffix == ".parquet":
            texts.append(repr(pq.read_table(path).to_pylist()))
            continue
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        texts.append(data.decode("utf-8", errors="replace"))
    return "\n".join(texts)


def pytest_terminal_summary(terminalreporter) -> None:
    figures: Counter[str] = Counter()
    for reports in terminalreporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "teardown":
                continue
            for name, value in getattr(report, "user_properties", []):
                if isinstance(name, str) and name.startswith(FIGURE):
                    figures[name[len(FIGURE) :]] += value
    if figures:
        listed = ", ".join(f"{name}: {count}" for name, count in sorted(figures.items()))
        terminalreporter.write_line(f"reliability figures: {listed}")
