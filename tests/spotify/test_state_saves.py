"""The extractor's state files written back only over the version read (chalicelib.spotify.
state), on both lakes: a run that lost a race never moves a cursor back, never drops another
run's pending details or cache, and a run alone writes what it has."""

from chalicelib.spotify import state
from chalicelib.spotify.state import CatalogEntry, PendingDetails

DAY = "2026-11-20"
PLAYS = {"recently_played": None}


def cursor(after: int) -> dict:
    return {"after": after}


def test_a_run_alone_saves_its_bookmark_and_catalog_and_the_next_reads_them(either_lake):
    ours = state.load(either_lake, PLAYS)
    ours.bookmarks["recently_played"] = cursor(100)
    ours.catalog["albums"]["a1"] = CatalogEntry("raw/a1", f"{DAY}T12:00:00+00:00")
    state.save_bookmark(either_lake, ours, "recently_played")
    state.save_catalog(either_lake, ours)
    state.save_bookmark(either_lake, ours, "recently_played")  # over its own version
    again = state.load(either_lake, PLAYS)
    assert again.bookmarks == {"recently_played": cursor(100)}
    assert again.catalog["albums"] == {"a1": CatalogEntry("raw/a1", f"{DAY}T12:00:00+00:00")}


def test_a_run_that_lost_the_race_leaves_the_newer_cursor_where_it_is(either_lake):
    slow, fast = state.load(either_lake, PLAYS), state.load(either_lake, PLAYS)
    fast.bookmarks["recently_played"] = cursor(200)
    state.save_bookmark(either_lake, fast, "recently_played")
    slow.bookmarks["recently_played"] = cursor(150)
    state.save_bookmark(either_lake, slow, "recently_played")
    assert state.load(either_lake, PLAYS).bookmarks["recently_played"] == cursor(200)


def test_a_run_that_lost_the_race_merges_the_catalog_keeping_the_others_pending_details(
    either_lake,
):
    slow, fast = state.load(either_lake, PLAYS), state.load(either_lake, PLAYS)
    fast.catalog["artists"]["r1"] = CatalogEntry("raw/r1-fast", f"{DAY}T12:05:00+00:00")
    fast.pending = PendingDetails(DAY, {"tracks": {"t1": 0}, "albums": {"a2": 1}, "artists": {}})
    fast.played = {"t9"}
    state.save_catalog(either_lake, fast)
    slow.catalog["artists"]["r1"] = CatalogEntry("raw/r1-slow", f"{DAY}T12:00:00+00:00")
    slow.catalog["albums"]["a2"] = CatalogEntry("raw/a2", f"{DAY}T12:00:00+00:00")
    slow.pending = PendingDetails(DAY, {"tracks": {"t2": 0}, "albums": {}, "artists": {}})
    slow.played = {"t8"}
    state.save_catalog(either_lake, slow)
    merged = state.load(either_lake, PLAYS)
    assert merged.catalog["artists"] == {"r1": fast.catalog["artists"]["r1"]}  # the later fetch
    assert merged.catalog["albums"] == {"a2": slow.catalog["albums"]["a2"]}
    assert merged.pending.of(DAY) == {"tracks": {"t1": 0, "t2": 0}, "albums": {}, "artists": {}}
    assert merged.played == {"t8", "t9"}


def test_pending_details_of_an_earlier_day_give_way_to_the_later_days(either_lake):
    slow, fast = state.load(either_lake, PLAYS), state.load(either_lake, PLAYS)
    fast.pending = PendingDetails("2026-11-21", {"tracks": {"t1": 0}, "albums": {}, "artists": {}})
    state.save_catalog(either_lake, fast)
    slow.pending = PendingDetails(DAY, {"tracks": {"t2": 0}, "albums": {}, "artists": {}})
    state.save_catalog(either_lake, slow)
    assert state.load(either_lake, PLAYS).pending == fast.pending
