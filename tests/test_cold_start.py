"""Cold start: the app, the plays poll and the extract load neither pandas nor pyarrow; only
the transform does. Each check runs in a fresh interpreter, against an emulator served here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.accounts import AccountLake, registered
from chalicelib.lake import LocalLake
from chalicelib.runs import RunStore

pytestmark = pytest.mark.integration  # fresh interpreters
ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "pyarrow")

HANDLERS = """
import json, sys
import app
event = {
    "version": "0", "id": "cold-start", "detail-type": "Scheduled Event",
    "source": "aws.events", "account": "123456789012", "time": "2026-11-26T09:00:00Z",
    "region": "us-east-1", "resources": [], "detail": {},
}
for handler in sys.argv[1:]:
    getattr(app, handler)(event, None)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_after(code: str, subprocess_env: dict[str, str], *args: str) -> set[str]:
    """The modules a fresh interpreter holds after running the code."""
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        env={
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", ""),
            **subprocess_env,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return set(json.loads(result.stdout.splitlines()[-1]))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


@pytest.fixture
def subprocess_env(emulator, tmp_path) -> dict[str, str]:
    return {
        "LAKE_URI": str(tmp_path / "lake"),
        **emulator.variables(),
    }


def test_importing_the_app_loads_neither_pandas_nor_pyarrow(subprocess_env):
    assert heavy(loaded_after(HANDLERS, subprocess_env)) == []


def test_the_plays_and_extract_handlers_load_neither_pandas_nor_pyarrow(subprocess_env):
    modules = loaded_after(HANDLERS, subprocess_env, "plays", "snapshot")
    assert heavy(modules) == []
    lake = LocalLake(subprocess_env["LAKE_URI"])
    [account] = registered(lake)
    records = RunStore(AccountLake(lake, account)).recent()
    assert sorted(r.kind for r in records) == ["plays", "snapshot"]
    assert {r.status for r in records} <= {"extracted", "partial"}


def test_the_transform_is_what_loads_them(subprocess_env):
    modules = loaded_after(
        "import json, sys, chalicelib.transform.run\n" + HANDLERS, subprocess_env
    )
    assert heavy(modules) and {"pandas", "pyarrow"} <= modules


EDGE = """
import json, sys
from chalicelib.accounts import AccountLake, registered
from chalicelib.lake import LocalLake
from chalicelib.runs import RunStore
from spotify_etl.cli import main
from spotify_etl.demo import run_demo
assert main(["extract", "--kind", "plays"]) == 0
lake = LocalLake(sys.argv[1])
[account] = registered(lake)
[record] = RunStore(AccountLake(lake, account)).recent()
assert main(["transform", "--run", record.run_id]) == 0
assert run_demo(sys.argv[2], days=1, seed=3) == 0
print(json.dumps(sorted(sys.modules)))
"""


def test_the_command_line_and_the_demo_extract_transform_and_replay_without_the_web_app(
    subprocess_env, tmp_path
):
    modules = loaded_after(EDGE, subprocess_env, subprocess_env["LAKE_URI"], str(tmp_path / "demo"))
    assert "app" not in modules and "chalice" not in modules


def test_nothing_below_the_edge_reads_the_environment():
    """Only chalicelib.settings, the one loader, reads os.environ; the rest receive Settings."""
    readers = [
        path.relative_to(ROOT).as_posix()
        for path in sorted((ROOT / "chalicelib").rglob("*.py"))
        if path.name != "settings.py"
        and any(word in path.read_text() for word in ("os.environ", "getenv", "environ.get"))
    ]
    assert readers == []
