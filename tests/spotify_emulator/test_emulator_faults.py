"""Injected faults: rate limiting, server errors, latency; never on the token endpoint."""

import requests
from emulator_support import FakeClock, Get, user_token

from emulator import Emulator, Faults


def test_rate_limit_answers_the_given_share_with_retry_after(emu: Emulator, get: Get) -> None:
    emu.faults = Faults(rate_limit=0.5, retry_after=7)
    responses = [get("/me") for _ in range(200)]
    limited = [r for r in responses if r.status_code == 429]
    assert 60 <= len(limited) <= 140
    assert {r.status_code for r in responses} == {200, 429}
    for response in limited:
        assert response.headers["Retry-After"] == "7"
        assert response.json() == {"error": {"status": 429, "message": "API rate limit exceeded"}}


def test_server_errors_answer_500_502_or_503(emu: Emulator, get: Get) -> None:
    emu.faults = Faults(server_errors=1.0)
    statuses = {get("/me").status_code for _ in range(40)}
    assert statuses <= {500, 502, 503}
    assert len(statuses) > 1


def test_faults_never_touch_the_token_endpoint(emu: Emulator) -> None:
    emu.faults = Faults(rate_limit=0.5, server_errors=0.5)
    for _ in range(20):
        assert user_token(emu)


def test_faults_take_effect_at_the_next_request_and_can_be_lifted(emu: Emulator, get: Get) -> None:
    emu.faults = Faults(rate_limit=1.0)
    assert get("/me").status_code == 429
    emu.faults = Faults()
    assert get("/me").status_code == 200


def test_latency_leaves_answers_unchanged(emu: Emulator, get: Get) -> None:
    before = get("/me").json()
    emu.faults = Faults(latency_ms=1)
    assert get("/me").json() == before


def test_fault_draws_are_reproducible_for_a_seed(fake_clock: FakeClock) -> None:
    def statuses() -> list[int]:
        faults = Faults(rate_limit=0.3, server_errors=0.2)
        with Emulator(seed=3, clock=fake_clock, faults=faults) as emu:
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {user_token(emu)}"
            return [session.get(emu.api_url + "/me", timeout=5).status_code for _ in range(30)]

    assert statuses() == statuses()
