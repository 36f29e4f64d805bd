"""The account is deterministic, evolves day by day, and requests are counted."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from emulator_support import START, FakeClock, Get, getter, user_token

from emulator import Emulator, Scale

DAY = 86_400


def _snapshot(emu: Emulator, get: Get) -> list[str]:
    """Bodies of the main endpoints, with the emulator's own origin taken out."""
    paths = ["/me", "/me/playlists?limit=50", "/me/tracks?limit=50", "/me/top/tracks?limit=50",
             "/me/player/recently-played?limit=50",
             *(f"/playlists/{p.id}/items?limit=50&additional_types=episode"
               for p in emu.account.playlists if p.readable)]  # fmt: skip
    return [get(path).text.replace(emu.auth_url, "ORIGIN") for path in paths]


def test_same_seed_and_clock_give_identical_answers(fake_clock: FakeClock) -> None:
    with Emulator(seed=5, clock=fake_clock) as one, Emulator(seed=5, clock=fake_clock) as two:
        assert _snapshot(one, getter(one, user_token(one))) == _snapshot(
            two, getter(two, user_token(two)))  # fmt: skip


def test_different_seeds_give_different_accounts(fake_clock: FakeClock) -> None:
    ids = [Emulator(seed=s, clock=fake_clock).account.playlists[0].id for s in (1, 2)]
    assert ids[0] != ids[1]


def test_scale_sets_the_size_of_the_account(fake_clock: FakeClock) -> None:
    scale = Scale(playlists=12, entries=80, plays_per_day=10, saved_tracks=30, top_items=5,
                  history_days=2)  # fmt: skip
    account = Emulator(scale=scale, clock=fake_clock).account
    readable = [p for p in account.playlists if p.readable]
    assert len(account.playlists) == 12
    assert all(72 <= len(p.entries) <= 88 for p in readable)
    assert len(account.plays) == 20
    assert len(account.saved) == 30
    assert all(len(items) == 5 for items in account.top.values())


def test_a_couple_of_owned_playlists_change_each_day(emu: Emulator, fake_clock: FakeClock) -> None:
    get = getter(emu, user_token(emu))
    before = {p["id"]: p["snapshot_id"] for p in get("/me/playlists", limit=50).json()["items"]}
    fake_clock.advance(2 * DAY)
    get = getter(emu, user_token(emu))
    after = {p["id"]: p["snapshot_id"] for p in get("/me/playlists", limit=50).json()["items"]}
    changed = {pid for pid in before if before[pid] != after[pid]}
    kinds = {p.id: p.kind for p in emu.account.playlists}
    assert 1 <= len(changed) <= 4
    assert {kinds[pid] for pid in changed} == {"owned"}
    assert len(changed) < len(before)


@pytest.mark.parametrize(("scale", "per_day"), [
    (Scale(), 2), (Scale(changes_per_day=1), 1), (Scale(changes_per_day=0), 0),
    (Scale(playlists=7, changes_per_day=5), 3),  # only three owned playlists to change
])  # fmt: skip
def test_changes_per_day_sets_how_many_owned_playlists_change_each_day(
    fake_clock: FakeClock, scale: Scale, per_day: int
) -> None:
    emu = Emulator(seed=3, scale=scale, clock=fake_clock)
    days = [emu.account_at(START + day * DAY) for day in range(4)]
    for before, after in zip(days, days[1:], strict=False):
        changed = [new for old, new in zip(before.playlists, after.playlists, strict=True)
                   if old.snapshot_id != new.snapshot_id]  # fmt: skip
        assert len(changed) == per_day
        assert {p.kind for p in changed} <= {"owned"}
        assert len(after.saved) > len(before.saved)


def test_changed_playlists_gain_entries_added_on_the_day(
    emu: Emulator, fake_clock: FakeClock
) -> None:
    start = emu.account
    fake_clock.advance(2 * DAY)
    later = emu.account
    pairs = list(zip(start.playlists, later.playlists, strict=True))
    changed = [new for old, new in pairs if old.snapshot_id != new.snapshot_id]
    assert changed and len(changed) < len(pairs)
    for old, new in pairs:
        assert (new.entries != old.entries) == (new.snapshot_id != old.snapshot_id), new.id
    assert all(max(e.added_at for e in new.entries) > START for new in changed)


def test_new_plays_and_saved_tracks_appear_as_time_passes(
    emu: Emulator, fake_clock: FakeClock
) -> None:
    newest = emu.account.recent_plays[0].played_at_ms
    saved = len(emu.account.saved)
    fake_clock.advance(2 * DAY)
    get = getter(emu, user_token(emu))
    played = get("/me/player/recently-played", limit=1).json()["items"][0]["played_at"]
    assert emu.account.recent_plays[0].played_at_ms > newest
    assert played.startswith("2026-01-03")
    assert len(emu.account.saved) > saved
    assert get("/me/tracks").json()["total"] == len(emu.account.saved)


def test_the_past_is_reproducible_after_the_clock_moved_on(emu: Emulator) -> None:
    early = emu.account_at(START + DAY + 7200)
    emu.account_at(START + 30 * DAY)
    assert emu.account_at(START + DAY + 7200).playlists == early.playlists


def test_requests_are_counted_by_templated_path(emu: Emulator, get: Get) -> None:
    playlist = emu.account.playlists[0].id
    get(f"/playlists/{playlist}/items?limit=5")
    get(f"/playlists/{playlist}/items", offset=5)
    get("/me")
    assert emu.requests["GET /v1/playlists/{id}/items"] == 2
    assert emu.requests["GET /v1/me"] == 1
    assert emu.requests["POST /api/token"] == 1
    assert emu.total_requests == 3


def test_failed_requests_count_too_and_counts_can_be_reset(emu: Emulator) -> None:
    requests.get(emu.api_url + "/me", timeout=5)
    assert emu.total_requests == 1
    emu.reset_counts()
    assert emu.total_requests == 0
    assert not emu.requests


def test_concurrent_requests_are_all_answered_and_counted(emu: Emulator, get: Get) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: get("/me/tracks").status_code, range(64)))
    assert statuses == [200] * 64
    assert emu.requests["GET /v1/me/tracks"] == 64
