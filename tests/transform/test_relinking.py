"""Track relinking: where Spotify answers a playable copy of a track in the account's market,
naming the track asked for in `linked_from`, every table holds the track asked for."""

from __future__ import annotations

from datetime import datetime

from chalicelib import raw
from chalicelib.transform import transform_run

from .conftest import DAY, entry, fixed_now, play, playlist, rows, track

RUN = "20261126T100000Z-aaaaaa"


def relinked(track_id: str, playable_id: str) -> dict:
    """The TrackObject Spotify answers for `track_id` when it relinks it to `playable_id`."""
    linked_from = {
        "external_urls": {"spotify": f"https://open.spotify.com/track/{track_id}"},
        "href": f"https://api.spotify.com/v1/tracks/{track_id}",
        "id": track_id,
        "type": "track",
        "uri": f"spotify:track:{track_id}",
    }
    return {**track(playable_id, name=f"Track {track_id}"), "linked_from": linked_from}


def test_two_top_tracks_relinked_to_one_playable_track_stay_two(lake, new_run):
    run = new_run(RUN).top(raw.TOP_TRACKS, "short_term", relinked("t1", "p1"), relinked("t2", "p1"))
    transform_run(lake, run.finish(), now=fixed_now)
    assert [(i["rank"], i["item_id"]) for i in rows(lake, "top_items")] == [(1, "t1"), (2, "t2")]
    names = {t["track_id"]: t["name"] for t in rows(lake, "tracks")}
    assert names == {"t1": "Track t1", "t2": "Track t2"}  # the playable copy has no row
    assert {a["track_id"] for a in rows(lake, "track_artists")} == {"t1", "t2"}


def test_a_relinked_playlist_entry_is_the_track_the_playlist_lists(lake, new_run):
    run = new_run(RUN).playlists(playlist("pl1")).items("pl1", entry(relinked("t1", "p1")))
    transform_run(lake, run.finish(), now=fixed_now)
    [item] = rows(lake, "playlist_items")
    assert (item["item_id"], item["item_uri"]) == ("t1", "spotify:track:t1")
    assert [t["track_id"] for t in rows(lake, "tracks")] == ["t1"]


def test_a_relinked_saved_track_and_play_are_the_track_saved_and_played(lake, new_run):
    saved = {"added_at": f"{DAY}T08:00:00Z", "track": relinked("t1", "p1")}
    run = new_run(RUN).saved(saved).plays(play(relinked("t2", "p2"), f"{DAY}T09:30:00Z"))
    transform_run(lake, run.finish(), now=fixed_now)
    assert [s["track_id"] for s in rows(lake, "saved_tracks")] == ["t1"]
    assert [(p["played_at"], p["track_id"]) for p in rows(lake, "plays")] == [
        (datetime(2026, 11, 26, 9, 30), "t2")
    ]
    played = {t["track_id"]: t["played"] for t in rows(lake, "tracks")}
    assert played == {"t1": False, "t2": True}
