"""Paging: limits, offsets and absolute next/previous links."""

from urllib.parse import parse_qs, urlsplit

import pytest
from emulator_support import FakeClock, Get, follow, getter, requested, user_token

from emulator import Emulator, Scale
from emulator.account import Entry
from emulator.ids import iso_seconds

PAGED = ["/me/playlists", "/me/tracks", "/me/top/tracks", "/me/top/artists"]


def _served(entry: dict) -> tuple[str | None, str | None]:
    content = entry.get("item", entry.get("track"))
    return entry["added_at"], content and requested(content)["uri"]


def _expected(entry: Entry) -> tuple[str | None, str | None]:
    added_at = None if entry.added_at is None else iso_seconds(entry.added_at)
    uri = {"track": f"spotify:track:{entry.ref}", "episode": f"spotify:episode:{entry.ref}"}
    return added_at, uri.get(entry.kind, entry.ref)


def _paged_paths(emu: Emulator) -> list[str]:
    return [*PAGED, f"/playlists/{emu.account.playlists[0].id}/items"]


@pytest.mark.parametrize("limit", ["51", "0", "-1", "many"])
def test_limit_outside_1_to_50_is_rejected(emu: Emulator, get: Get, limit: str) -> None:
    for path in [*_paged_paths(emu), "/me/player/recently-played"]:
        response = get(path, limit=limit)
        assert response.status_code == 400, path
        assert response.json() == {"error": {"status": 400, "message": "Invalid limit"}}


def test_default_page_size_is_20(emu: Emulator, get: Get) -> None:
    page = get("/me/tracks").json()
    assert page["limit"] == 20
    assert len(page["items"]) == 20
    assert page["total"] == len(emu.account.saved)


def test_following_next_reaches_every_saved_track_exactly_once(emu: Emulator, get: Get) -> None:
    items = follow(get, "/me/tracks", limit=7)
    assert [requested(i["track"])["id"] for i in items] == [s.track_id for s in emu.account.saved]


def test_following_next_reaches_every_playlist_entry_exactly_once(emu: Emulator, get: Get) -> None:
    readable = [p for p in emu.account.playlists if p.readable]
    assert any(len(p.entries) > 6 for p in readable)  # some take several pages
    for playlist in readable:
        entries = follow(get, f"/playlists/{playlist.id}/items", limit=6)
        assert [_served(e) for e in entries] == [_expected(e) for e in playlist.entries]


def test_following_next_reaches_every_playlist_once(emu: Emulator, get: Get) -> None:
    items = follow(get, "/me/playlists", limit=3)
    assert [p["id"] for p in items] == [p.id for p in emu.account.playlists]


def test_next_and_previous_are_absolute_urls_keeping_other_parameters(
    emu: Emulator, get: Get
) -> None:
    page = get("/me/top/tracks", limit=10, offset=10, time_range="short_term").json()
    for link in (page["next"], page["previous"], page["href"]):
        parts = urlsplit(link)
        assert f"{parts.scheme}://{parts.netloc}" == emu.auth_url
        assert parse_qs(parts.query)["time_range"] == ["short_term"]
    assert parse_qs(urlsplit(page["next"]).query)["offset"] == ["20"]
    assert parse_qs(urlsplit(page["previous"]).query)["offset"] == ["0"]


def test_last_page_has_no_next_and_first_page_no_previous(get: Get) -> None:
    first = get("/me/top/artists", limit=50).json()
    assert first["previous"] is None
    assert first["next"] is None
    assert first["total"] == 50


def test_offset_past_the_end_gives_an_empty_page(get: Get) -> None:
    page = get("/me/top/artists", offset=500).json()
    assert page["items"] == []
    assert page["next"] is None


def test_playlist_object_embeds_100_entries_and_links_to_the_rest(fake_clock: FakeClock) -> None:
    with Emulator(seed=2, clock=fake_clock, scale=Scale(playlists=1, entries=150)) as emu:
        get = getter(emu, user_token(emu))
        playlist = emu.account.playlists[0]
        body = get(f"/playlists/{playlist.id}").json()
        page = body.get("items", body.get("tracks"))
        entries = list(page["items"])
        assert len(entries) == 100
        while page["next"]:
            page = get(page["next"]).json()
            entries.extend(page["items"])
        assert [_served(e) for e in entries] == [_expected(e) for e in playlist.entries]
