"""The detail budget's plan, a pure function: what the answers referenced and what the state
remembers in, the full objects to fetch, carry and leave pending out."""

from datetime import UTC, datetime, timedelta

from chalicelib.spotify.catalog import REST, WANTED, Budget, References, plan
from chalicelib.spotify.state import CatalogEntry

NOW = datetime(2026, 11, 20, 3, 15, tzinfo=UTC)
MONTH = timedelta(days=30)


def track(track_id, album_id, *artist_ids):
    """A track as a playlist entry embeds it: in full, with its album and artists."""
    return {
        "id": track_id,
        "album": {"id": album_id, "artists": []},
        "artists": [{"id": a} for a in artist_ids],
    }


def references():
    refs = References()
    refs.add_track(track("played", "al-played", "ar-played"), WANTED)
    refs.add_track(track("listed", "al-listed", "ar-listed"), REST)
    return refs


def empty_cache():
    return {"tracks": {}, "albums": {}, "artists": {}}


def test_the_budget_goes_to_the_objects_of_plays_and_top_items_first_the_rest_pending():
    chosen = plan(references(), empty_cache(), {}, [], set(), budget=Budget(2, MONTH), now=NOW)
    assert chosen.fetch == [("artists", "ar-played"), ("albums", "al-played")]
    assert chosen.pending["artists"] == {"ar-listed": REST}
    assert chosen.pending["albums"] == {"al-listed": REST}
    assert chosen.counts == {"details_pending": 2}


def test_a_fresh_cached_object_is_carried_not_fetched_and_a_stale_one_is_fetched():
    cache = empty_cache()
    cache["albums"]["al-played"] = CatalogEntry("raw/al-played", (NOW - MONTH / 2).isoformat())
    cache["artists"]["ar-played"] = CatalogEntry("raw/ar-played", (NOW - 2 * MONTH).isoformat())
    chosen = plan(references(), cache, {}, [], set(), budget=Budget(10, MONTH), now=NOW)
    assert ("albums", "al-played") not in chosen.fetch
    assert ("artists", "ar-played") in chosen.fetch
    assert chosen.carry == [("albums", "raw/al-played")]


def test_tracks_only_imports_name_come_after_the_wanted_ones_and_those_held_cost_nothing():
    imports = ["only-imported", "listed", "marked"]
    chosen = plan(
        references(), empty_cache(), {}, imports, {"marked"}, budget=Budget(3, MONTH), now=NOW
    )
    assert chosen.held == ["listed"]  # the answers hold it in full
    assert chosen.imported == ["only-imported"]
    assert chosen.fetch == [("artists", "ar-played"), ("albums", "al-played")]


def test_with_no_budget_nothing_is_fetched_or_counted_pending():
    chosen = plan(references(), empty_cache(), {}, ["x"], set(), budget=Budget(0, MONTH), now=NOW)
    assert (chosen.fetch, chosen.imported, chosen.counts) == ([], [], {})
