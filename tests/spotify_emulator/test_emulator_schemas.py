"""Every endpoint answers with the shape of the OpenAPI schema it claims."""

import pytest
from emulator_support import Get, follow, validate

from emulator import Emulator

EPISODES = {"additional_types": "track,episode"}


def test_me_is_a_private_user_object(get: Get) -> None:
    validate(get("/me").json(), "PrivateUserObject")


def test_my_playlists_is_a_paging_playlist_object(get: Get) -> None:
    validate(get("/me/playlists", limit=50).json(), "PagingPlaylistObject")


def test_every_playlist_is_a_playlist_object(emu: Emulator, get: Get) -> None:
    for playlist in emu.account.playlists:
        validate(get(f"/playlists/{playlist.id}", **EPISODES).json(), "PlaylistObject")


def test_every_readable_playlist_page_is_a_paging_playlist_track_object(
    emu: Emulator, get: Get
) -> None:
    for playlist in emu.account.playlists:
        if playlist.readable:
            page = get(f"/playlists/{playlist.id}/items", limit=50, **EPISODES).json()
            validate(page, "PagingPlaylistTrackObject")


def test_episodes_and_null_entries_validate_as_playlist_track_objects(
    emu: Emulator, get: Get
) -> None:
    playlist = emu.account.playlists[0]
    entries = follow(get, f"/playlists/{playlist.id}/items", limit=50, **EPISODES)
    odd = [e for e in entries if e["item"] is None or e["item"]["type"] == "episode"]
    assert {e["item"] and e["item"]["type"] for e in odd} == {None, "episode"}
    for entry in odd:
        validate(entry, "PlaylistTrackObject")


def test_episode_items_are_episode_objects(emu: Emulator, get: Get) -> None:
    playlist = emu.account.playlists[0]
    entries = follow(get, f"/playlists/{playlist.id}/items", limit=50, **EPISODES)
    episodes = [e["item"] for e in entries if e["item"] and e["item"]["type"] == "episode"]
    assert episodes
    for episode in episodes:
        validate(episode, "EpisodeObject")


def test_recently_played_is_a_cursor_paging_play_history_object(get: Get) -> None:
    validate(get("/me/player/recently-played", limit=50).json(), "CursorPagingPlayHistoryObject")


@pytest.mark.parametrize("kind", ["artists", "tracks"])
@pytest.mark.parametrize("time_range", ["short_term", "medium_term", "long_term"])
def test_top_items_are_pages_of_artists_or_tracks(get: Get, kind: str, time_range: str) -> None:
    page = get(f"/me/top/{kind}", limit=50, time_range=time_range).json()
    validate(page, "responses/PagingArtistOrTrackObject")
    assert {item["type"] for item in page["items"]} == {kind[:-1]}


def test_saved_tracks_are_a_paging_saved_track_object(get: Get) -> None:
    validate(get("/me/tracks", limit=50).json(), "PagingSavedTrackObject")


def test_catalog_objects_match_their_schemas(emu: Emulator, get: Get) -> None:
    catalog = emu.world.catalog
    for track in list(catalog.tracks.values())[:30]:
        validate(get(f"/tracks/{track.id}").json(), "TrackObject")
        validate(get(f"/artists/{track.artist_ids[0]}").json(), "ArtistObject")
        album = get(f"/albums/{track.album_id}").json()
        validate(album, "AlbumObject")
        validate(get(f"/albums/{track.album_id}/tracks").json(), "PagingSimplifiedTrackObject")


@pytest.mark.parametrize(
    "path", ["/me/tracks?limit=51", "/tracks/abc", "/tracks/0000000000000000000000", "/browse/x"]
)
def test_errors_carry_an_error_object(get: Get, path: str) -> None:
    response = get(path)
    validate(response.json()["error"], "ErrorObject")
    assert response.json()["error"]["status"] == response.status_code
