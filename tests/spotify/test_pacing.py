"""SPOTIFY_RATE_LIMIT: no 30-second window of requests arriving at Spotify holds more than
the limit, measured on the emulator's own log of arrivals, on an injected clock that only
the run's sleeps move (nothing here really sleeps)."""

import pytest
from stand_ins import START

from chalicelib import pipeline
from chalicelib.settings import DEFAULT_RATE_LIMIT, Settings
from chalicelib.spotify.limiter import RequestPacer
from emulator import Faults, Scale

WINDOW = 30.0

SCALE = Scale(playlists=6, entries=120, saved_tracks=150, top_items=50)
pytestmark = pytest.mark.account(seed=4, scale=SCALE, clocked=True)


def extract(env, clock, **variables):
    settings = Settings.from_env({**env, **variables})
    return pipeline.extract(settings, now=clock.now, sleep=clock.sleep)


def busiest_window(arrivals):
    """The most arrivals in any window of WINDOW seconds, [t, t + WINDOW)."""
    times = sorted(moment for moment, _ in arrivals)
    return max(
        sum(1 for later in times[i:] if later < start + WINDOW) for i, start in enumerate(times)
    )


@pytest.mark.parametrize(("limit", "concurrency"), [(10, "8"), (13, "8"), (10, "1"), (1, "4")])
def test_no_30_second_window_holds_more_requests_than_the_limit(
    env, emulator, clock, limit, concurrency
):
    record = extract(
        env,
        clock,
        SPOTIFY_RATE_LIMIT=str(limit),
        EXTRACT_CONCURRENCY=concurrency,
        CATALOG_DETAIL_BUDGET="20",
    )
    arrivals = emulator.arrivals
    assert record.status == "extracted"
    assert len(arrivals) > 3 * limit  # enough requests for the limit to matter
    assert busiest_window(arrivals) <= limit
    span = arrivals[-1][0] - arrivals[0][0]
    assert span >= (len(arrivals) - limit) * WINDOW / limit  # paced, not merely lucky


def test_requests_retried_after_a_429_are_paced_too(env, emulator, clock):
    emulator.faults = Faults(rate_limit=0.3, retry_after=1)
    record = extract(env, clock, SPOTIFY_RATE_LIMIT="12")
    assert record.status == "extracted"
    assert busiest_window(emulator.arrivals) <= 12


def test_zero_leaves_a_run_unpaced(env, emulator, clock):
    extract(env, clock, SPOTIFY_RATE_LIMIT="0")
    assert len(emulator.arrivals) > 20
    assert {moment for moment, _ in emulator.arrivals} == {START.timestamp()}


def test_the_default_paces_a_run_for_a_development_mode_app(env, emulator, clock):
    assert Settings.from_env({}).rate_limit == DEFAULT_RATE_LIMIT == 60
    settings = Settings.from_env({k: v for k, v in env.items() if k != "SPOTIFY_RATE_LIMIT"})
    assert settings.rate_limit == DEFAULT_RATE_LIMIT
    pipeline.extract(settings, now=clock.now, sleep=clock.sleep)
    assert busiest_window(emulator.arrivals) <= DEFAULT_RATE_LIMIT
    gaps = [b[0] - a[0] for a, b in zip(emulator.arrivals, emulator.arrivals[1:], strict=False)]
    assert min(gaps) >= 0 and sum(gaps) >= (len(gaps) - 1) * WINDOW / DEFAULT_RATE_LIMIT


def test_a_run_without_time_to_wait_its_turn_ends_partial_and_says_why(env, emulator, clock):
    settings = Settings.from_env({**env, "SPOTIFY_RATE_LIMIT": "5"})
    record = pipeline.extract(settings, now=clock.now, sleep=clock.sleep, remaining=lambda: 25)
    assert record.status == "partial"
    assert any("SPOTIFY_RATE_LIMIT" in error for error in record.errors)


class StepClock:
    """A clock the test sets by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_pacer_spaces_starts_and_counts_requests_in_flight_as_in_the_window():
    clock = StepClock()
    pacer = RequestPacer(3, window=30, clock=clock)
    starts = [pacer.reserve() for _ in range(3)]
    assert starts == [0, 10, 20]  # spread over the window, no burst
    clock.now = 40
    pacer.release()  # the first three end late, at 40, 40 and 41
    pacer.release()
    clock.now = 41
    pacer.release()
    # three ended within the last 30 s: the next may start only once the oldest is 30 s past
    assert pacer.reserve() == 70
    assert pacer.wait(70) == 29


def test_the_pacer_never_lets_a_slow_answer_crowd_the_window():
    clock = StepClock()
    pacer = RequestPacer(2, window=30, clock=clock)
    assert pacer.reserve() == 0
    assert pacer.reserve() == 15  # both in flight now
    clock.now = 100
    pacer.release()  # one answer comes back at 100; the other is still out
    # the one in flight may arrive at any moment: only one more fits in any window with it
    assert pacer.reserve() == 130
