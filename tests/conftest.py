"""Layered fixtures: AWS credentials -> emulator -> lake -> environment -> app client.

Each name is one fixture: a test module says which emulated account it needs with
`pytestmark = pytest.mark.account(seed=..., scale=..., clocked=True, ...)` (the Emulator's
own arguments; `clocked` puts it on the `clock` fixture), instead of redefining `emulator`.
"""

from __future__ import annotations

import pytest
from chalice_stage import stage_client
from moments import START

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
def clock():
    """Simulated time from START, which a clocked emulator and the runs share."""
    from emulator.clock import SimulatedClock

    return SimulatedClock(START)


@pytest.fixture
def emulator(request):
    """A Spotify emulator on a free port, serving the account the test's `account` marker
    describes; without one, the default account of seed 1 on the real clock."""
    from emulator import Emulator

    marker = request.node.get_closest_marker("account")
    options = dict(marker.kwargs) if marker else {"seed": 1}
    if options.pop("clocked", False):
        options["clock"] = request.getfixturevalue("clock").time
    with Emulator(**options) as running:
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
