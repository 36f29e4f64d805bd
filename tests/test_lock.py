"""The lock cannot drift: `tools/lock.py check` (run by `make install`, so by `make test` and
CI) fails when a requirements file and its lock disagree, or a virtual environment holds other
packages or versions than its lock, and says what to run."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# tools/lock.py runs in a subprocess per test; `make install` runs the same check on every
# `make check`.
pytestmark = pytest.mark.integration


def check(root: Path, *venvs: str) -> subprocess.CompletedProcess:
    venv_args = [arg for venv in venvs for arg in ("--venv", venv)]
    return subprocess.run(
        [sys.executable, str(ROOT / "tools/lock.py"), "--root", str(root), "check", *venv_args],
        capture_output=True,
        text=True,
    )


@pytest.fixture
def tree(tmp_path):
    """A copy of the requirements files and the locks, to change."""
    for source in ROOT.glob("requirements*.txt"):
        shutil.copy(source, tmp_path)
    shutil.copytree(ROOT / "locks", tmp_path / "locks")
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def test_the_locks_agree_with_the_requirements_and_this_environment_is_the_dev_lock():
    checked = check(ROOT, f"{sys.prefix}:dev")
    assert checked.returncode == 0, checked.stderr


def test_every_lock_pins_each_package_once_per_environment_with_hashes():
    for lock in (ROOT / "locks").glob("*.txt"):
        entries = [line for line in lock.read_text().splitlines() if line[:1].isalnum()]
        assert entries, lock
        assert all("==" in entry and entry.endswith("\\") for entry in entries), lock
        names = [entry.split("==")[0] + entry.partition(" ; ")[2] for entry in entries]
        assert len(names) == len(set(names)), lock


DISAGREEMENTS = {
    "a requirement its lock does not satisfy": (
        "requirements-dev.txt", "moto[s3,glue,athena,secretsmanager]>=5", "moto>=99",
        "requirements-dev.txt asks for >=99",
    ),
    "a new requirement the lock lacks": (
        "requirements-local.txt", "duckdb>=1.1\n", "duckdb>=1.1\nleft-pad>=1\n",
        "locks/dev.txt has no left-pad, which requirements-local.txt asks for",
    ),
    "a requirement taken out of its file but still locked": (
        "requirements-dev.txt", "pillow>=10\n", "",
        "locks/dev.txt pins pillow for requirements-dev.txt, not naming it",
    ),
    "a Lambda lock off the versions the tests ran": (
        "locks/lambda.txt", "spotipy==", "spotipy==9",
        "locks/lambda.txt pins spotipy 9",
    ),
    # chalice reuses the packages it built while requirements.txt's bytes are unchanged
    "a Lambda lock whose digest requirements.txt does not carry": (
        "locks/lambda.txt", "\nurllib3==", "\n# a comment\nurllib3==",
        "requirements.txt lacks the line `-c locks/lambda.txt  # lock sha256:",
    ),
    "a bootstrap file that is not the dev lock's uv": (
        "locks/uv.txt", "uv==", "uv==0.0.1 # ", "locks/uv.txt is not uv as locks/dev.txt pins it",
    ),
}


@pytest.mark.parametrize("change", DISAGREEMENTS.values(), ids=DISAGREEMENTS)
def test_a_disagreement_fails_the_check_says_what_and_to_relock(tree, change):
    name, old, new, said = change
    edit(tree / name, old, new)
    checked = check(tree)
    assert checked.returncode == 1
    assert said in checked.stderr
    assert "`make lock`" in checked.stderr


def test_a_venv_with_another_version_an_extra_or_a_missing_package_fails(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next(venv.glob("lib/python3*/site-packages"))
    pins = {
        line.split("==")[0]: line.split("==")[1].split()[0]
        for line in (ROOT / "locks/dev.txt").read_text().splitlines()
        if line[:1].isalnum() and " ; " not in line  # those apply everywhere
    }
    installed = dict(pins)
    installed["six"] = "1.0.0"
    installed["left-pad"] = "1.0"
    del installed["moto"]
    for name, version in installed.items():
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")

    checked = check(ROOT, f"{venv}:dev")

    assert checked.returncode == 1
    assert f"{venv} has six 1.0.0, locks/dev.txt pins {pins['six']}" in checked.stderr
    assert f"{venv} has what locks/dev.txt does not name: left-pad" in checked.stderr
    lacking = next(line for line in checked.stderr.splitlines() if " lacks " in line)
    assert lacking.startswith(f"lock: {venv} lacks ")
    names = lacking.rsplit(": ", 1)[1].split(", ")
    assert "moto" in names and "six" not in names and "pytest" not in names
    assert "a venv differs: `make install`" in checked.stderr


def test_an_unknown_lock_name_is_a_usage_error():
    checked = check(ROOT, f"{sys.prefix}:prod")
    assert checked.returncode == 2
    assert "LOCK is one of dev, bench, lambda, deploy" in checked.stderr
