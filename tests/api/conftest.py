"""The REST API's tests count the requests the fuzzing sent, reported at the end of the run
(the servers they send them to are tests/conftest.py's)."""

from __future__ import annotations

from collections import Counter

import pytest

FUZZ_REQUESTS: Counter[str] = Counter()


@pytest.fixture(scope="session")
def fuzz_requests() -> Counter[str]:
    """Requests the fuzz tests sent, by operation (reported at the end of the run)."""
    return FUZZ_REQUESTS


def pytest_terminal_summary(terminalreporter) -> None:
    if FUZZ_REQUESTS:
        counts = ", ".join(f"{op}: {n}" for op, n in sorted(FUZZ_REQUESTS.items()))
        total = sum(FUZZ_REQUESTS.values())
        terminalreporter.write_line(f"fuzz: {total} generated requests ({counts})")
