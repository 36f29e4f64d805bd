"""Imported plays' catalog rows come through the detail budget, a few tracks a snapshot,
the most played first, each fetched once; the named queries rank the same before and
after, by the export's names until the tracks are known."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from chalicelib import pipeline, raw
from chalicelib.lake import get_json
from chalicelib.query import service
from chalicelib.settings import Settings
from chalicelib.spotify.state import imported_tracks, save_imported_tracks
from emulator.export import write_export

pytestmark = pytest.mark.account(seed=12, clocked=True)
BUDGET = 40
TRACKS = "GET /v1/tracks/{id}"


def ranked(settings: Settings, name: str, start: str, end: str) -> list[dict]:
    params = {"start_date": start, "end_date": end, "limit": 1000}
    result = service.run_named(settings, name, params, 25, page_size=1000)
    names = [column["name"] for column in result["columns"]]
    return [dict(zip(names, row, strict=True)) for row in result["rows"]]


@pytest.fixture
def imported(env, account_lake, emulator, clock, tmp_path):
    """The account's export of 60 days imported, then one snapshot (the library's catalog)."""
    settings = Settings.from_env({**env, "CATALOG_DETAIL_BUDGET": str(BUDGET)})
    export = write_export(emulator.world, tmp_path / "e.zip", clock.time(), days=60)
    assert pipeline.import_history(settings, export, now=clock.now).status == "transformed"
    return settings


def snapshot(settings, clock, emulator):
    """A snapshot a day later; its record and the track requests it made."""
    clock.moment += timedelta(days=1)
    emulator.reset_counts()
    record = pipeline.extract_and_transform(settings, kind=raw.SNAPSHOT, now=clock.now)
    assert record.status == "transformed", record.errors
    return record, emulator.requests[TRACKS]


def fetched_in(account_lake, record) -> list[str]:
    """The tracks a run fetched because imported plays named them."""
    parts = get_json(account_lake, record.manifest)["parts"]
    return [
        part["key"].rsplit("/", 1)[1].removesuffix(".json.gz")
        for part in parts
        if part["stream"] == raw.IMPORTED_TRACK
    ]


def test_snapshots_fetch_imported_tracks_within_the_budget_each_once_until_none_wait(
    imported, account_lake, clock, emulator
):
    waiting = set(imported_tracks(account_lake))
    fetched, held, runs = [], set(), 0
    while True:
        record, requests = snapshot(imported, clock, emulator)
        runs += 1
        assert requests <= BUDGET and runs < 20
        fetched += fetched_in(account_lake, record)
        held |= set(get_json(account_lake, record.manifest)["played_tracks"])
        if record.counts.get("imported_tracks_pending", 0) == 0:
            break
    assert runs >= 3 and len(fetched) == len(set(fetched)) > BUDGET
    assert held and not held & set(fetched)  # the library's tracks cost no request
    played = set(get_json(account_lake, "state/catalog.json")["played"])
    assert waiting <= played
    record, requests = snapshot(imported, clock, emulator)
    assert (
        fetched_in(account_lake, record) == []
        and not get_json(account_lake, record.manifest)["played_tracks"]
    )


def test_a_saved_track_spotify_relinks_is_known_by_the_id_the_export_names(
    imported, account_lake, clock, emulator
):
    """Spotify serves a relinked track as a playable copy; the library and the export name
    the track itself, so the snapshot holds it in full and needs no request for it."""
    record, _ = snapshot(imported, clock, emulator)
    tracks = emulator.world.catalog.tracks
    saved = {s.track_id for s in emulator.account.saved}
    relinked = {t for t in saved if tracks[t].playable_id} & set(imported_tracks(account_lake))
    assert relinked
    assert relinked <= set(get_json(account_lake, record.manifest)["played_tracks"])
    assert not relinked & set(fetched_in(account_lake, record))


def test_the_most_played_imported_tracks_are_fetched_first(imported, account_lake, clock, emulator):
    plays = Counter()
    for key in account_lake.list("state/imported_tracks/"):
        plays.update(get_json(account_lake, key)["tracks"])
    fetched: list[str] = []
    while not fetched:
        record, _ = snapshot(imported, clock, emulator)
        fetched = fetched_in(account_lake, record)
    left = set(plays) - set(get_json(account_lake, "state/catalog.json")["played"])
    assert left and min(plays[t] for t in fetched) >= max(plays[t] for t in left)


def test_without_a_budget_nothing_is_fetched_and_the_plays_stay_named_by_the_export(
    env, account_lake, emulator, clock, tmp_path
):
    settings = Settings.from_env(env)
    export = write_export(emulator.world, tmp_path / "e.zip", clock.time(), days=30)
    pipeline.import_history(settings, export, now=clock.now)
    record, requests = snapshot(settings, clock, emulator)
    assert requests == 0 and fetched_in(account_lake, record) == []
    # nothing is fetched by choice, so nothing waits: no count grows run after run
    assert "imported_tracks_pending" not in record.counts
    assert "details_pending" not in record.counts


def test_top_tracks_and_artists_over_imported_history_are_the_same_before_and_after(
    imported, account_lake, clock, emulator
):
    start = (clock.now() - timedelta(days=70)).date().isoformat()
    end = (clock.now() - timedelta(days=8)).date().isoformat()  # before the API's plays
    before = {name: ranked(imported, name, start, end) for name in ("top_tracks", "top_artists")}
    while snapshot(imported, clock, emulator)[0].counts.get("imported_tracks_pending", 0):
        pass
    after = {name: ranked(imported, name, start, end) for name in ("top_tracks", "top_artists")}
    keep = ("rank", "track_id", "track_name", "plays", "minutes")
    assert [{k: r[k] for k in keep} for r in after["top_tracks"]] == [
        {k: r[k] for k in keep} for r in before["top_tracks"]
    ]
    # By name: before, two artists of one name are one row (the export names, no IDs).
    assert by_name(after["top_artists"]) == by_name(before["top_artists"])
    assert any(row["artist_id"] is None for row in before["top_artists"])
    assert all(row["artist_id"] for row in after["top_artists"])


def by_name(rows: list[dict]) -> Counter:
    plays = Counter()
    for row in rows:
        plays[row["artist_name"]] += row["plays"]
    return plays


def test_a_snapshot_reads_each_imports_tracks_once_however_many_imports_there_were(s3, s3_lake):
    """The first snapshot after an import sums its tracks into one file; later ones read that
    file and the imports' names, not every import again."""
    imports = {f"import{n}": {"t1": n, f"only{n}": 1} for n in range(1, 6)}
    for import_id, plays in list(imports.items())[:4]:
        save_imported_tracks(s3_lake, import_id, plays)
    called: list[str] = []
    s3.meta.events.register("before-call.s3", lambda model, **_: called.append(model.name))

    first = imported_tracks(s3_lake)
    assert Counter(called) == {"GetObject": 5, "ListObjectsV2": 1, "PutObject": 1}
    called.clear()
    assert imported_tracks(s3_lake) == first == ["t1", "only1", "only2", "only3", "only4"]
    assert Counter(called) == {"GetObject": 1, "ListObjectsV2": 1}

    save_imported_tracks(s3_lake, "import5", imports["import5"])
    assert imported_tracks(s3_lake)[0] == "t1" and "only5" in imported_tracks(s3_lake)
    totals = get_json(s3_lake, "state/imported_tracks.json")
    assert totals["tracks"]["t1"] == 1 + 2 + 3 + 4 + 5 and len(totals["imports"]) == 5
