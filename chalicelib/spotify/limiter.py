"""How many requests may be in flight at once: fewer after a 429, more again after successes.

Spotify's limit is a rolling 30-second window per app, so the right concurrency is not
known in advance. This is additive-increase, multiplicative-decrease, as TCP does it.
"""

from __future__ import annotations

import threading


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
