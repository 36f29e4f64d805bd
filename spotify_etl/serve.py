"""`make serve`: `chalice local` on this project, with the environment the command line
reads (the process's variables over those of `.env` in the current folder)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from chalicelib.settings import environment

PROJECT = Path(__file__).resolve().parents[1]


def main(argv: list[str] | None = None) -> None:
    """Replace this process with `chalice local --stage local ARGS...`."""
    chalice = str(Path(sys.executable).with_name("chalice"))
    command = [chalice, "--project-dir", str(PROJECT), "local", "--no-autoreload"]
    command += ["--stage", "local", *(sys.argv[1:] if argv is None else argv)]
    os.execve(chalice, command, environment())


if __name__ == "__main__":
    main()
