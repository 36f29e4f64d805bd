"""One app, several users: each token answers for its own user, every user has an account of
their own over one catalog, users share some artists and not all, and one user is the
emulator as it always was."""

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from emulator_support import START, FakeClock, Get, follow, getter, requested

from emulator import Emulator, Faults
from emulator.account import Account

DAY = 86_400
REDIRECT_URI = "http://127.0.0.1:8888/callback"


@pytest.fixture
def household(fake_clock: FakeClock) -> Iterator[Emulator]:
    """An app with three users."""
    with Emulator(seed=7, clock=fake_clock, users=3) as running:
        yield running


def _grant(emu: Emulator, **form: str) -> requests.Response:
    return requests.post(emu.auth_url + "/api/token", data=form,
                         auth=(emu.client_id, emu.client_secret), timeout=5)  # fmt: skip


def _token(emu: Emulator, refresh_token: str) -> str:
    response = _grant(emu, grant_type="refresh_token", refresh_token=refresh_token)
    response.raise_for_status()
    return response.json()["access_token"]


def _gets(emu: Emulator) -> list[Get]:
    """A GET helper per user, each with a token from that user's refresh token."""
    return [getter(emu, _token(emu, user.refresh_token)) for user in emu.users]


def _first_artists(emu: Emulator, account: Account) -> set[str]:
    tracks = emu.world.catalog.tracks
    return {tracks[play.track_id].artist_ids[0] for play in account.plays}


def test_each_token_answers_me_for_the_user_whose_refresh_token_made_it(
    household: Emulator,
) -> None:
    profiles = [get("/me").json() for get in _gets(household)]
    assert [(p["id"], p["display_name"]) for p in profiles] == [
        (user.user_id, user.display_name) for user in household.users
    ]
    assert len({user.user_id for user in household.users}) == 3
    assert len({user.refresh_token for user in household.users}) == 3
    assert household.refresh_token == household.users[0].refresh_token


@pytest.mark.parametrize(
    "path",
    ["/me/playlists", "/me/player/recently-played", "/me/top/artists", "/me/top/tracks",
     "/me/tracks"],
)  # fmt: skip
def test_each_user_s_library_plays_and_top_items_are_their_own(
    household: Emulator, path: str
) -> None:
    answers = [follow(get, path, limit=50) for get in _gets(household)]
    assert all(answers)
    assert len({json.dumps(items, sort_keys=True) for items in answers}) == 3


def test_a_user_s_token_never_shows_another_user_s_plays(household: Emulator) -> None:
    gets = _gets(household)
    for user, get in zip(household.users, gets, strict=True):
        played = get("/me/player/recently-played", limit=50).json()["items"]
        account = household.account_at(START, user.user_id)
        assert [requested(p["track"])["id"] for p in played] == [
            p.track_id for p in account.recent_plays
        ]
    plays = [
        {p.played_at_ms for p in household.account_at(START, u.user_id).plays}
        for u in household.users
    ]
    assert not plays[0] & plays[1] and not plays[1] & plays[2]


def test_owned_playlists_belong_to_one_user_and_another_cannot_open_them(
    household: Emulator,
) -> None:
    first, second, _ = _gets(household)
    theirs = next(p for p in household.account_at(START, household.users[1].user_id).playlists
                  if p.kind == "owned")  # fmt: skip
    assert theirs.owner.id == household.users[1].user_id
    assert second(f"/playlists/{theirs.id}/items").status_code == 200
    assert first(f"/playlists/{theirs.id}").status_code == 404
    assert first(f"/playlists/{theirs.id}/items").status_code == 404


def test_a_user_follows_a_playlist_of_the_user_before_whose_items_only_its_owner_reads(
    household: Emulator, fake_clock: FakeClock
) -> None:
    follower = household.account_at(START, household.users[1].user_id)
    followed = next(p for p in follower.playlists if p.kind == "followed")
    assert followed.owner.id == household.users[0].user_id
    assert household.account.playlist(followed.id).kind == "owned"
    owner_get, follower_get, _ = _gets(household)
    assert owner_get(f"/playlists/{followed.id}/items").status_code == 200
    assert follower_get(f"/playlists/{followed.id}/items").status_code == 403
    for day in range(1, 30):  # until the owner changes it: the follower sees the change
        fake_clock.now = START + day * DAY
        if household.account.playlist(followed.id).snapshot_id != followed.snapshot_id:
            break
    owner_get, follower_get, _ = _gets(household)
    snapshots = {get(f"/playlists/{followed.id}").json()["snapshot_id"]
                 for get in (owner_get, follower_get)}  # fmt: skip
    changed = household.account.playlist(followed.id).snapshot_id
    assert changed != followed.snapshot_id and snapshots == {changed}


def test_users_share_some_artists_and_each_has_artists_of_their_own(household: Emulator) -> None:
    streamed = [
        _first_artists(household, household.account_at(START, u.user_id)) for u in household.users
    ]
    for index, artists in enumerate(streamed):
        others = set().union(*(a for i, a in enumerate(streamed) if i != index))
        assert artists & others, "shares no artist"
        assert artists - others, "has no artist of their own"


def test_the_catalog_is_one_whoever_asks(household: Emulator) -> None:
    gets = _gets(household)
    saved = [{requested(s["track"])["id"]: s["track"] for s in follow(get, "/me/tracks", limit=50)}
             for get in gets]  # fmt: skip
    shared = set(saved[0]) & set(saved[1])
    assert shared
    for track_id in shared:
        assert saved[0][track_id] == saved[1][track_id]
        assert gets[2](f"/tracks/{track_id}").json() == gets[0](f"/tracks/{track_id}").json()


def test_the_code_flow_logs_in_as_login_as(household: Emulator) -> None:
    assert household.login_as == household.users[0].user_id
    household.login_as = household.users[2].user_id
    authorized = requests.get(
        household.auth_url + "/authorize", allow_redirects=False, timeout=5,
        params={"client_id": household.client_id, "response_type": "code",
                "redirect_uri": REDIRECT_URI, "state": "s"},
    )  # fmt: skip
    code = authorized.headers["Location"].split("code=")[1].split("&")[0]
    household.login_as = household.users[1].user_id  # who consents later has no say on this code
    granted = _grant(
        household, grant_type="authorization_code", code=code, redirect_uri=REDIRECT_URI
    )
    me = getter(household, granted.json()["access_token"])("/me").json()
    renewed = getter(household, _token(household, granted.json()["refresh_token"]))("/me").json()
    assert me["id"] == renewed["id"] == household.users[2].user_id


def test_login_as_must_be_one_of_the_users(household: Emulator) -> None:
    with pytest.raises(ValueError, match="no user 'someone'"):
        household.login_as = "someone"


def test_a_rotated_refresh_token_stays_with_its_user(household: Emulator) -> None:
    household.faults = Faults(rotate_refresh_token=True)
    rotated = _grant(
        household, grant_type="refresh_token", refresh_token=household.users[1].refresh_token
    )
    new_token = rotated.json()["refresh_token"]
    assert (
        getter(household, _token(household, new_token))("/me").json()["id"]
        == household.users[1].user_id
    )


def test_revoking_one_user_s_refresh_token_leaves_the_others(household: Emulator) -> None:
    household.revoke_refresh_token(household.users[1].refresh_token)
    refused = _grant(
        household, grant_type="refresh_token", refresh_token=household.users[1].refresh_token
    )
    assert refused.json()["error"] == "invalid_grant"
    assert _token(household, household.users[0].refresh_token) and _token(
        household, household.users[2].refresh_token
    )


def test_requests_are_counted_for_the_app_and_arrivals_by_user_say_whose_they_were(
    household: Emulator,
) -> None:
    for get in _gets(household):
        get("/me")
    assert household.requests["GET /v1/me"] == 3 and household.total_requests == 3
    assert [key for _, key in household.arrivals] == ["GET /v1/me"] * 3
    assert [(key, user) for _, key, user in household.arrivals_by_user] == [
        ("GET /v1/me", user.user_id) for user in household.users
    ]


def test_the_accounts_file_holds_each_user_s_refresh_token_for_its_owner_alone(
    household: Emulator, tmp_path: Path
) -> None:
    path = household.write_accounts_file(tmp_path / "accounts.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    written = json.loads(path.read_text())
    assert (
        written
        == household.accounts_file_data()
        == {user.user_id: {"refresh_token": user.refresh_token} for user in household.users}
    )
    for user_id, account in written.items():
        assert (
            getter(household, _token(household, account["refresh_token"]))("/me").json()["id"]
            == user_id
        )


def test_an_accounts_file_already_there_is_made_private(
    household: Emulator, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.json"
    path.write_text("{}")
    path.chmod(0o644)
    household.write_accounts_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("users", [0, 6])
def test_an_app_has_one_to_five_users(users: int) -> None:
    with pytest.raises(ValueError, match="1 to 5"):
        Emulator(users=users)


def test_the_first_user_is_the_same_however_many_users_there_are(fake_clock: FakeClock) -> None:
    one, five = Emulator(seed=7, clock=fake_clock), Emulator(seed=7, clock=fake_clock, users=5)
    for day in (0, 1, 3):
        now = START + day * DAY + 7200
        alone, first = one.account_at(now), five.account_at(now, five.users[0].user_id)
        assert (alone.user, alone.playlists, alone.saved, alone.top, alone.plays) == (
            first.user, first.playlists, first.saved, first.top, first.plays)  # fmt: skip


def test_one_user_is_the_account_the_emulator_always_served(
    fake_clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Values taken from the emulator before it had users: tests and benchmarks count on them."""
    monkeypatch.delenv("SPOTIFY_REFRESH_TOKEN", raising=False)
    emu = Emulator(seed=7, clock=fake_clock)
    account = emu.account
    assert [(u.user_id, u.display_name) for u in emu.users] == [
        ("listenervion9h2j", "Zoë Ångström")
    ]
    assert emu.refresh_token == "emulator-refresh-token"
    first, newest, saved = account.playlists[0], account.recent_plays[0], account.saved[0]
    assert (first.id, len(first.entries)) == ("jAr6ydRl5Kx9oZO6uXg1SQ", 42)
    assert first.snapshot_id == "MSxjYTMwMjBjZjM3MGFhZjU2YzZmY2I4OTdiY2I3MTNkOQ=="
    assert (newest.played_at_ms, newest.track_id) == (1767257650357, "gEkgWW9EjLtdSZtWooQaNs")
    assert newest.context == ("playlist", "riGwaTYHFSVBEgPCuXdJVG")
    assert (saved.track_id, len(account.saved), len(account.plays)) == (
        "3ynkR54ZACjpiNKlsAOzHw",
        120,
        420,
    )
    assert account.top["artists", "medium_term"][:2] == (
        "WKxScN9RyT3E5iyEyRVMpy",
        "XulUqfKZ1wKFmedn5yZp8F",
    )
