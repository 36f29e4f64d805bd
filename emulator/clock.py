"""A clock moved by hand, shared by the emulator and the pipeline in the demo, tests and
benchmarks: the emulator reads it as epoch seconds, the pipeline as a UTC datetime."""

from datetime import datetime


class SimulatedClock:
    """The time is `moment`, until someone sets or advances it."""

    def __init__(self, moment: datetime):
        self.moment = moment

    def time(self) -> float:
        return self.moment.timestamp()

    def now(self) -> datetime:
        return self.moment
