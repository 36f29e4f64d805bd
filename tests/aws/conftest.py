"""What the AWS tests share beyond tests/conftest.py's fixtures."""

from __future__ import annotations

import pytest


@pytest.fixture
def listener(emulator) -> str:
    """The emulator's user's Spotify ID: the account a run on its token registers, and
    whose export the emulator writes."""
    return emulator.users[0].user_id
