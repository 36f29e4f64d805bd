"""Several listeners of one app (SPEC §9): three emulator accounts extracted in turn under
one SPOTIFY_RATE_LIMIT, on a simulated clock that only the runs' sleeps move.

    .venv/bin/python benchmarks/accounts.py [--limit 60] [--users 3]

Prints, for the accounts in turn and for each account alone in a lake of its own (the same
moment, the same emulator): the requests, the busiest rolling 30 s of requests arriving at
the emulator, and how long the runs took on the clock. The goal: the busiest 30 s at most
the limit, and the requests in turn equal to the sum of the runs alone.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from chalicelib import pipeline  # noqa: E402
from chalicelib.settings import Settings  # noqa: E402
from emulator import Emulator, Scale  # noqa: E402
from emulator.clock import SimulatedClock  # noqa: E402
from spotify_etl import output  # noqa: E402

START = datetime(2026, 11, 20, 3, 15, tzinfo=UTC)
WINDOW = 30.0


def busiest(arrivals: list[tuple[float, str]]) -> int:
    """The most arrivals in any window of WINDOW seconds, [t, t + WINDOW)."""
    times = sorted(moment for moment, _ in arrivals)
    return max(
        (sum(1 for later in times[i:] if later < start + WINDOW) for i, start in enumerate(times)),
        default=0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=60, help="SPOTIFY_RATE_LIMIT")
    parser.add_argument("--users", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        clock = SimulatedClock(START)
        with Emulator(seed=5, clock=clock.time, users=args.users, scale=Scale()) as emulator:
            accounts_file = emulator.write_accounts_file(folder / "accounts.json")
            variables = {**emulator.variables(), "SPOTIFY_ACCOUNTS_FILE": str(accounts_file)}
            variables.pop("SPOTIFY_REFRESH_TOKEN")
            variables |= {"SPOTIFY_RATE_LIMIT": str(args.limit), "PLAYLISTS": "all"}
            settings = Settings.from_env({**variables, "LAKE_URI": str(folder / "together")})
            records = pipeline.extract_accounts(settings, now=clock.now, sleep=clock.sleep)
            arrivals = list(emulator.arrivals)
            took = clock.time() - START.timestamp()
            rows.append(
                (f"{len(records)} accounts in turn", len(arrivals), busiest(arrivals), took)
            )
            alone_requests = 0
            for user in emulator.users:
                clock.moment = START
                emulator.reset_counts()
                lake = folder / user.user_id
                alone = Settings.from_env({**variables, "LAKE_URI": str(lake)})
                pipeline.extract(alone, account=user.user_id, now=clock.now, sleep=clock.sleep)
                arrivals = list(emulator.arrivals)
                alone_requests += len(arrivals)
                took = clock.time() - START.timestamp()
                rows.append((f"{user.user_id} alone", len(arrivals), busiest(arrivals), took))
    rows.append(("the runs alone, summed", alone_requests, None, None))
    output.rows(
        f"SPOTIFY_RATE_LIMIT={args.limit}: requests per rolling {WINDOW:.0f} s",
        ["runs", "requests", "busiest 30 s", "seconds on the clock"],
        [
            (name, requests, most, None if took is None else round(took))
            for name, requests, most, took in rows
        ],
        "table",
    )


if __name__ == "__main__":
    main()
