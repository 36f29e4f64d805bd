"""The client against the emulator over real HTTP, with an injected sleep that never waits."""

import pytest
import requests

from chalicelib.errors import AuthError, CutShortError, RateLimitedError, SpotifyError
from chalicelib.settings import Credentials
from chalicelib.spotify.client import RetryPolicy, SpotifyClient, connect, session_for
from emulator import Faults


def make_client(
    emulator, *, sleeps=None, remaining=lambda: 900.0, on_new_refresh_token=None, policy=None
):
    credentials = Credentials(emulator.client_id, emulator.client_secret, emulator.refresh_token)
    return connect(
        credentials,
        emulator.api_url,
        emulator.auth_url,
        sleep=(sleeps.append if sleeps is not None else lambda _: None),
        remaining=remaining,
        on_new_refresh_token=on_new_refresh_token,
        policy=policy,
    )


def test_a_429_is_retried_after_the_seconds_spotify_asks_for(emulator):
    emulator.faults = Faults(rate_limit=0.5, retry_after=3)
    sleeps = []
    client = make_client(emulator, sleeps=sleeps, policy=RetryPolicy(max_attempts=30))
    for _ in range(10):
        assert client.get("me")["id"]
    assert sleeps and set(sleeps) == {3.0}
    assert client.requests == 10 + len(sleeps)


def test_a_retry_after_longer_than_the_cap_fails_at_once_without_sleeping(emulator):
    emulator.faults = Faults(rate_limit=1.0, retry_after=7200)
    sleeps = []
    with pytest.raises(RateLimitedError) as raised:
        make_client(emulator, sleeps=sleeps).get("me")
    assert raised.value.retry_after == 7200
    assert sleeps == []


def test_a_retry_after_beyond_the_remaining_lambda_time_is_not_waited_for(emulator):
    emulator.faults = Faults(rate_limit=1.0, retry_after=30)
    sleeps = []
    with pytest.raises(RateLimitedError):
        make_client(emulator, sleeps=sleeps, remaining=lambda: 40.0).get("me")
    assert sleeps == []


def test_server_errors_are_retried_with_bounded_jittered_backoff(emulator):
    emulator.faults = Faults(server_errors=0.5)
    sleeps = []
    client = make_client(emulator, sleeps=sleeps, policy=RetryPolicy(max_attempts=30))
    for _ in range(10):
        client.get("me")
    assert sleeps
    assert all(0 < s <= RetryPolicy().backoff_cap for s in sleeps)


def test_server_errors_that_never_stop_cut_the_run_short_after_the_last_attempt(emulator):
    emulator.faults = Faults(server_errors=1.0)
    client = make_client(emulator, policy=RetryPolicy(max_attempts=3))
    with pytest.raises(CutShortError, match="answered 5.. 3 times"):
        client.get("me")
    assert client.requests == 3
    with pytest.raises(CutShortError):  # the run's other requests stop at once
        client.get("current_user_saved_tracks")
    assert client.requests == 3


def test_429s_that_never_stop_cut_the_run_short_after_their_own_budget(emulator):
    emulator.faults = Faults(rate_limit=1.0, retry_after=1)
    sleeps = []
    client = make_client(emulator, sleeps=sleeps, policy=RetryPolicy(max_rate_limited=12))
    with pytest.raises(CutShortError, match="answered 429 12 times"):
        client.get("me")
    assert client.requests == 12 and len(sleeps) == 11


def test_an_expired_access_token_is_refreshed_once_and_the_request_retried(emulator):
    client = make_client(emulator)
    client.get("me")
    before = emulator.requests["POST /api/token"]
    emulator.expire_tokens()
    assert client.get("me")["id"]
    assert emulator.requests["POST /api/token"] == before + 1


def test_a_revoked_refresh_token_fails_with_a_message_to_authorize_again(emulator):
    emulator.revoke_refresh_token()
    with pytest.raises(AuthError, match="spotify-etl auth"):
        make_client(emulator).get("me")


def test_a_refresh_token_rotated_by_spotify_is_handed_to_the_keeper(emulator):
    emulator.faults = Faults(rotate_refresh_token=True)
    kept = []
    make_client(emulator, on_new_refresh_token=kept.append).get("me")
    assert len(kept) == 1 and kept[0] != emulator.refresh_token


def test_a_missing_object_is_an_error_with_its_status(emulator):
    with pytest.raises(SpotifyError) as raised:
        make_client(emulator).get("track", "0000000000000000000000")
    assert raised.value.status == 404


def test_pages_follow_next_until_the_last_page(emulator):
    client = make_client(emulator)
    pages = list(client.pages("current_user_saved_tracks", limit=50))
    items = [item for _, page in pages for item in page["items"]]
    assert len(items) == pages[0][1]["total"]
    assert [offset for offset, _ in pages] == list(range(0, len(items), 50))


class AppToken:
    """An app-only token (client-credentials grant): the user's data is refused with it."""

    def __init__(self, emulator):
        answer = requests.post(
            f"{emulator.auth_url}/api/token",
            data={"grant_type": "client_credentials"},
            auth=(emulator.client_id, emulator.client_secret),
            timeout=5,
        )
        self.token = answer.json()["access_token"]

    def get_access_token(self, as_dict=False):
        return self.token

    def invalidate(self, token):
        pass


def test_a_403_on_the_users_own_data_suggests_authorizing_again(emulator):
    client = SpotifyClient(AppToken(emulator), session_for(emulator.api_url))
    with pytest.raises(SpotifyError, match="scope.*spotify-etl auth") as raised:
        client.get("me")
    assert raised.value.status == 403
