"""Layered fixtures, one per name, for every folder of tests:

    AWS credentials -> emulator -> lake -> environment -> app client
    AWS credentials -> moto -> bucket -> S3 lake / S3 environment -> S3 app client
    the demo's lake -> `chalice local` serving it

Each name is one fixture: a test module says which emulated account it needs with
`pytestmark = pytest.mark.account(seed=..., scale=..., clocked=True, ...)` (the Emulator's
own arguments; `clocked` puts it on the `clock` fixture), instead of redefining `emulator`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import requests
from chalice_stage import stage_client
from moto import mock_aws
from stand_ins import BUCKET, PREFIX, REGION, START

from app import app  # imported before any fixture sets LAKE_URI: its event sources stay local
from chalicelib.accounts import AccountLake
from chalicelib.lake import LocalLake, S3Lake

PROJECT = Path(__file__).resolve().parents[1]
DEMO_DAYS = 7
START_SECONDS = 30
SPOTIFY_CREDENTIALS = ("SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET", "SPOTIFY_REFRESH_TOKEN")


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


@pytest.fixture(params=["local", "s3"])
def either_lake(request, tmp_path, aws_credentials):
    """Each test runs on both lakes: a local folder, and a bucket in moto."""
    if request.param == "local":
        yield LocalLake(tmp_path / "lake")
        return
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="lake-bucket")
        yield S3Lake(client, "lake-bucket", "prefix/")


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
def listener(emulator) -> str:
    """The emulator's (first) user: the account a run of its refresh token extracts."""
    return emulator.users[0].user_id


@pytest.fixture
def account_lake(lake, listener) -> AccountLake:
    """The listener's view of the test's lake, where its runs land (chalicelib.accounts)."""
    return AccountLake(lake, listener)


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
    return exported(monkeypatch, values)


@pytest.fixture
def without_credentials(monkeypatch):
    """No Spotify credentials in the test's environment; called with a stage's variables, it
    answers them without the credentials too."""
    for name in SPOTIFY_CREDENTIALS:
        monkeypatch.delenv(name, raising=False)
    return lambda values: {k: v for k, v in values.items() if k not in SPOTIFY_CREDENTIALS}


@pytest.fixture
def app_client(tmp_path, env):
    """chalice.test.Client on a stage whose variables are the test's environment."""
    with stage_client(app, tmp_path / "project", env) as client:
        yield client


@pytest.fixture
def aws(aws_credentials):
    """moto in place of AWS; Lambda invocations succeed without running (no Docker here)."""
    with mock_aws(config={"lambda": {"use_docker": False}}):
        yield


@pytest.fixture
def no_credentials(monkeypatch, tmp_path):
    """No AWS credentials anywhere botocore looks (environment, files, instance metadata)."""
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def s3(aws):
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def s3_lake(s3):
    return S3Lake(s3, BUCKET, PREFIX)


@pytest.fixture
def s3_env(monkeypatch, env, s3):
    """The pipeline's variables with the lake in S3 and queries on Athena."""
    values = {
        **env,
        "LAKE_URI": f"s3://{BUCKET}/{PREFIX.rstrip('/')}",
        "QUERY_ENGINE": "athena",
        "GLUE_DATABASE": "spotify_etl_test",
        "ATHENA_WORKGROUP": "spotify-etl-test",
        "EXTRACT_FUNCTION": "spotify-etl-test-run_extract",
        "REPLAY_FUNCTION": "spotify-etl-test-replay",
    }
    return exported(monkeypatch, values)


@pytest.fixture
def s3_app_client(tmp_path, s3_env):
    """chalice.test.Client on a stage whose lake is the moto bucket."""
    with stage_client(app, tmp_path / "s3-project", s3_env, lambda_timeout=900) as client:
        yield client


@pytest.fixture(scope="session")
def demo_lake(tmp_path_factory) -> Path:
    """A lake filled by the offline demo: a week of an emulated account, ending yesterday."""
    from spotify_etl.demo import run_demo

    folder = tmp_path_factory.mktemp("demo") / "lake"
    run_demo(str(folder), days=DEMO_DAYS, seed=7)
    return folder


def serve(lake: Path, log: Path, **variables: str):
    """`chalice local --no-autoreload` on a free port over this lake, as `make serve` runs it
    (with more variables, as a `.env` would give them)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "LAKE_URI": str(lake), "PYTHONUNBUFFERED": "1", **variables}
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
def demo_listeners() -> list[str]:
    """The demo's listeners (seed 7), the first the one whose tables it prints."""
    from emulator import Emulator

    return [user.user_id for user in Emulator(seed=7, users=2).users]


@pytest.fixture(scope="session")
def server(demo_lake, tmp_path_factory) -> str:
    """The base URL of `chalice local` over the demo's lake."""
    process, url = serve(demo_lake, tmp_path_factory.mktemp("server") / "chalice-local.log")
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="session")
def linked_server(demo_lake, tmp_path_factory) -> tuple[str, str]:
    """`chalice local` over the demo's lake with a dashboard link key: (base URL, key)."""
    key = "5eed" * 16
    log = tmp_path_factory.mktemp("linked") / "chalice-local.log"
    process, url = serve(demo_lake, log, DASHBOARD_KEY=key)
    yield url, key
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


def exported(monkeypatch, values: dict[str, str]) -> dict[str, str]:
    """The variables, set in the test's environment."""
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values
