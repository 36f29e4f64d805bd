"""Catalog rows come from what the answers embed; full objects are optional enrichment, at
most CATALOG_DETAIL_BUDGET per run, most wanted first, filled in over the following runs.

Each test runs real extracts against the emulator over HTTP and the transform on a local
lake, and checks the tables against the emulator's own account model or against a run that
read every page itself: which details are due is decided from the pages a run reads and, for
the pages it carries, from the references the extract state keeps for them.
"""

from datetime import timedelta

import pytest

from chalicelib import pipeline, raw
from chalicelib.accounts import AccountLake, split_key
from chalicelib.lake import LocalLake, get_json, put_json
from chalicelib.runs import RunStore
from chalicelib.settings import Settings
from chalicelib.spotify import state
from chalicelib.spotify.catalog import References
from chalicelib.spotify.state import CATALOG as CATALOG_STATE
from chalicelib.spotify.state import bookmark_key
from chalicelib.transform import transform_run
from emulator import Scale
from emulator.account import TIME_RANGES
from tests.lake_tables import read_day, sorted_rows

DAY = "2026-11-20"
DETAILS = ("GET /v1/albums/{id}", "GET /v1/artists/{id}", "GET /v1/tracks/{id}")
CATALOG = ("tracks", "track_artists", "albums", "artists")
SMALL = Scale(playlists=5, entries=12, saved_tracks=12, plays_per_day=12, top_items=8)
PLAYLISTS, SAVED_TRACKS = bookmark_key("playlists"), bookmark_key("saved")

pytestmark = pytest.mark.account(seed=7, scale=SMALL, clocked=True)


class ReadingLake(LocalLake):
    """The test's lake, noting the raw pages read from it (and otherwise just the lake)."""

    def __init__(self, root):
        super().__init__(root)
        self.raw_read: list[str] = []

    def get(self, key):
        if key.startswith("raw/"):
            self.raw_read.append(key)
        return super().get(key)


def run(env, account_lake, clock, budget, extract_lake=None, **options):
    """One snapshot extract with this detail budget (into `extract_lake`, a view of the same
    account_lake, where given), then its transform; its run record."""
    settings = Settings.from_env({**env, "CATALOG_DETAIL_BUDGET": str(budget)})
    record = pipeline.extract(
        settings, now=clock.now, sleep=lambda _: None, lake=extract_lake or account_lake, **options
    )
    transform_run(account_lake, record.manifest)
    return RunStore(account_lake).get(record.run_id)


def rows(account_lake, name):
    return sorted_rows(read_day(account_lake, name, DAY))


def by_id(account_lake, name):
    return {row[f"{name[:-1]}_id"]: row for row in rows(account_lake, name)}


def referenced(account):
    """The tracks, albums and artists a snapshot run's answers reference, from the model."""
    catalog = account.world.catalog
    top_tracks = {t for r in TIME_RANGES for t in account.top["tracks", r]}
    played = {p.track_id for p in account.recent_plays}
    tracks = {
        e.ref for p in account.playlists if p.readable for e in p.entries if e.kind == "track"
    }
    tracks |= {s.track_id for s in account.saved} | top_tracks | played
    albums = {catalog.tracks[t].album_id for t in tracks}
    artists = {a for t in tracks for a in catalog.tracks[t].artist_ids}
    artists |= {a for album in albums for a in catalog.albums[album].artist_ids}
    top_artists = {a for r in TIME_RANGES for a in account.top["artists", r]}
    wanted_tracks = top_tracks | played
    wanted_albums = {catalog.tracks[t].album_id for t in wanted_tracks}
    wanted = {a for t in wanted_tracks for a in catalog.tracks[t].artist_ids}
    wanted |= {a for album in wanted_albums for a in catalog.albums[album].artist_ids}
    return {
        "tracks": tracks,
        "albums": albums,
        "artists": artists | top_artists,
        "top_artists": top_artists,
        "wanted": wanted_albums | (wanted - top_artists),
    }


def fetched_details(account_lake, record):
    """The IDs of the full albums and artists a run fetched itself (not carried)."""
    manifest = get_json(account_lake, record.manifest)
    folder = record.manifest.rsplit("/", 1)[0]
    return {
        part["key"].rsplit("/", 1)[1].split(".")[0]
        for part in manifest["parts"]
        if part["stream"] in (raw.ALBUMS, raw.ARTISTS) and part["key"].startswith(folder)
    }


def test_every_referenced_row_is_complete_from_the_answers_without_any_detail_request(
    env, account_lake, emulator, clock
):
    run(env, account_lake, clock, budget=0)
    assert sum(emulator.requests[endpoint] for endpoint in DETAILS) == 0
    account, refs = emulator.account, referenced(emulator.account)
    catalog = account.world.catalog
    tracks, albums, artists = (
        by_id(account_lake, "tracks"),
        by_id(account_lake, "albums"),
        by_id(account_lake, "artists"),
    )
    assert tracks and albums
    assert (set(tracks), set(albums), set(artists)) == (
        refs["tracks"],
        refs["albums"],
        refs["artists"],
    )
    for track_id, row in tracks.items():
        model = catalog.tracks[track_id]
        assert (row["name"], row["album_id"], row["duration_ms"], row["isrc"]) == (
            model.name,
            model.album_id,
            model.duration_ms,
            model.isrc,
        )
        assert (row["explicit"], row["track_number"], row["popularity"]) == (
            model.explicit,
            model.track_number,
            model.popularity,
        )
    credits = {
        (r["track_id"], r["artist_id"], r["artist_position"])
        for r in rows(account_lake, "track_artists")
    }
    assert credits == {
        (t, a, position)
        for t in refs["tracks"]
        for position, a in enumerate(catalog.tracks[t].artist_ids)
    }
    for album_id, row in albums.items():
        model = catalog.albums[album_id]
        assert (row["name"], row["album_type"], row["total_tracks"]) == (
            model.name,
            model.album_type,
            len(model.track_ids),
        )
        assert (row["release_date"], row["release_date_precision"], row["release_year"]) == (
            model.release_date,
            model.release_date_precision,
            int(model.release_date[:4]),
        )
        assert (row["label"], row["popularity"]) == (None, None)  # only the full album has them
    for artist_id, row in artists.items():
        assert row["name"] == catalog.artists[artist_id].name
    embedded = [row for a, row in artists.items() if a not in refs["top_artists"]]
    assert embedded  # a top artist comes in full, any other from what the answers embed
    details = {(r["genres"], r["followers"], r["popularity"], r["image_url"]) for r in embedded}
    assert details == {(None, None, None, None)}


def test_a_run_fetches_no_more_details_than_its_budget_those_of_plays_and_top_items_first(
    env, account_lake, emulator, clock
):
    record = run(env, account_lake, clock, budget=7)
    assert sum(emulator.requests[endpoint] for endpoint in DETAILS) == 7
    refs = referenced(emulator.account)
    fetched = fetched_details(account_lake, record)
    assert len(fetched) == 7 and fetched <= refs["wanted"]
    partial = len(refs["albums"]) + len(refs["artists"] - refs["top_artists"])
    assert record.counts["details_pending"] == partial - 7


def test_details_fill_in_over_runs_until_the_tables_equal_an_unlimited_budgets(
    env, account_lake, emulator, clock, tmp_path
):
    budget, pending = 9, [None]
    while pending[-1] != 0:
        assert len(pending) < 40, "details never finished filling in"
        record = run(env, account_lake, clock, budget=budget)
        fetched = len(fetched_details(account_lake, record))
        assert fetched == (budget if pending[-1] is None else min(budget, pending[-1]))
        pending.append(record.counts["details_pending"])
    assert len(pending) > 3  # it took several runs

    unlimited = AccountLake(LocalLake(tmp_path / "unlimited"), account_lake.account)
    once = run({**env, "LAKE_URI": str(tmp_path / "unlimited")}, unlimited, clock, 1_000_000)
    assert once.counts["details_pending"] == 0
    for name in CATALOG:
        assert rows(account_lake, name) == rows(unlimited, name), name
    artists = rows(account_lake, "artists")
    assert all(row["image_url"] for row in artists)  # every full artist has an image


def test_a_detail_is_carried_from_the_cache_on_later_runs_and_not_asked_for_again(
    env, account_lake, emulator, clock
):
    run(env, account_lake, clock, budget=1_000_000)
    labels = {a: row["label"] for a, row in by_id(account_lake, "albums").items()}
    emulator.reset_counts()
    record = run(env, account_lake, clock, budget=1_000_000)
    assert sum(emulator.requests[endpoint] for endpoint in DETAILS) == 0
    assert record.counts["details_pending"] == 0
    assert {a: row["label"] for a, row in by_id(account_lake, "albums").items()} == labels
    assert any(labels.values())


def test_a_detail_the_api_no_longer_has_is_recorded_once_and_not_asked_for_again(
    env, account_lake, emulator, clock
):
    run(env, account_lake, clock, budget=0)
    catalog = get_json(account_lake, CATALOG_STATE)
    gone = "0000000000000000000000"
    catalog["pending"]["albums"][gone] = 0  # left pending by an earlier run of the day
    put_json(account_lake, CATALOG_STATE, catalog)
    pending = sum(len(catalog["pending"][kind]) for kind in ("albums", "artists", "tracks"))
    emulator.reset_counts()
    record = run(env, account_lake, clock, budget=1_000_000)
    assert sum(emulator.requests[endpoint] for endpoint in DETAILS) == pending
    assert any(gone in error and "404" in error for error in record.errors)
    assert gone not in by_id(account_lake, "albums")  # no row for what nothing references
    catalog = get_json(account_lake, CATALOG_STATE)
    catalog["pending"]["albums"][gone] = 0  # and wanted once more
    put_json(account_lake, CATALOG_STATE, catalog)
    emulator.reset_counts()
    again = run(env, account_lake, clock, budget=1_000_000)
    assert sum(emulator.requests[endpoint] for endpoint in DETAILS) == 0
    assert again.errors == [] and again.counts["details_pending"] == 0


# Plays are left out: a later run reads only plays after the cursor, so a run with them would
# reference fewer objects than the first one did, whatever it carried.
CARRYING = ("playlists", "top", "saved")


def rerun_reading(env, account_lake, clock):
    """A run like the first (every cached detail past its age, so due again) on the same
    lake, noting what it reads from raw/; its run record and the raw keys it read (as the
    account's view names them)."""
    reading = ReadingLake(account_lake.base.root)
    clock.moment += timedelta(seconds=1)
    env = {**env, "CATALOG_MAX_AGE_DAYS": "0"}
    view = AccountLake(reading, account_lake.account)
    record = run(env, account_lake, clock, 1_000_000, extract_lake=view, streams=CARRYING)
    return record, [split_key(key)[1] for key in reading.raw_read]


def carried_keys(account_lake, record):
    folder = record.manifest.rsplit("/", 1)[0]
    manifest = get_json(account_lake, record.manifest)
    streams = (raw.PLAYLIST_ITEMS, raw.SAVED_TRACKS)
    return {
        part["key"]
        for part in manifest["parts"]
        if part["stream"] in streams and not part["key"].startswith(folder)
    }


def detail_requests(emulator):
    return {endpoint: emulator.requests[endpoint] for endpoint in DETAILS}


def test_a_run_carrying_pages_reads_none_of_them_yet_fetches_the_same_details(
    env, account_lake, emulator, clock
):
    first = run(env, account_lake, clock, budget=1_000_000, streams=CARRYING)
    requests, albums = detail_requests(emulator), rows(account_lake, "albums")
    emulator.reset_counts()
    second, read = rerun_reading(env, account_lake, clock)
    assert second.counts["playlist_items_carried"] > 0
    assert second.counts["saved_tracks_carried"] > 0
    assert read == []
    assert fetched_details(account_lake, second) == fetched_details(account_lake, first) != set()
    assert detail_requests(emulator) == requests
    assert second.counts["details_pending"] == 0
    assert rows(account_lake, "albums") == albums


def test_a_state_file_of_the_previous_version_reads_the_carried_pages_once(
    env, account_lake, emulator, clock
):
    first = run(env, account_lake, clock, budget=1_000_000, streams=CARRYING)
    playlists, saved = get_json(account_lake, PLAYLISTS), get_json(account_lake, SAVED_TRACKS)
    for kept in (*playlists.values(), saved):  # as the previous version wrote them
        kept["pages"] = [{"key": page["key"], "offset": page["offset"]} for page in kept["pages"]]
    put_json(account_lake, PLAYLISTS, playlists)
    put_json(account_lake, SAVED_TRACKS, saved)
    upgrading, read = rerun_reading(env, account_lake, clock)
    assert read and sorted(read) == sorted(carried_keys(account_lake, upgrading))
    assert fetched_details(account_lake, upgrading) == fetched_details(account_lake, first)
    upgraded, read_again = rerun_reading(env, account_lake, clock)
    assert upgraded.counts["playlist_items_carried"] > 0
    assert read_again == []
    assert fetched_details(account_lake, upgraded) == fetched_details(account_lake, first)


def test_the_references_kept_for_a_page_are_those_reading_it_would_collect(account_lake):
    album = {"id": "al1", "artists": [{"id": "ar2"}]}
    items = [
        {"track": {"id": "t2", "album": album, "artists": [{"id": "ar1"}, {"id": "ar3"}]}},
        {"track": {"id": "t1", "artists": [{"id": "ar1"}]}},  # without its album
        {"track": {"id": "t1", "album": {"id": "al2"}, "artists": []}},  # and with it
        {"track": {"id": "t3", "artists": [{"id": "ar4"}]}},
        {"track": {"id": "e1", "type": "episode"}},
        {"track": None},
        None,
    ]
    read = References.of_page(items, "track")
    kept = state.load(account_lake, {"saved": None})
    kept.bookmarks["saved"] = {"pages": [{"key": "raw/page", "catalog": read.catalog()}]}
    state.save_bookmark(account_lake, kept, "saved")
    [page] = state.load(account_lake, {"saved": None}).bookmarks["saved"]["pages"]
    carried = References()
    carried.add_catalog(page["catalog"])
    assert carried == read
    assert read.full["tracks"] == {"t1", "t2"}
