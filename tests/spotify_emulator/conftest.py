"""Fixtures for the emulator tests: a fake clock, a running emulator, a user session."""

from collections.abc import Iterator

import pytest
from emulator_support import START, FakeClock, Get, getter, user_token

from emulator import Emulator


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def emu(fake_clock: FakeClock) -> Iterator[Emulator]:
    with Emulator(seed=7, clock=fake_clock) as running:
        yield running


@pytest.fixture
def get(emu: Emulator) -> Get:
    return getter(emu, user_token(emu))
