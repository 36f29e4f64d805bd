"""GET /authorize (consent given at once) and the authorization_code grant."""

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from emulator_support import getter

from emulator import Emulator

REDIRECT_URI = "http://127.0.0.1:8888/callback"


def _authorize(emu: Emulator, **changes: str) -> requests.Response:
    params = {
        "client_id": emu.client_id, "response_type": "code", "redirect_uri": REDIRECT_URI,
        "scope": "user-read-private", "state": "s1",
    }  # fmt: skip
    params.update(changes)
    return requests.get(emu.auth_url + "/authorize", params=params, allow_redirects=False,
                        timeout=5)  # fmt: skip


def _redirected_to(response: requests.Response) -> tuple[str, dict[str, str]]:
    location = urlsplit(response.headers["Location"])
    query = {name: values[0] for name, values in parse_qs(location.query).items()}
    return f"{location.scheme}://{location.netloc}{location.path}", query


def _code(emu: Emulator) -> str:
    return _redirected_to(_authorize(emu))[1]["code"]


def _exchange(emu: Emulator, code: str, redirect_uri: str = REDIRECT_URI) -> requests.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    return requests.post(emu.auth_url + "/api/token", data=form,
                         auth=(emu.client_id, emu.client_secret), timeout=5)  # fmt: skip


def test_authorize_redirects_at_once_with_a_code_and_the_state(emu: Emulator) -> None:
    response = _authorize(emu, state="xyz")
    target, query = _redirected_to(response)
    assert response.status_code == 302
    assert target == REDIRECT_URI
    assert query["state"] == "xyz" and query["code"]
    assert emu.requests["GET /authorize"] == 1


def test_declined_consent_redirects_with_access_denied_and_the_state(emu: Emulator) -> None:
    emu.consent = False
    response = _authorize(emu, state="xyz")
    assert response.status_code == 302
    assert _redirected_to(response) == (REDIRECT_URI, {"error": "access_denied", "state": "xyz"})


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"client_id": "someone-else"}, "invalid_client"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"redirect_uri": "http://localhost:8888/callback"}, "invalid_request"),
        ({"redirect_uri": "https://example.com/callback"}, "invalid_request"),
    ],
)
def test_authorize_refuses_a_bad_request_without_redirecting(
    emu: Emulator, change: dict[str, str], error: str
) -> None:
    response = _authorize(emu, **change)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.json()["error"] == error


def test_codes_are_deterministic_per_seed(fake_clock) -> None:
    with Emulator(seed=3, clock=fake_clock) as first, Emulator(seed=3, clock=fake_clock) as second:
        assert _code(first) == _code(second)


def test_code_grant_answers_a_user_token_and_a_refresh_token(emu: Emulator) -> None:
    response = _exchange(emu, _code(emu))
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope"}
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    assert body["scope"] == "user-read-private"
    assert getter(emu, body["access_token"])("/me").status_code == 200


def test_the_refresh_token_of_a_code_grant_works_for_the_refresh_grant(emu: Emulator) -> None:
    refresh_token = _exchange(emu, _code(emu)).json()["refresh_token"]
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    response = requests.post(emu.auth_url + "/api/token", data=form,
                             auth=(emu.client_id, emu.client_secret), timeout=5)  # fmt: skip
    assert response.status_code == 200
    assert getter(emu, response.json()["access_token"])("/me").status_code == 200


def test_a_code_is_good_only_once(emu: Emulator) -> None:
    code = _code(emu)
    assert _exchange(emu, code).status_code == 200
    again = _exchange(emu, code)
    assert again.status_code == 400
    expected = {"error": "invalid_grant", "error_description": "Invalid authorization code"}
    assert again.json() == expected


def test_a_code_is_bound_to_its_redirect_uri(emu: Emulator) -> None:
    response = _exchange(emu, _code(emu), redirect_uri="http://127.0.0.1:9999/callback")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_an_unknown_code_is_an_invalid_grant(emu: Emulator) -> None:
    assert _exchange(emu, "made-up").json()["error"] == "invalid_grant"


def test_concurrent_exchanges_of_one_code_succeed_exactly_once(emu: Emulator) -> None:
    code = _code(emu)
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: _exchange(emu, code).status_code, range(8)))
    assert sorted(statuses) == [200] + [400] * 7


def test_code_grant_needs_the_client_secret(emu: Emulator) -> None:
    form = {"grant_type": "authorization_code", "code": _code(emu), "redirect_uri": REDIRECT_URI}
    response = requests.post(emu.auth_url + "/api/token", data=form,
                             auth=(emu.client_id, "nope"), timeout=5)  # fmt: skip
    assert response.json()["error"] == "invalid_client"


def test_authorize_answers_only_get(emu: Emulator) -> None:
    assert requests.post(emu.auth_url + "/authorize", timeout=5).status_code == 405
