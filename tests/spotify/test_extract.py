"""Extract runs against the emulator over real HTTP, through the pipeline's entry point."""

import gzip
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from chalicelib import pipeline, raw
from chalicelib.accounts import register, registered
from chalicelib.errors import AuthError
from chalicelib.lake import get_json
from chalicelib.settings import Settings
from chalicelib.spotify.state import bookmark_key
from emulator import Faults

ALLOWED = {
    "GET /v1/me",
    "GET /v1/me/playlists",
    "GET /v1/playlists/{id}",
    "GET /v1/playlists/{id}/items",
    "GET /v1/me/player/recently-played",
    "GET /v1/me/top/{type}",
    "GET /v1/me/tracks",
    "GET /v1/albums/{id}",
    "GET /v1/artists/{id}",
    "GET /v1/tracks/{id}",
}

PLAYS_CURSOR = bookmark_key("plays")

pytestmark = pytest.mark.account(seed=3, clocked=True)


def extract(env, clock, **options):
    return pipeline.extract(Settings.from_env(env), now=clock.now, sleep=lambda _: None, **options)


def manifest_of(account_lake, record):
    return raw.Manifest.from_json(get_json(account_lake, record.manifest))


def test_a_snapshot_run_lands_every_answer_and_lists_it_in_the_manifest(env, account_lake, clock):
    record = extract({**env, "CATALOG_DETAIL_BUDGET": "100000"}, clock)
    manifest = manifest_of(account_lake, record)
    assert record.status == "extracted"
    assert manifest.status == raw.MANIFEST_COMPLETE
    assert manifest.snapshot_date == "2026-11-20"
    keys = [part.key for part in manifest.parts]
    assert len(keys) == len(set(keys))
    assert all(account_lake.exists(key) and key.endswith(".json.gz") for key in keys)
    streams = {part.stream for part in manifest.parts}
    assert streams >= {
        raw.ME,
        raw.PLAYLISTS,
        raw.PLAYLIST_ITEMS,
        raw.PLAYS,
        raw.TOP_TRACKS,
        raw.TOP_ARTISTS,
        raw.SAVED_TRACKS,
        raw.ALBUMS,
    }


def test_the_manifest_is_written_after_every_page(env, account_lake, clock):
    record = extract(env, clock)
    folder = Path(account_lake.uri(record.manifest)).parent
    pages = [p for p in folder.rglob("*.json.gz")]
    manifest = folder / "manifest.json"
    assert max(p.stat().st_mtime_ns for p in pages) <= manifest.stat().st_mtime_ns


def test_only_endpoints_that_exist_in_2026_are_called(env, emulator, clock):
    extract(env, clock)
    assert set(emulator.requests) - {"POST /api/token"} <= ALLOWED


def test_items_are_never_requested_for_playlists_the_api_withholds(
    env, account_lake, emulator, clock
):
    record = extract(env, clock)
    account = emulator.account
    withheld = {p.id for p in account.playlists if not p.readable}
    assert withheld and set(record.withheld_playlists) == withheld
    fetched = {
        part.playlist_id
        for part in manifest_of(account_lake, record).parts
        if part.stream == raw.PLAYLIST_ITEMS
    }
    assert fetched == {p.id for p in account.playlists if p.readable}


def test_each_album_and_artist_is_requested_at_most_once_per_run(
    env, account_lake, emulator, clock
):
    record = extract({**env, "CATALOG_DETAIL_BUDGET": "100000"}, clock)
    parts = manifest_of(account_lake, record).parts
    albums = [p.key for p in parts if p.stream == raw.ALBUMS]
    artists = [p.key for p in parts if p.stream == raw.ARTISTS]
    assert emulator.requests["GET /v1/albums/{id}"] == len(albums) == len(set(albums)) > 0
    assert emulator.requests["GET /v1/artists/{id}"] == len(artists) == len(set(artists)) > 0


def test_plays_are_read_after_the_stored_cursor(env, account_lake, emulator, clock):
    first = extract(env, clock, kind=raw.PLAYS_ONLY)
    cursor = get_json(account_lake, PLAYS_CURSOR)["after"]
    clock.moment += timedelta(hours=5)
    second = extract(env, clock, kind=raw.PLAYS_ONLY)
    plays = [
        item
        for part in manifest_of(account_lake, second).parts
        if part.stream == raw.PLAYS
        for item in get_json(account_lake, part.key)["items"]
    ]
    played = [
        int(datetime.fromisoformat(i["played_at"].replace("Z", "+00:00")).timestamp() * 1000)
        for i in plays
    ]
    assert first.counts["plays"] >= 1
    assert plays and min(played) > cursor
    assert get_json(account_lake, PLAYS_CURSOR)["after"] == max(played)
    expected_new = [p for p in emulator.account.plays if p.played_at_ms > cursor]
    assert len(plays) == len(expected_new)


def test_a_plays_run_reads_no_playlists_top_items_or_saved_tracks(env, emulator, clock):
    record = extract(env, clock, kind=raw.PLAYS_ONLY)
    assert record.kind == "plays" and record.streams == ["plays"]
    for endpoint in ("GET /v1/me/playlists", "GET /v1/me/top/{type}", "GET /v1/me/tracks"):
        assert emulator.requests[endpoint] == 0


def test_a_vanished_playlist_id_is_recorded_and_the_others_go_on(
    env, account_lake, emulator, clock
):
    owned = next(p.id for p in emulator.account.playlists if p.readable)
    env = {**env, "PLAYLISTS": f"0000000000000000000000,{owned}"}
    record = extract(env, clock, streams=("playlists",))
    assert record.status == "extracted"
    assert any("0000000000000000000000" in error for error in record.errors)
    items = {
        p.playlist_id
        for p in manifest_of(account_lake, record).parts
        if p.stream == raw.PLAYLIST_ITEMS
    }
    assert items == {owned}


def test_a_rate_limit_longer_than_the_run_can_wait_ends_it_partial(
    env, lake, account_lake, listener, emulator, clock
):
    register(lake, listener, {})  # a lake that knows the token's account from earlier runs
    emulator.faults = Faults(rate_limit=1.0, retry_after=4 * 3600)
    record = extract(env, clock)
    assert record.status == "partial"
    assert manifest_of(account_lake, record).status == raw.MANIFEST_PARTIAL
    assert any("rate limit" in error for error in record.errors)


def test_a_revoked_refresh_token_fails_the_run_with_a_record_saying_what_to_do(
    env, lake, account_lake, listener, emulator, clock
):
    register(lake, listener, {})  # a lake that knows the token's account from earlier runs
    emulator.revoke_refresh_token()
    with pytest.raises(AuthError):
        extract(env, clock)
    [record] = [get_json(account_lake, key) for key in account_lake.list("runs/")]
    assert record["status"] == "failed"
    assert "spotify-etl auth" in record["errors"][0]
    assert env["SPOTIFY_REFRESH_TOKEN"] not in str(record)
    assert env["SPOTIFY_CLIENT_SECRET"] not in str(record)


def test_a_first_run_whose_account_spotify_does_not_name_fails_without_a_record(
    env, lake, emulator, clock
):
    """A one-account token in a lake that knows no account yet: whose it is, only GET /me
    says; refused, the run fails saying why and leaves nothing behind."""
    emulator.revoke_refresh_token()
    with pytest.raises(AuthError, match="spotify-etl auth"):
        extract(env, clock)
    assert not list(lake.list("runs/"))
    assert registered(lake) == {}


def test_no_secret_is_written_into_the_lake(env, lake, account_lake, clock):
    extract(env, clock)
    files = [path.read_bytes() for path in lake.root.rglob("*") if path.is_file()]
    gzipped = [data for data in files if data[:2] == b"\x1f\x8b"]
    assert gzipped and len(gzipped) < len(files)  # raw pages, and the state and run records
    for data in [*files, *map(gzip.decompress, gzipped)]:
        assert env["SPOTIFY_CLIENT_SECRET"].encode() not in data
        assert env["SPOTIFY_REFRESH_TOKEN"].encode() not in data
