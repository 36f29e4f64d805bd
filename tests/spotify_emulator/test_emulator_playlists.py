"""Playlists as a 2026 account has them, awkward cases included, at default scale."""

import re
import unicodedata
from typing import Any

from emulator_support import Get, follow, requested, validate

from emulator import Emulator

EPISODES = {"additional_types": "track,episode"}


def _all_entries(emu: Emulator, get: Get, **params: str) -> dict[str, list[dict[str, Any]]]:
    return {p.id: follow(get, f"/playlists/{p.id}/items", limit=50, **params)
            for p in emu.account.playlists if p.readable}  # fmt: skip


def _content(entry: dict[str, Any]) -> dict[str, Any] | None:
    return entry.get("item", entry.get("track"))


def test_library_mixes_owned_collaborative_followed_and_editorial(get: Get) -> None:
    me = get("/me").json()["id"]
    playlists = get("/me/playlists", limit=50).json()["items"]
    owners = [(p["owner"]["id"], p["collaborative"]) for p in playlists]
    assert (me, False) in owners
    assert any(owner != me and shared for owner, shared in owners)
    assert any(owner not in (me, "spotify") and not shared for owner, shared in owners)
    assert ("spotify", False) in owners


def test_items_of_followed_and_editorial_playlists_are_forbidden(emu: Emulator, get: Get) -> None:
    withheld = [p for p in emu.account.playlists if not p.readable]
    assert {p.kind for p in withheld} == {"followed", "editorial"}
    for playlist in withheld:
        response = get(f"/playlists/{playlist.id}/items")
        assert response.status_code == 403
        assert response.json()["error"]["status"] == 403


def test_withheld_playlists_still_serve_their_metadata(emu: Emulator, get: Get) -> None:
    withheld = [p for p in emu.account.playlists if not p.readable]
    assert withheld and any(p.entries for p in withheld)
    for playlist in withheld:
        body = get(f"/playlists/{playlist.id}").json()
        page = body.get("items", body.get("tracks"))
        assert body["name"] == playlist.name
        assert body["snapshot_id"] == playlist.snapshot_id
        assert page["items"] == []
        assert page["total"] == len(playlist.entries)


def test_playlist_object_embeds_the_first_entries(emu: Emulator, get: Get) -> None:
    playlist = emu.account.playlists[0]
    body = get(f"/playlists/{playlist.id}").json()
    page = body.get("items", body.get("tracks"))
    assert len(page["items"]) == len(playlist.entries)
    assert page["next"] is None


def test_unknown_playlist_is_not_found(get: Get) -> None:
    assert get("/playlists/0000000000000000000000").status_code == 404
    assert get("/playlists/0000000000000000000000/items").status_code == 404


def test_old_tracks_path_is_gone_and_points_to_items(emu: Emulator, get: Get) -> None:
    response = get(f"/playlists/{emu.account.playlists[0].id}/tracks")
    assert response.status_code == 410
    assert "/items" in response.json()["error"]["message"]


def test_local_files_have_no_ids_and_a_local_uri(emu: Emulator, get: Get) -> None:
    entries = [e for page in _all_entries(emu, get).values() for e in page]
    local = [_content(e) for e in entries if e["is_local"]]
    assert local
    for item in local:
        assert item["id"] is None and item["type"] == "track" and item["is_local"] is True
        assert re.fullmatch(r"spotify:local:[^:]*:[^:]*:[^:]+:\d+", item["uri"])
        assert item["album"]["id"] is None
        assert all(artist["id"] is None for artist in item["artists"])


def test_episodes_are_episode_objects_only_when_asked_for(emu: Emulator, get: Get) -> None:
    asked = [_content(e) for p in _all_entries(emu, get, **EPISODES).values() for e in p]
    plain = [_content(e) for p in _all_entries(emu, get).values() for e in p]
    episodes = [item for item in asked if item and item["type"] == "episode"]
    as_tracks = [item for item in plain if item and item["uri"].startswith("spotify:episode:")]
    assert episodes and len(episodes) == len(as_tracks)
    assert all("show" in item and "album" not in item for item in episodes)
    assert all(item["episode"] is True and "album" in item for item in as_tracks)


def test_null_entries_exist(emu: Emulator, get: Get) -> None:
    entries = [e for page in _all_entries(emu, get).values() for e in page]
    assert any(_content(e) is None for e in entries)


def test_one_playlist_has_the_same_track_twice(emu: Emulator, get: Get) -> None:
    def has_duplicate(entries: list[dict[str, Any]]) -> bool:
        ids = [_content(e)["id"] for e in entries if _content(e) and _content(e)["id"]]
        return len(ids) != len(set(ids))

    assert any(has_duplicate(entries) for entries in _all_entries(emu, get).values())


def test_one_old_playlist_has_no_added_at_or_added_by(emu: Emulator, get: Get) -> None:
    old = [entries for entries in _all_entries(emu, get).values()
           if all(e["added_at"] is None and e["added_by"] is None for e in entries)]  # fmt: skip
    assert len(old) == 1


def test_entries_carry_track_item_or_both_depending_on_the_playlist(
    emu: Emulator, get: Get
) -> None:
    shapes = set()
    for entries in _all_entries(emu, get).values():
        for entry in entries:
            shapes.add(tuple(name for name in ("track", "item") if name in entry))
            if "track" in entry and "item" in entry:
                assert entry["track"] == entry["item"]
    assert shapes == {("track",), ("item",), ("track", "item")}


def test_playlists_carry_items_tracks_or_both_references(get: Get) -> None:
    listed = get("/me/playlists", limit=50).json()["items"]
    shapes = {tuple(name for name in ("tracks", "items") if name in p) for p in listed}
    assert shapes == {("tracks",), ("items",), ("tracks", "items")}
    for playlist in listed:
        reference = playlist.get("items", playlist.get("tracks"))
        assert set(reference) == {"href", "total"}


def test_names_include_accents_cjk_emoji_and_right_to_left_scripts(emu: Emulator) -> None:
    catalog = emu.world.catalog
    names = " ".join([*(a.name for a in catalog.artists.values()),
                      *(t.name for t in catalog.tracks.values()),
                      *(p.name for p in emu.account.playlists)])  # fmt: skip
    scripts = {unicodedata.name(c, "").split()[0] for c in names if ord(c) > 127}
    assert {"LATIN", "CJK", "ARABIC", "HEBREW"} <= scripts
    assert any(ord(c) > 0x1F000 for c in names)


def test_release_dates_come_in_every_precision(emu: Emulator, get: Get) -> None:
    albums = [
        _content(e)["album"]
        for p in _all_entries(emu, get).values()
        for e in p
        if _content(e) and _content(e)["type"] == "track" and not _content(e)["is_local"]
    ]
    patterns = {"year": r"\d{4}", "month": r"\d{4}-\d\d", "day": r"\d{4}-\d\d-\d\d"}
    for album in albums:
        assert re.fullmatch(patterns[album["release_date_precision"]], album["release_date"])
    assert {a["release_date_precision"] for a in albums} == {"year", "month", "day"}


def test_deprecated_fields_are_missing_on_some_objects_only(emu: Emulator, get: Get) -> None:
    tracks = [
        _content(e)
        for p in _all_entries(emu, get).values()
        for e in p
        if _content(e) and _content(e)["type"] == "track" and _content(e)["id"]
    ]
    artists = get("/me/top/artists", limit=50).json()["items"]
    albums = [get(f"/albums/{t['album']['id']}").json() for t in tracks[:40]]
    for objects, field in [(tracks, "popularity"), (tracks, "available_markets"),
                           (artists, "followers"), (artists, "genres"), (artists, "popularity"),
                           (albums, "label"), (albums, "popularity")]:  # fmt: skip
        present = [field in o for o in objects]
        assert any(present) and not all(present), field
    assert any("linked_from" in t for t in tracks)


def test_a_relinked_track_is_served_as_its_playable_copy_naming_it(emu: Emulator, get: Get) -> None:
    first, second = [t for t in emu.world.catalog.tracks.values() if t.playable_id][:2]
    served = [get(f"/tracks/{t.id}").json() for t in (first, second)]
    for body in served:
        validate(body, "TrackObject")
    assert [t["id"] for t in served] == [first.playable_id, second.playable_id]
    assert first.playable_id == second.playable_id  # two tracks, one copy
    assert [t["linked_from"]["id"] for t in served] == [first.id, second.id]


def test_track_lookup_tells_malformed_from_unknown_ids(emu: Emulator, get: Get) -> None:
    track_id = next(iter(emu.world.catalog.tracks))
    assert get(f"/tracks/{track_id}").json()["id"] == track_id
    assert get("/tracks/not-an-id").status_code == 400
    assert get("/tracks/0000000000000000000000").status_code == 404


def test_album_carries_its_tracks(emu: Emulator, get: Get) -> None:
    album = next(iter(emu.world.catalog.albums.values()))
    body = get(f"/albums/{album.id}").json()
    assert [requested(t)["id"] for t in body["tracks"]["items"]] == album.track_ids
