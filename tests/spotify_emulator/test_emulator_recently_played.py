"""Recently played: newest first, Unix-millisecond cursors, only the newest 50."""

from datetime import datetime

from emulator_support import FakeClock, Get, getter, user_token

from emulator import Emulator


def _millis(played_at: str) -> int:
    return round(datetime.fromisoformat(played_at.replace("Z", "+00:00")).timestamp() * 1000)


def _times(page: dict) -> list[int]:
    return [_millis(item["played_at"]) for item in page["items"]]


def test_plays_come_newest_first_with_string_cursors(get: Get, fake_clock: FakeClock) -> None:
    page = get("/me/player/recently-played").json()
    times = _times(page)
    assert len(times) == 20
    assert times == sorted(times, reverse=True)
    assert times[0] <= fake_clock() * 1000
    assert page["cursors"] == {"after": str(times[0]), "before": str(times[-1])}


def test_only_the_newest_50_plays_can_be_retrieved(emu: Emulator, get: Get) -> None:
    page = get("/me/player/recently-played", limit=20).json()
    times = _times(page)
    while page["next"]:
        page = get(page["next"]).json()
        times.extend(_times(page))
    assert times == [p.played_at_ms for p in emu.account.plays[:50]]
    assert len(emu.account.plays) > 50


def test_before_returns_older_plays(get: Get) -> None:
    first = get("/me/player/recently-played", limit=10).json()
    older = get("/me/player/recently-played", limit=10, before=first["cursors"]["before"]).json()
    assert max(_times(older)) < min(_times(first))


def test_after_returns_only_plays_newer_than_the_cursor(
    emu: Emulator, get: Get, fake_clock: FakeClock
) -> None:
    cursor = get("/me/player/recently-played", limit=50).json()["cursors"]["after"]
    fake_clock.advance(3 * 3600)
    get = getter(emu, user_token(emu))
    newer = get("/me/player/recently-played", limit=50, after=cursor).json()
    expected = [p.played_at_ms for p in emu.account.plays if p.played_at_ms > int(cursor)]
    assert expected
    assert _times(newer) == expected


def test_after_the_newest_play_there_is_nothing(get: Get) -> None:
    cursor = get("/me/player/recently-played", limit=1).json()["cursors"]["after"]
    page = get("/me/player/recently-played", after=cursor).json()
    assert page["items"] == []
    assert page["next"] is None


def test_plays_carry_playlist_album_artist_or_no_context(get: Get) -> None:
    items = get("/me/player/recently-played", limit=50).json()["items"]
    kinds = {item["context"] and item["context"]["type"] for item in items}
    assert kinds == {"playlist", "album", "artist", None}


def test_history_holds_plays_per_day_for_history_days_before_start(emu: Emulator) -> None:
    plays = emu.account.plays
    assert len(plays) == 7 * 60
    assert emu.start_at - 7 * 86_400 <= plays[-1].played_at_ms / 1000 < emu.start_at - 6 * 86_400
