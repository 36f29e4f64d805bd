"""A clock moved by hand, shared by the emulator and the pipeline in the demo, tests and
benchmarks: the emulator reads it as epoch seconds, the pipeline as a UTC datetime."""

import threading
from datetime import datetime, timedelta


class SimulatedClock:
    """The time is `moment`, until someone sets or advances it, or sleeps on it."""

    def __init__(self, moment: datetime):
        self.moment = moment
        self._lock = threading.Lock()

    def time(self) -> float:
        return self.moment.timestamp()

    def now(self) -> datetime:
        return self.moment

    def sleep(self, seconds: float) -> None:
        """Advance the clock by `seconds`, as if the caller slept that long."""
        with self._lock:
            self.moment += timedelta(seconds=seconds)
