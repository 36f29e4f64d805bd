"""Layered fixtures: AWS credentials -> emulator -> lake -> environment -> app client."""

from __future__ import annotations

import pytest
from chalice_stage import stage_client

from chalicelib.lake import LocalLake


@pytest.fixture
def aws_credentials(monkeypatch):
    """Fake AWS credentials, so nothing can reach a real account."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def emulator():
    """A Spotify emulator on a free port, with the default account of seed 1."""
    from emulator import Emulator

    with Emulator(seed=1) as running:
        yield running


@pytest.fixture
def lake(tmp_path):
    return LocalLake(tmp_path / "lake")


@pytest.fixture
def env(monkeypatch, tmp_path, emulator, lake):
    """The pipeline's variables, pointing at the emulator and the test's lake, in a working
    folder of the test's own (the settings read no `.env` of the developer's)."""
    monkeypatch.chdir(tmp_path)
    values = {
        "LAKE_URI": str(lake.root),
        "QUERY_ENGINE": "duckdb",
        "PLAYLISTS": "all",
        # The emulator has no rate limit, and runs through the app and the CLI sleep for
        # real: pacing is tested on its own, on a clock the run's sleeps move.
        "SPOTIFY_RATE_LIMIT": "0",
        **emulator.variables(),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def app_client(tmp_path, env):
    """chalice.test.Client on a stage whose variables are the test's environment."""
    from app import app

    with stage_client(app, tmp_path / "project", env) as client:
        yield client
