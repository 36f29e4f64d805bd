"""Run the emulator in the foreground: python -m emulator [--port N] [--seed N]."""

import argparse

from emulator.server import serve


def main() -> None:
    """Parse the command line and serve until Ctrl-C."""
    parser = argparse.ArgumentParser(description="Spotify Web API emulator (2026 behaviour)")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the emulated account")
    arguments = parser.parse_args()
    serve(port=arguments.port, seed=arguments.seed)


if __name__ == "__main__":
    main()
