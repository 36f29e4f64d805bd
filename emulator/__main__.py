"""Run the emulator in the foreground: python -m emulator [--port N] [--seed N] [--users N]."""

import argparse

from emulator.account import MAX_USERS
from emulator.server import serve


def user_count(text: str) -> int:
    """--users: how many users the app has, as many as Development Mode allows at most."""
    if not text.isdigit() or not 1 <= int(text) <= MAX_USERS:
        raise argparse.ArgumentTypeError(f"a whole number from 1 to {MAX_USERS}")
    return int(text)


def main() -> None:
    """Parse the command line and serve until Ctrl-C."""
    parser = argparse.ArgumentParser(description="Spotify Web API emulator (2026 behaviour)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the emulated accounts")
    parser.add_argument("--users", type=user_count, default=1, help="users of the app (1 to 5)")
    arguments = parser.parse_args()
    serve(port=arguments.port, seed=arguments.seed, users=arguments.users)


if __name__ == "__main__":
    main()
