"""A run cut short inside a playlist: the next run carries the pages it read and fetches
only the rest, so a library larger than one run's budget completes over successive runs,
no page fetched twice. Checked against the emulator over HTTP, counting its requests."""

from collections import Counter

import pytest

from chalicelib import raw
from chalicelib.accounts import AccountLake
from chalicelib.lake import LocalLake, get_json
from chalicelib.schema import SNAPSHOT_TABLES
from emulator import Scale
from tests.lake_tables import read_day, sorted_rows
from tests.spotify.test_incremental import run

DAY = "2026-11-20"
ITEMS = "GET /v1/playlists/{id}/items"
pytestmark = pytest.mark.account(
    seed=11, scale=Scale(playlists=4, entries=480, saved_tracks=60), clocked=True
)


def fetched_pages(account_lake, record) -> list[tuple[str, int]]:
    """The (playlist, offset) of each page of items the run fetched (not carried)."""
    manifest = raw.Manifest.from_json(get_json(account_lake, record.manifest))
    folder = raw.run_folder(manifest.snapshot_date, manifest.run_id)
    return [
        (part.playlist_id, part.offset)
        for part in manifest.parts
        if part.stream == raw.PLAYLIST_ITEMS and part.key.startswith(folder)
    ]


def snapshot(account_lake):
    return {name: sorted_rows(read_day(account_lake, name, DAY)) for name in SNAPSHOT_TABLES}


def cut_after(emulator, requests: int):
    """A Lambda's time budget that runs out once the emulator has served `requests` more."""
    start = emulator.total_requests
    return lambda: 5.0 if emulator.total_requests - start >= requests else 900.0


@pytest.fixture
def uncut(env, clock, tmp_path, emulator, listener):
    """The same account read by one run that is never cut short: its tables and requests."""
    lake = AccountLake(LocalLake(tmp_path / "uncut"), listener)
    emulator.reset_counts()
    run({**env, "LAKE_URI": str(lake.base.root)}, lake, clock)
    requests = Counter(emulator.requests)
    emulator.reset_counts()
    return snapshot(lake), requests


def test_a_run_cut_short_mid_playlist_is_resumed_from_the_next_page_to_the_same_tables(
    env, account_lake, emulator, clock, uncut
):
    tables, requests = uncut
    pages = requests[ITEMS]
    assert pages > 10, requests
    cut = run(
        env, account_lake, clock, remaining=lambda: 5.0 if emulator.requests[ITEMS] >= 7 else 900.0
    )
    assert cut.status == "partial"
    read = fetched_pages(account_lake, cut)
    assert 0 < len(read) < pages and any(offset > 0 for _, offset in read)  # inside playlists
    assert not any(account_lake.list("processed/playlists/"))  # a partial run is no snapshot
    emulator.reset_counts()
    resumed = run(env, account_lake, clock)
    assert resumed.status == "transformed"
    rest = fetched_pages(account_lake, resumed)
    assert emulator.requests[ITEMS] == len(rest) == pages - len(read)
    assert sorted(read + rest) == sorted(set(read + rest))  # no page fetched twice
    assert resumed.counts["playlist_items_carried"] == len(read)
    assert snapshot(account_lake) == tables


def test_a_library_larger_than_one_runs_budget_completes_over_runs_fetching_each_page_once(
    env, account_lake, emulator, clock, uncut
):
    tables, requests = uncut
    assert requests[ITEMS] == 21 and requests.total() - requests["POST /api/token"] == 32
    budget = 12  # requests a run may make; each reads the user and the playlists list first
    records = [run(env, account_lake, clock, remaining=cut_after(emulator, budget))]
    while records[-1].status == "partial" and len(records) < 10:
        assert not any(
            account_lake.list("processed/playlists/")
        )  # no snapshot until it is complete
        records.append(run(env, account_lake, clock, remaining=cut_after(emulator, budget)))
    # 30 requests of work past the user and the list (21 item pages, 9 of plays, top and
    # saved), 10 a run: 3 runs, which repeat only the user and the list.
    assert [record.status for record in records] == ["partial", "partial", "transformed"]
    assert sum(record.counts["requests"] for record in records) == 32 + 2 * 2
    fetched = [page for record in records for page in fetched_pages(account_lake, record)]
    assert len(fetched) == len(set(fetched)) == emulator.requests[ITEMS] == 21
    assert snapshot(account_lake) == tables
