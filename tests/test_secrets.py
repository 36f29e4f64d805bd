"""No secret leaves the process: the whole pipeline (extract, transform, queries, REST routes
and the command line) runs with distinctive credentials, in success and failure, while every
log line at DEBUG, every output, answer, run record and lake file is kept; none holds the
client secret, a refresh token or an access token the emulator issued."""

from __future__ import annotations

import json
import logging

import pytest
from chalice.test import Client
from chalice_stage import stage_client

from chalicelib import pipeline
from chalicelib.accounts import register
from chalicelib.settings import Settings
from emulator import Faults
from spotify_etl.cli import main
from tests.faults.conftest import SMALL, lake_text

CLIENT_SECRET = "csecret-Zq8vW3xK9pL2mN7rT4yU"
REFRESH_TOKEN = "AQrefresh-Hj6kD2sF8gA5qW1eR9tY"
LOGGERS = ("", "spotipy", "spotipy.client", "urllib3", "requests", "botocore", "chalicelib")
JSON = {"Content-Type": "application/json"}
PARAMS = {"start_date": "2000-01-01", "end_date": "2100-01-01"}


pytestmark = pytest.mark.account(
    seed=2,
    scale=SMALL,
    faults=Faults(rotate_refresh_token=True),
    client_secret=CLIENT_SECRET,
    refresh_token=REFRESH_TOKEN,
)


class Everything(list):
    """HTTP answers kept by the test, then every log record and printed line, as text."""

    def __init__(self, caplog, capsys):
        super().__init__()
        self._caplog, self._capsys = caplog, capsys

    def texts(self, lake) -> list[str]:
        records = [
            f"{record.getMessage()} {record.exc_text or ''} {record.stack_info or ''}"
            for record in self._caplog.records
        ]
        printed = self._capsys.readouterr()
        return [*self, self._caplog.text, *records, printed.out, printed.err, lake_text(lake)]


@pytest.fixture
def everything(caplog, capsys, env, tmp_path, monkeypatch):
    """Captures every log record at DEBUG, spotipy's included (its own guard lifted)."""
    monkeypatch.chdir(tmp_path)  # the CLI reads and writes .env here, not the developer's
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    return Everything(caplog, capsys)


def secrets_of(emulator) -> set[str]:
    """The client secret and every refresh and access token the emulator knows of."""
    issued = set(emulator._access_tokens) | set(emulator._refresh_tokens)  # noqa: SLF001
    return {CLIENT_SECRET, REFRESH_TOKEN, *issued}


def leaks(texts: list[str], secrets: set[str]) -> list[str]:
    return sorted(secret for secret in secrets if any(secret in text for text in texts))


def app_client(env, tmp_path):
    from app import app

    return stage_client(app, tmp_path / "project", env)


def through_the_routes(client: Client, answers: list[str]) -> None:
    def keep(response):
        answers.append(response.body.decode("utf-8", errors="replace"))
        return response

    run = keep(client.http.post("/runs", headers=JSON, body=json.dumps({"kind": "snapshot"})))
    run_id = run.json_body.get("run_id")
    keep(client.http.get("/runs"))
    if run_id:
        keep(client.http.get(f"/runs/{run_id}"))
        keep(client.http.post(f"/runs/{run_id}/transform"))
    query = keep(client.http.post("/queries/top_tracks", headers=JSON,
                                  body=json.dumps({"params": PARAMS})))  # fmt: skip
    execution_id = (query.json_body or {}).get("execution_id")
    if execution_id:
        keep(client.http.get(f"/queries/executions/{execution_id}"))
    keep(client.http.get("/dashboard"))


def through_the_cli(answers: list[str]) -> None:
    answers.append(str(main(["extract"])))
    main(["runs"])
    main(["query", "top_tracks", "--param", "start_date=2000-01-01", "--format", "json"])


def test_a_whole_pipeline_run_leaks_no_secret_anywhere(env, lake, emulator, everything, tmp_path):
    with app_client(env, tmp_path) as client:
        through_the_routes(client, everything)
    through_the_cli(everything)
    texts = everything.texts(lake)
    secrets = secrets_of(emulator)
    assert emulator.requests["POST /api/token"] >= 2 and len(secrets) >= 5
    assert sum(len(text) for text in texts) > 100_000 and len(texts) > 50  # it did look
    assert leaks(texts, secrets) == []


def test_a_run_failing_on_5xx_or_a_revoked_token_leaks_no_secret(
    env, lake, listener, emulator, everything, tmp_path
):
    register(lake, listener, {})  # a lake that knows its account from earlier runs
    emulator.faults = Faults(server_errors=1.0, rotate_refresh_token=True)
    outage = pipeline.extract(Settings.from_env(env), sleep=lambda _: None)  # the backoff
    with app_client(env, tmp_path) as client:
        everything.append(client.http.get(f"/runs/{outage.run_id}").body.decode())
        emulator.faults = Faults()
        emulator.revoke_refresh_token()
        through_the_routes(client, everything)
    assert main(["extract"]) == 1
    texts = everything.texts(lake)
    assert "answered 5" in " ".join(texts) and "spotify-etl auth" in " ".join(texts)
    assert leaks(texts, secrets_of(emulator)) == []
