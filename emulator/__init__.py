"""A Spotify Web API emulator (2026 behaviour) for the demo, the tests and the benchmarks."""

from emulator.account import Account
from emulator.config import Faults, Scale
from emulator.server import AppUser, Emulator, serve

__all__ = ["Account", "AppUser", "Emulator", "Faults", "Scale", "serve"]
