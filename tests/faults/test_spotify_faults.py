"""Spotify misbehaving during an extract: rate limits, outages, timeouts, expired and revoked
tokens. Each run ends with a clear status; what it fetched is kept, nothing is doubled, and
the tables match a fault-free run once the account answers again."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest

from chalicelib import raw
from chalicelib.accounts import register
from chalicelib.errors import AuthError
from chalicelib.lake import get_json
from chalicelib.runs import RunStore
from chalicelib.settings import Credentials
from chalicelib.spotify.client import RetryPolicy, SpotifyClient, TokenManager, session_for
from chalicelib.spotify.extract import Options, run_extract
from chalicelib.transform import transform_run
from emulator import Faults

from .conftest import (
    ACCOUNT,
    Sleeps,
    assert_no_duplicates,
    assert_raw_kept,
    extract,
    raw_files,
    run,
    tables,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fault_case"), ACCOUNT]


def manifest_status(account_lake, record) -> str:
    return raw.Manifest.from_json(get_json(account_lake, record.manifest)).status


def test_a_storm_of_429s_is_waited_out_and_the_tables_match_a_fault_free_run(
    env, account_lake, emulator, clock, reference
):
    emulator.faults = Faults(rate_limit=0.6, retry_after=2)
    sleeps = Sleeps()
    unpaced = {**env, "SPOTIFY_RATE_LIMIT": "0"}  # the sleeps counted are the retries' alone
    record = run(unpaced, account_lake, clock, sleep=sleeps)
    assert record.status == "transformed" and record.errors == []
    assert manifest_status(account_lake, record) == raw.MANIFEST_COMPLETE
    assert sleeps and set(sleeps) == {2.0}  # each wait is the Retry-After, through our sleep
    assert tables(account_lake) == tables(reference)
    assert_no_duplicates(account_lake)


def test_a_429_storm_past_the_retry_budget_ends_partial_and_the_next_run_resumes(
    env, account_lake, emulator, clock, reference
):
    register(account_lake.base, account_lake.account, {})  # known from earlier runs
    emulator.faults = Faults(rate_limit=1.0, retry_after=1)
    record = run(env, account_lake, clock)
    assert manifest_status(account_lake, record) == raw.MANIFEST_PARTIAL
    assert "answered 429 30 times in a row; the next run resumes" in record.errors[0]
    emulator.faults = Faults()
    resumed = run(env, account_lake, clock)
    assert resumed.status == "transformed"
    assert manifest_status(account_lake, resumed) == raw.MANIFEST_COMPLETE
    assert tables(account_lake) == tables(reference)


def test_a_retry_after_longer_than_the_lambda_has_left_ends_partial_then_a_later_run_resumes(
    env, account_lake, emulator, clock, reference
):
    run(env, account_lake, clock, streams=("saved",))  # what an earlier run landed
    earlier = raw_files(account_lake)
    calls = iter(range(10_000))
    emulator.faults = Faults(rate_limit=0.0)
    remaining = 300.0

    def cut_in(part: raw.Part) -> None:
        if next(calls) == 5:  # mid-run, Spotify starts asking for ten minutes
            emulator.faults = Faults(rate_limit=1.0, retry_after=600)

    sleeps = Sleeps()
    record = run(
        env, account_lake, clock, progress=cut_in, remaining=lambda: remaining, sleep=sleeps
    )
    assert manifest_status(account_lake, record) == raw.MANIFEST_PARTIAL
    assert (record.status, record.transform["status"]) == ("partial", "transformed")
    assert "asked to wait 600 s, more than this run can afford" in record.errors[0]
    assert sum(sleeps) < remaining  # it never slept through the Retry-After
    assert_raw_kept(earlier, account_lake)
    partial = raw_files(account_lake)
    emulator.faults = Faults()
    held = run(env, account_lake, clock)  # the app is held until the ten minutes passed
    assert held.status == "skipped" and "Spotify asked the app to wait" in held.errors[0]
    clock.moment += timedelta(minutes=10)
    resumed = run(env, account_lake, clock)
    assert resumed.status == "transformed" and resumed.errors == []
    assert_raw_kept(partial, account_lake)
    assert_no_duplicates(account_lake)
    assert tables(account_lake) == tables(reference)


def test_5xx_answers_are_retried_with_backoff_and_the_tables_match_a_fault_free_run(
    env, account_lake, emulator, clock, reference
):
    emulator.faults = Faults(server_errors=0.3)
    sleeps = Sleeps()
    # One request at a time, so the emulator's seeded fault draws fall the same way every
    # run (in a pool their order, and so the longest streak of 5xx, would vary).
    # Unpaced: the sleeps counted are the retries' alone.
    settings = {**env, "EXTRACT_CONCURRENCY": "1", "SPOTIFY_RATE_LIMIT": "0"}
    record = run(settings, account_lake, clock, sleep=sleeps)
    assert record.status == "transformed" and record.errors == []
    assert sleeps and max(sleeps) <= RetryPolicy().backoff_cap
    assert tables(account_lake) == tables(reference)
    assert_no_duplicates(account_lake)


def test_a_spotify_outage_ends_partial_with_the_status_it_answered_and_keeps_earlier_raw(
    env, account_lake, emulator, clock
):
    run(env, account_lake, clock, streams=("saved",))
    earlier, before = raw_files(account_lake), tables(account_lake)
    emulator.faults = Faults(server_errors=1.0)
    record = run(env, account_lake, clock)
    assert manifest_status(account_lake, record) == raw.MANIFEST_PARTIAL
    assert "answered 5" in record.errors[0] and "the next run resumes" in record.errors[0]
    assert_raw_kept(earlier, account_lake)
    assert {key: tables(account_lake)[key] for key in before} == before


def client_for(emulator, api_url: str, sleep, timeout: float) -> SpotifyClient:
    """A client as `connect` builds it, with a short timeout so a test need not wait 15 s."""
    session = session_for(api_url)
    credentials = Credentials(emulator.client_id, emulator.client_secret, emulator.refresh_token)
    tokens = TokenManager(credentials, emulator.auth_url, session)
    return SpotifyClient(tokens, session, sleep=sleep, timeout=timeout)


def extract_with(client, account_lake, clock):
    run_id = raw.new_run_id(clock.now())
    return run_extract(
        client, account_lake, options=Options(workers=2), run_id=run_id, started=clock.now()
    )


def test_timeouts_are_retried_and_the_tables_match_a_fault_free_run(
    account_lake, emulator, clock, reference
):
    slow = {"left": 3}

    def sleep(seconds: float) -> None:  # the answers get fast again after a few timeouts
        slow["left"] -= 1
        if slow["left"] == 0:
            emulator.faults = Faults()

    emulator.faults = Faults(latency_ms=400)
    client = client_for(emulator, emulator.api_url, sleep, timeout=0.1)
    result = extract_with(client, account_lake, clock)
    assert result.manifest.status == raw.MANIFEST_COMPLETE and result.errors == []
    assert slow["left"] <= 0
    transform_run(account_lake, result.manifest.key, now=clock.now)
    assert tables(account_lake) == tables(reference)
    assert_no_duplicates(account_lake)


def test_a_server_that_never_answers_ends_the_run_partial_after_the_retry_budget(
    account_lake, emulator, clock
):
    with socket.socket() as silent:  # accepts connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        api_url = f"http://127.0.0.1:{silent.getsockname()[1]}/v1"
        sleeps = Sleeps()
        client = client_for(emulator, api_url, sleeps, timeout=0.05)
        result = extract_with(client, account_lake, clock)
    assert result.manifest.status == raw.MANIFEST_PARTIAL
    assert "ReadTimeout 6 times in a row; the next run resumes" in result.errors[0]
    assert len(sleeps) == RetryPolicy().max_attempts - 1
    summary = transform_run(account_lake, result.manifest.key, now=clock.now)
    assert summary["snapshot"] != "applied"  # a partial run is no snapshot
    assert all(rows == [] for rows in tables(account_lake).values())


def test_an_access_token_expiring_mid_run_is_refreshed_once_and_nothing_is_lost(
    env, account_lake, emulator, clock, reference
):
    parts = iter(range(10_000))

    def expire(part: raw.Part) -> None:
        if next(parts) in (3, 12):
            emulator.expire_tokens()

    before = emulator.requests["POST /api/token"]
    record = run(env, account_lake, clock, progress=expire)
    assert record.status == "transformed" and record.errors == []
    assert emulator.requests["POST /api/token"] - before >= 2
    assert tables(account_lake) == tables(reference)
    assert_no_duplicates(account_lake)


def test_a_revoked_refresh_token_fails_the_run_with_what_to_do_and_keeps_earlier_data(
    env, account_lake, emulator, clock
):
    run(env, account_lake, clock)
    earlier, before = raw_files(account_lake), tables(account_lake)
    emulator.revoke_refresh_token()
    clock.moment += timedelta(hours=1)
    with pytest.raises(AuthError, match="run `spotify-etl auth` again"):
        extract(env, clock)
    [failed] = [r for r in RunStore(account_lake).recent() if r.status == "failed"]
    assert "revoked or expired" in failed.errors[0]
    assert "spotify-etl auth" in failed.errors[0]
    assert_raw_kept(earlier, account_lake)
    assert raw_files(account_lake) == earlier  # no page, no manifest of the failed run
    assert tables(account_lake) == before


def test_a_refresh_token_revoked_mid_run_fails_it_without_a_manifest_and_keeps_earlier_data(
    env, account_lake, emulator, clock
):
    run(env, account_lake, clock, streams=("saved",))
    earlier, before = raw_files(account_lake), tables(account_lake)
    parts = iter(range(10_000))

    def revoke(part: raw.Part) -> None:
        if next(parts) == 4:
            emulator.revoke_refresh_token()
            emulator.expire_tokens()

    clock.moment += timedelta(hours=1)
    with pytest.raises(AuthError):
        extract(env, clock, progress=revoke)
    failed = RunStore(account_lake).recent(1)[0]
    assert failed.status == "failed" and "spotify-etl auth" in failed.errors[0]
    assert_raw_kept(earlier, account_lake)
    new = [key for key in raw_files(account_lake) if key not in earlier]
    assert new and not any(key.endswith(raw.MANIFEST) for key in new)  # no trigger fires
    assert tables(account_lake) == before
