"""Layered fixtures: the demo's lake -> `chalice local` serving it on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

PROJECT = Path(__file__).resolve().parents[2]
DEMO_DAYS = 7
START_SECONDS = 30
FUZZ_REQUESTS: Counter[str] = Counter()


@pytest.fixture(scope="session")
def demo_lake(tmp_path_factory) -> Path:
    """A lake filled by the offline demo: a week of an emulated account, ending yesterday."""
    from spotify_etl.demo import run_demo

    folder = tmp_path_factory.mktemp("demo") / "lake"
    run_demo(str(folder), days=DEMO_DAYS, seed=7)
    return folder


def serve(lake: Path, log: Path):
    """`chalice local --no-autoreload` on a free port over this lake, as `make serve` runs it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "LAKE_URI": str(lake), "PYTHONUNBUFFERED": "1"}
    chalice = Path(sys.executable).with_name("chalice")
    command = [str(chalice), "local", "--no-autoreload", "--stage", "local", "--port", str(port)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=PROJECT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        try:
            requests.get(f"{url}/health", timeout=1)
            return process, url
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"chalice local did not start: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def server(demo_lake, tmp_path_factory) -> str:
    """The base URL of `chalice local` over the demo's lake."""
    process, url = serve(demo_lake, tmp_path_factory.mktemp("server") / "chalice-local.log")
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def empty_server(tmp_path) -> str:
    """The base URL of `chalice local` over an empty lake."""
    process, url = serve(tmp_path / "lake", tmp_path / "chalice-local.log")
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def http() -> requests.Session:
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="session")
def fuzz_requests() -> Counter[str]:
    """Requests the fuzz tests sent, by operation (reported at the end of the run)."""
    return FUZZ_REQUESTS


def pytest_terminal_summary(terminalreporter) -> None:
    if FUZZ_REQUESTS:
        counts = ", ".join(f"{op}: {n}" for op, n in sorted(FUZZ_REQUESTS.items()))
        total = sum(FUZZ_REQUESTS.values())
        terminalreporter.write_line(f"fuzz: {total} generated requests ({counts})")
