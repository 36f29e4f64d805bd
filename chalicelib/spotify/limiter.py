"""How fast a run asks Spotify: how many requests at once, and how many per 30 seconds.

Spotify's limit is a rolling 30-second window per app, unpublished. The pacer keeps a run
under the limit the settings give (SPOTIFY_RATE_LIMIT); within it, the adaptive limiter
finds the concurrency the API accepts, additive-increase, multiplicative-decrease, as TCP
does it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class AdaptiveLimiter:
    """A semaphore whose size halves on a rate limit and grows back by one per window."""

    def __init__(self, initial: int = 4, maximum: int = 8):
        self._maximum = maximum
        self._limit = float(min(initial, maximum))
        self._in_flight = 0
        self._condition = threading.Condition()

    @property
    def limit(self) -> int:
        return int(self._limit)

    def __enter__(self) -> AdaptiveLimiter:
        with self._condition:
            self._condition.wait_for(lambda: self._in_flight < int(self._limit))
            self._in_flight += 1
        return self

    def __exit__(self, *exc: object) -> None:
        with self._condition:
            self._in_flight -= 1
            self._condition.notify_all()

    def succeeded(self) -> None:
        with self._condition:
            self._limit = min(self._maximum, self._limit + 1 / max(self._limit, 1))
            self._condition.notify_all()

    def rate_limited(self) -> None:
        with self._condition:
            self._limit = max(1.0, self._limit / 2)


class RequestPacer:
    """At most `limit` requests in any rolling `window` seconds, their starts evenly spaced.

    Spotify counts a request when it arrives, which is after it starts and before it ends.
    So a request may start only once fewer than `limit` earlier requests could still fall in
    the window: those in flight, and those that ended within the last `window` seconds. A
    request ends when its answer is back, so no window of arrivals can hold more than
    `limit`, whatever the network's delays. Starts are also spread `window / limit` apart,
    so a run never bursts. `reserve` gives a slot's start time; the caller sleeps until then.
    """

    def __init__(self, limit: int, window: float = 30.0, clock: Callable[[], float] = time.time):
        self._limit = limit
        self._window = window
        self._spacing = window / limit
        self._clock = clock
        self._ended: deque[float] = deque(maxlen=limit)
        self._in_flight = 0
        self._last_start = -math.inf
        self._condition = threading.Condition()

    def reserve(self) -> float:
        """Take the next slot: the time its request may start, on the pacer's clock."""
        with self._condition:
            self._condition.wait_for(lambda: self._in_flight < self._limit)
            now = self._clock()
            start = max(now, self._last_start + self._spacing)
            # Besides the new request and those in flight, at most `room - 1` requests may
            # have ended within the window before its start.
            room = self._limit - self._in_flight
            if len(self._ended) >= room:
                start = max(start, self._ended[-room] + self._window)
            self._in_flight += 1
            self._last_start = start
            return start

    def wait(self, start: float) -> float:
        """The seconds from now until `start`."""
        return max(0.0, start - self._clock())

    def release(self) -> None:
        """The request of a reserved slot has its answer (or will never be sent)."""
        with self._condition:
            self._in_flight -= 1
            self._ended.append(self._clock())
            self._condition.notify_all()
