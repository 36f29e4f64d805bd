"""Token grants, token errors and bearer-token checks."""

import requests
from emulator_support import FakeClock, getter, user_token

from emulator import Emulator, Faults


def _token(emu: Emulator, auth: tuple[str, str] | None = None, **form: str) -> requests.Response:
    return requests.post(emu.auth_url + "/api/token", data=form, auth=auth, timeout=5)


def _credentials(emu: Emulator) -> tuple[str, str]:
    return emu.client_id, emu.client_secret


def test_refresh_grant_returns_a_bearer_token_valid_for_an_hour(emu: Emulator) -> None:
    response = _token(emu, _credentials(emu), grant_type="refresh_token",
                      refresh_token=emu.refresh_token)  # fmt: skip
    body = response.json()
    assert response.status_code == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert "user-read-recently-played" in body["scope"]
    assert "refresh_token" not in body


def test_client_credentials_may_also_arrive_as_form_fields(emu: Emulator) -> None:
    response = _token(emu, grant_type="refresh_token", refresh_token=emu.refresh_token,
                      client_id=emu.client_id, client_secret=emu.client_secret)  # fmt: skip
    assert response.status_code == 200


def test_wrong_client_secret_is_an_invalid_client(emu: Emulator) -> None:
    response = _token(emu, (emu.client_id, "nope"), grant_type="refresh_token",
                      refresh_token=emu.refresh_token)  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"


def test_unknown_client_id_is_an_invalid_client(emu: Emulator) -> None:
    response = _token(emu, ("someone-else", emu.client_secret), grant_type="client_credentials")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client"


def test_wrong_refresh_token_is_an_invalid_grant(emu: Emulator) -> None:
    response = _token(emu, _credentials(emu), grant_type="refresh_token", refresh_token="stale")
    assert response.status_code == 400
    expected = {"error": "invalid_grant", "error_description": "Invalid refresh token"}
    assert response.json() == expected


def test_revoked_refresh_token_is_an_invalid_grant(emu: Emulator) -> None:
    emu.revoke_refresh_token()
    response = _token(emu, _credentials(emu), grant_type="refresh_token",
                      refresh_token=emu.refresh_token)  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_unsupported_grant_type_is_rejected(emu: Emulator) -> None:
    response = _token(emu, _credentials(emu), grant_type="password")
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_rotation_returns_a_new_refresh_token_and_the_old_one_stays_valid(emu: Emulator) -> None:
    emu.faults = Faults(rotate_refresh_token=True)
    first = _token(emu, _credentials(emu), grant_type="refresh_token",
                   refresh_token=emu.refresh_token).json()  # fmt: skip
    rotated = first["refresh_token"]
    assert rotated != emu.refresh_token
    for refresh_token in (rotated, emu.refresh_token):
        again = _token(emu, _credentials(emu), grant_type="refresh_token",
                       refresh_token=refresh_token)  # fmt: skip
        assert again.status_code == 200


def test_app_token_reads_the_catalog_but_not_the_user(emu: Emulator) -> None:
    token = _token(emu, _credentials(emu), grant_type="client_credentials").json()
    get = getter(emu, token["access_token"])
    track_id = next(iter(emu.world.catalog.tracks))
    assert "scope" not in token
    assert get(f"/tracks/{track_id}").status_code == 200
    assert get("/me").status_code == 403
    assert get(f"/playlists/{emu.account.playlists[0].id}/items").status_code == 403


def test_request_without_a_token_is_unauthorized(emu: Emulator) -> None:
    response = requests.get(emu.api_url + "/me", timeout=5)
    assert response.status_code == 401
    assert response.json()["error"]["status"] == 401


def test_unknown_token_is_invalid(emu: Emulator) -> None:
    response = getter(emu, "made-up")("/me")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid access token"


def test_token_expires_after_an_hour_on_the_emulator_clock(
    emu: Emulator, fake_clock: FakeClock
) -> None:
    get = getter(emu, user_token(emu))
    fake_clock.advance(3599)
    assert get("/me").status_code == 200
    fake_clock.advance(1)
    response = get("/me")
    assert response.status_code == 401
    assert response.json() == {"error": {"status": 401, "message": "The access token expired"}}


def test_short_token_ttl_expires_early_while_expires_in_still_says_3600(
    emu: Emulator, fake_clock: FakeClock
) -> None:
    emu.faults = Faults(token_ttl=60)
    response = _token(emu, _credentials(emu), grant_type="refresh_token",
                      refresh_token=emu.refresh_token).json()  # fmt: skip
    assert response["expires_in"] == 3600
    fake_clock.advance(61)
    assert getter(emu, response["access_token"])("/me").status_code == 401
    assert getter(emu, user_token(emu))("/me").status_code == 200


def test_credentials_default_to_the_environment(monkeypatch, fake_clock: FakeClock) -> None:
    monkeypatch.setenv("SPOTIFY_CLIENT_ID", "env-id")
    monkeypatch.setenv("SPOTIFY_CLIENT_SECRET", "env-secret")
    monkeypatch.setenv("SPOTIFY_REFRESH_TOKEN", "env-refresh")
    built = Emulator(clock=fake_clock)
    assert (built.client_id, built.client_secret, built.refresh_token) == (
        "env-id", "env-secret", "env-refresh")  # fmt: skip


def test_credentials_fall_back_to_demo_values(monkeypatch, fake_clock: FakeClock) -> None:
    for name in ("SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET", "SPOTIFY_REFRESH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    built = Emulator(clock=fake_clock)
    assert built.client_id and built.client_secret and built.refresh_token


def test_expire_tokens_makes_issued_tokens_expire_at_once(emu: Emulator) -> None:
    get = getter(emu, user_token(emu))
    emu.expire_tokens()
    assert get("/me").json()["error"]["message"] == "The access token expired"
    assert getter(emu, user_token(emu))("/me").status_code == 200
