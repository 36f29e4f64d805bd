"""A run cut short inside a playlist (the Lambda's time runs out between its pages): the next
run carries the pages read, fetches only the rest, and the tables equal an uncut run's."""

from __future__ import annotations

import pytest

from chalicelib import raw
from chalicelib.accounts import AccountLake
from chalicelib.lake import LocalLake, get_json
from emulator import Scale

from .conftest import assert_no_duplicates, assert_raw_kept, raw_files, run, tables

ITEMS = "GET /v1/playlists/{id}/items"
pytestmark = [
    pytest.mark.integration,
    pytest.mark.usefixtures("fault_case"),
    pytest.mark.account(seed=3, scale=Scale(playlists=4, entries=260), clocked=True),
]


def fetched_pages(account_lake, record) -> set[tuple[str | None, int]]:
    """The (playlist, offset) of each page of items the run fetched rather than carried."""
    manifest = raw.Manifest.from_json(get_json(account_lake, record.manifest))
    folder = raw.run_folder(manifest.snapshot_date, manifest.run_id)
    return {
        (part.playlist_id, part.offset)
        for part in manifest.parts
        if part.stream == raw.PLAYLIST_ITEMS and part.key.startswith(folder)
    }


def test_a_run_cut_short_mid_playlist_resumes_there_and_the_tables_match_an_uncut_run(
    env, account_lake, clock, emulator, tmp_path
):
    reference = AccountLake(LocalLake(tmp_path / "reference"), account_lake.account)
    uncut = run({**env, "LAKE_URI": str(reference.base.root)}, reference, clock)
    pages = len(fetched_pages(reference, uncut))
    emulator.reset_counts()
    cut = run(
        env, account_lake, clock, remaining=lambda: 5.0 if emulator.requests[ITEMS] >= 4 else 900.0
    )
    assert cut.status == "partial" and "out of time" in " ".join(cut.errors)
    read = fetched_pages(account_lake, cut)
    assert any(offset > 0 for _, offset in read)  # it stopped inside a playlist
    before = raw_files(account_lake)
    emulator.reset_counts()
    resumed = run(env, account_lake, clock)
    assert resumed.status == "transformed"
    rest = fetched_pages(account_lake, resumed)
    assert not read & rest and len(read | rest) == pages == emulator.requests[ITEMS] + len(read)
    assert_raw_kept(before, account_lake)
    assert tables(account_lake) == tables(reference)
    assert_no_duplicates(account_lake)
