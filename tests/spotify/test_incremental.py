"""Runs after the first ask only for what changed, resume after being cut short, and survive
rate limits; each checked against the emulator over HTTP, with injected clocks and sleeps."""

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from chalicelib import pipeline, raw
from chalicelib.accounts import AccountLake, register
from chalicelib.errors import ConfigError
from chalicelib.lake import LocalLake, get_json, put_json
from chalicelib.runs import RunStore
from chalicelib.schema import SNAPSHOT_TABLES
from chalicelib.settings import Settings
from chalicelib.spotify.limiter import AdaptiveLimiter
from chalicelib.spotify.state import bookmark_key
from chalicelib.transform import transform_run
from emulator import Faults
from emulator.clock import SimulatedClock
from tests.lake_tables import read_day, sorted_rows

SAVED_TRACKS = bookmark_key("saved")

pytestmark = pytest.mark.account(seed=5, clocked=True)


def run(env, account_lake, clock, **options):
    """An extract, then its transform, as the local pipeline does."""
    record = pipeline.extract(
        Settings.from_env(env), now=clock.now, sleep=lambda _: None, **options
    )
    if record.manifest:
        transform_run(account_lake, record.manifest)
    return RunStore(account_lake).get(record.run_id)


def table(account_lake, name, day):
    return sorted_rows(read_day(account_lake, name, day))


def snapshot(account_lake, day):
    return {name: table(account_lake, name, day) for name in SNAPSHOT_TABLES}


def test_an_unchanged_rerun_makes_at_most_ten_requests_and_keeps_the_snapshot_whole(
    env, account_lake, emulator, clock
):
    run(env, account_lake, clock)
    first = snapshot(account_lake, "2026-11-20")
    emulator.reset_counts()
    clock.moment += timedelta(minutes=30)
    record = run(env, account_lake, clock)
    assert emulator.total_requests <= 10
    assert record.counts["requests"] == emulator.total_requests
    assert record.counts["playlist_items_carried"] > 0
    assert snapshot(account_lake, "2026-11-20") == first


def as_the_previous_version_kept_it(account_lake, run_id):
    """The state of the streams moved back into the files, and the shapes, the version
    before bookmarks by stream wrote (each stream's fields, one file each)."""
    plays = get_json(account_lake, bookmark_key("plays"))
    playlists = get_json(account_lake, bookmark_key("playlists"))
    saved = get_json(account_lake, bookmark_key("saved"))
    put_json(account_lake, "state/plays_cursor.json", {"after": plays["after"], "run_id": run_id})
    put_json(
        account_lake,
        "state/playlists.json",
        {
            playlist_id: {"snapshot_id": kept["snapshot_id"], "pages": kept["pages"]}
            for playlist_id, kept in playlists.items()
        },
    )
    put_json(
        account_lake,
        "state/saved_tracks.json",
        {name: saved[name] for name in ("total", "pages", "known", "read_at")},
    )
    for stream in ("plays", "playlists", "saved"):
        Path(account_lake.uri(bookmark_key(stream))).unlink()  # the lake itself deletes no state


def test_the_state_of_the_previous_version_is_read_once_and_carried_over(
    env, account_lake, emulator, clock
):
    first = run(env, account_lake, clock)
    before = snapshot(account_lake, "2026-11-20")
    as_the_previous_version_kept_it(account_lake, first.run_id)
    emulator.reset_counts()
    clock.moment += timedelta(minutes=30)
    upgrading = run(env, account_lake, clock)
    unchanged_rerun = emulator.total_requests
    assert unchanged_rerun <= 10 and upgrading.counts["playlist_items_carried"] > 0
    assert upgrading.counts["saved_tracks_carried"] > 0
    assert snapshot(account_lake, "2026-11-20") == before
    for old in ("state/plays_cursor.json", "state/playlists.json", "state/saved_tracks.json"):
        put_json(account_lake, old, {})  # never read again: the streams' own files are
    emulator.reset_counts()
    clock.moment += timedelta(minutes=30)
    upgraded = run(env, account_lake, clock)
    assert emulator.total_requests == unchanged_rerun
    assert upgraded.counts["playlist_items_carried"] == upgrading.counts["playlist_items_carried"]
    assert snapshot(account_lake, "2026-11-20") == before


def test_only_the_playlists_whose_snapshot_id_changed_are_read_again(
    env, account_lake, emulator, clock
):
    run(env, account_lake, clock)
    before = {p.id: p.snapshot_id for p in emulator.account.playlists}
    clock.moment += timedelta(days=1)
    changed = {p.id for p in emulator.account.playlists if before.get(p.id) != p.snapshot_id}
    record = run(env, account_lake, clock)
    read = {
        part.playlist_id
        for part in raw.Manifest.from_json(get_json(account_lake, record.manifest)).parts
        if part.stream == raw.PLAYLIST_ITEMS and f"/{record.run_id}/" in part.key
    }
    assert changed and read == changed & {p.id for p in emulator.account.playlists if p.readable}
    entries = table(account_lake, "playlist_items", "2026-11-21")
    account = emulator.account
    expected = sum(e.kind != "null" for p in account.playlists if p.readable for e in p.entries)
    assert len(entries) == expected


def test_saved_tracks_are_read_only_down_to_the_newest_known_one(
    env, account_lake, emulator, clock
):
    run(env, account_lake, clock, streams=("saved",))
    emulator.reset_counts()
    clock.moment += timedelta(days=1)
    run(env, account_lake, clock, streams=("saved",))
    assert emulator.requests["GET /v1/me/tracks"] == 1
    saved = table(account_lake, "saved_tracks", "2026-11-21")
    assert [
        row["track_id"] for row in sorted(saved, key=lambda r: r["added_at"], reverse=True)
    ] == [s.track_id for s in emulator.account.saved]


def test_saved_tracks_are_read_in_full_when_the_counts_show_one_was_removed(
    env, account_lake, emulator, clock
):
    run(env, account_lake, clock, streams=("saved",))
    known = get_json(account_lake, SAVED_TRACKS)
    known["known"].append(["0000000000000000000000", "2020-01-01T00:00:00Z"])  # since unsaved
    put_json(account_lake, SAVED_TRACKS, known)
    emulator.reset_counts()
    run(env, account_lake, clock, streams=("saved",))
    pages = -(-len(emulator.account.saved) // 50)
    assert emulator.requests["GET /v1/me/tracks"] == pages
    assert len(table(account_lake, "saved_tracks", "2026-11-20")) == len(emulator.account.saved)


def test_albums_and_artists_are_fetched_once_then_served_from_the_cache(
    env, account_lake, emulator, clock
):
    env = {**env, "CATALOG_DETAIL_BUDGET": "100000"}
    run(env, account_lake, clock)
    assert emulator.requests["GET /v1/albums/{id}"] > 0
    albums = table(account_lake, "albums", "2026-11-20")
    emulator.reset_counts()
    clock.moment += timedelta(days=1)
    run(env, account_lake, clock)
    assert emulator.requests["GET /v1/albums/{id}"] < len(albums) / 4
    assert {r["album_id"] for r in albums} <= {
        r["album_id"] for r in table(account_lake, "albums", "2026-11-21")
    }
    labels = {r["album_id"]: r["label"] for r in table(account_lake, "albums", "2026-11-21")}
    assert all(labels[r["album_id"]] == r["label"] for r in albums)


def test_cached_catalog_objects_are_fetched_again_past_their_age(
    env, account_lake, emulator, clock
):
    env = {**env, "CATALOG_DETAIL_BUDGET": "100000"}
    run(env, account_lake, clock)
    albums = emulator.requests["GET /v1/albums/{id}"]
    emulator.reset_counts()
    run(
        {**env, "CATALOG_MAX_AGE_DAYS": "0"},
        account_lake,
        SimulatedClock(clock.moment + timedelta(seconds=1)),
    )
    assert emulator.requests["GET /v1/albums/{id}"] == albums


def test_a_run_cut_short_is_partial_and_the_next_one_resumes_to_the_same_tables(
    env, account_lake, emulator, clock, tmp_path
):
    env = {**env, "CATALOG_DETAIL_BUDGET": "100000"}  # a long run, cut short among details
    calls = iter(range(10_000))
    record = run(env, account_lake, clock, remaining=lambda: 900.0 if next(calls) < 40 else 5.0)
    assert (record.status, record.extract) == ("partial", "partial")
    assert record.transform["status"] == "transformed"  # what it fetched is in the tables
    manifest = raw.Manifest.from_json(get_json(account_lake, record.manifest))
    assert manifest.status == raw.MANIFEST_PARTIAL
    assert "out of time" in " ".join(record.errors)
    assert not any(account_lake.list("processed/playlists/"))  # a partial run is no snapshot
    emulator.reset_counts()
    resumed = run(env, account_lake, clock)
    resumed_manifest = raw.Manifest.from_json(get_json(account_lake, resumed.manifest))
    assert resumed_manifest.status == raw.MANIFEST_COMPLETE
    assert resumed.counts.get("playlist_items_carried", 0) > 0
    reference = AccountLake(LocalLake(tmp_path / "reference"), account_lake.account)
    run({**env, "LAKE_URI": str(reference.base.root)}, reference, clock)
    assert snapshot(account_lake, "2026-11-20") == snapshot(reference, "2026-11-20")


def test_with_a_fifth_of_answers_429_the_run_completes_with_the_same_tables(
    env, account_lake, emulator, clock, tmp_path
):
    reference = AccountLake(LocalLake(tmp_path / "reference"), account_lake.account)
    run({**env, "LAKE_URI": str(reference.base.root)}, reference, clock)
    emulator.faults = Faults(rate_limit=0.2, retry_after=1)
    record = run(env, account_lake, clock)
    assert record.status == "transformed" and record.errors == []
    for name in (*SNAPSHOT_TABLES, "tracks", "albums", "artists", "track_artists"):
        assert table(account_lake, name, "2026-11-20") == table(reference, name, "2026-11-20"), name


def test_the_limiter_halves_on_a_rate_limit_and_grows_back_with_successes():
    limiter = AdaptiveLimiter(initial=8, maximum=8)
    limiter.rate_limited()
    limiter.rate_limited()
    assert limiter.limit == 2
    for _ in range(40):
        limiter.succeeded()
    assert limiter.limit == 8


def test_the_limiter_never_lets_more_requests_in_flight_than_its_limit():
    limiter = AdaptiveLimiter(initial=3, maximum=3)
    in_flight, peak, lock = 0, 0, threading.Lock()
    barrier = threading.Barrier(6)

    def request():
        nonlocal in_flight, peak
        barrier.wait()
        with limiter:
            with lock:
                in_flight += 1
                peak = max(peak, in_flight)
            with lock:
                in_flight -= 1

    threads = [threading.Thread(target=request) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 1 <= peak <= 3


def test_a_refresh_token_rotated_in_aws_is_written_back_into_the_secret(aws_credentials):
    import json

    import boto3
    from moto import mock_aws

    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        value = {"client_id": "id", "client_secret": "secret", "refresh_token": "old"}
        client.create_secret(Name="spotify-etl/dev", SecretString=json.dumps(value))
        settings = Settings.from_env({"SPOTIFY_SECRET_ID": "spotify-etl/dev"})
        assert pipeline.credentials_for(settings, secrets_client=client).refresh_token == "old"
        pipeline.store_refresh_token(settings, secrets_client=client)("new")
        stored = json.loads(client.get_secret_value(SecretId="spotify-etl/dev")["SecretString"])
        assert stored == {**value, "refresh_token": "new"}


def test_a_quota_exceeded_429_stops_the_run_at_once_and_says_so(env, account_lake, emulator, clock):
    register(account_lake.base, account_lake.account, {})  # known from earlier runs
    emulator.faults = Faults(rate_limit=1.0, retry_after=1, quota_exceeded=True)
    record = run(env, account_lake, clock)
    assert emulator.total_requests == 1
    assert (
        raw.Manifest.from_json(get_json(account_lake, record.manifest)).status
        == raw.MANIFEST_PARTIAL
    )
    assert "QUOTA_EXCEEDED" in record.errors[0]


def test_saved_tracks_are_read_in_full_again_once_a_week(env, account_lake, emulator, clock):
    run(env, account_lake, clock, streams=("saved",))
    clock.moment += timedelta(days=8)
    emulator.reset_counts()
    run(env, account_lake, clock, streams=("saved",))
    assert emulator.requests["GET /v1/me/tracks"] == -(-len(emulator.account.saved) // 50)
    saved = table(account_lake, "saved_tracks", "2026-11-28")
    assert sorted(r["track_id"] for r in saved) == sorted(
        s.track_id for s in emulator.account.saved
    )


def test_a_spotify_outage_ends_the_run_partial_with_what_it_fetched(
    env, account_lake, emulator, clock
):
    run(env, account_lake, clock, streams=("saved",))
    emulator.faults = Faults(server_errors=1.0)
    record = run(env, account_lake, clock)
    assert (
        raw.Manifest.from_json(get_json(account_lake, record.manifest)).status
        == raw.MANIFEST_PARTIAL
    )
    assert "answered 5" in record.errors[0]
    assert (record.status, record.extract) == ("partial", "partial")
    assert record.transform["status"] == "transformed"


def secrets_manager():
    import boto3

    return boto3.client("secretsmanager", region_name="us-east-1")


def test_a_missing_or_unreadable_secret_fails_the_run_saying_what_to_do(aws_credentials, tmp_path):
    from moto import mock_aws

    settings = Settings.from_env(
        {"SPOTIFY_SECRET_ID": "spotify-etl/nope", "LAKE_URI": str(tmp_path / "lake")}
    )
    register(LocalLake(tmp_path / "lake"), "ann", {})  # the lake's account, from earlier runs
    with mock_aws():
        with pytest.raises(ConfigError, match="does not exist") as missing:
            pipeline.extract(settings)
        secrets_manager().create_secret(Name="spotify-etl/nope", SecretString="not json")
        with pytest.raises(ConfigError, match="must be JSON with client_id") as shapeless:
            pipeline.extract(settings)
    for problem in (missing, shapeless):
        assert "spotify-etl auth --secret-id spotify-etl/nope" in str(problem.value)
    records = RunStore(AccountLake(LocalLake(tmp_path / "lake"), "ann")).recent()
    assert [record.status for record in records] == ["failed", "failed"]
    assert not any("unexpected" in record.errors[0] for record in records)


def test_a_token_rotated_for_one_of_several_accounts_goes_back_into_its_entry(aws_credentials):
    import json

    from moto import mock_aws

    with mock_aws():
        client = secrets_manager()
        value = {
            "client_id": "id",
            "client_secret": "secret",
            "accounts": {"ann": {"refresh_token": "a1"}, "bob": {"refresh_token": "b1"}},
        }
        client.create_secret(Name="spotify-etl/dev", SecretString=json.dumps(value))
        settings = Settings.from_env({"SPOTIFY_SECRET_ID": "spotify-etl/dev"})
        assert pipeline.credentials_for(settings, "bob", client).refresh_token == "b1"
        pipeline.store_refresh_token(settings, "bob", client)("b2")
        stored = json.loads(client.get_secret_value(SecretId="spotify-etl/dev")["SecretString"])
    assert stored["accounts"] == {"ann": {"refresh_token": "a1"}, "bob": {"refresh_token": "b2"}}


def test_a_rotated_token_that_cannot_be_stored_back_says_it_is_not_saved(aws_credentials):
    import json

    from moto import mock_aws

    with mock_aws():
        client = secrets_manager()
        value = {"client_id": "id", "client_secret": "cs-Zq8vW3xK", "refresh_token": "old-token"}
        client.create_secret(Name="spotify-etl/dev", SecretString=json.dumps(value))
        settings = Settings.from_env({"SPOTIFY_SECRET_ID": "spotify-etl/dev"})
        store = pipeline.store_refresh_token(settings, secrets_client=client)
        client.delete_secret(SecretId="spotify-etl/dev")  # deleted while the run went on
        with pytest.raises(ConfigError) as refused:
            store("new-token")
    message = str(refused.value)
    assert "the new one is not saved" in message
    assert "spotify-etl auth --secret-id spotify-etl/dev" in message
    assert not any(secret in message for secret in ("new-token", "old-token", "cs-Zq8vW3xK"))
