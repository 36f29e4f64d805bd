"""`make serve` (`python -m spotify_etl.serve`) reads `.env` as the command line does: with
the settings only in `.env`, `POST /runs` extracts and transforms into the lake it names."""

import os
import socket
import subprocess
import sys
import time

import pytest
import requests

pytestmark = pytest.mark.integration  # chalice local as a server

START_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_reads_the_settings_from_dotenv_like_the_cli(emulator, tmp_path):
    lake = tmp_path / "lake-from-dotenv"
    settings = {
        "LAKE_URI": str(lake),
        "QUERY_ENGINE": "duckdb",
        "SPOTIFY_RATE_LIMIT": "0",
        **emulator.variables(),
    }
    (tmp_path / ".env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    env = {k: v for k, v in os.environ.items() if k not in settings and k != "PLAYLISTS"}
    port = free_port()
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "spotify_etl.serve", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline and process.poll() is None:
            try:
                requests.get(f"{url}/health", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        started = requests.post(f"{url}/runs", json={"streams": ["saved"]}, timeout=60)
        assert started.status_code == 202, started.text
        record = requests.get(f"{url}/runs/{started.json()['run_id']}", timeout=10).json()
        assert record["status"] == "transformed"
        assert (lake / "processed" / "saved_tracks").is_dir()
    finally:
        process.terminate()
        process.wait(timeout=10)
