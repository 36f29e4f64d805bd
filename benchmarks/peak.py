"""Running a measure in a fresh interpreter: what it printed last (JSON) and its peak RSS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def run_python(
    arguments: list[str], cwd: Path, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """`python ARGUMENTS` in a child; the JSON object of its last line of output, with the
    child's peak RSS in bytes (from the kernel, `os.wait4`) as `peak_rss`."""
    with tempfile.TemporaryFile("w+") as output:
        command = [sys.executable, *arguments]
        process = subprocess.Popen(command, stdout=output, cwd=cwd, env=env and dict(env))
        _, status, usage = os.wait4(process.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code:
            raise SystemExit(f"`python {' '.join(arguments)}` failed with exit status {code}")
        output.seek(0)
        figures = json.loads(output.read().splitlines()[-1])
    # ru_maxrss is in KiB on Linux, bytes on macOS.
    figures["peak_rss"] = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return figures
