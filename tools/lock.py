"""The lock: every package the project installs, pinned to one version with its hashes.

    python tools/lock.py compile [--upgrade | --upgrade-package NAME ...]    (make lock)
    python tools/lock.py check [--venv DIR:LOCK ...]              (make install, make test)

The requirements files are the intent, edited by hand. `compile` has uv turn them into the
files under locks/, one per purpose; `make install` installs .venv from locks/dev.txt exactly.
`check` fails when a requirements file and its lock disagree, or when a virtual environment
holds other packages or versions than its lock.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER_COMMAND = "make lock"
PROJECT = "spotify-etl"  # the editable install of this repository, in .venv beside the lock
# requirements.txt points chalice's pip at the Lambda lock. Chalice caches the packages it
# built under a hash of requirements.txt's bytes, so the line carries the lock's digest too:
# a new lock is a new requirements.txt, and no stale package is deployed.
LAMBDA_LOCK = "locks/lambda.txt"
LOCKED_BY = re.compile(r"^-c locks/lambda\.txt\b.*$", re.MULTILINE)


@dataclass(frozen=True)
class Lock:
    """One purpose's lock: the requirements files it is compiled from, for which Python."""

    name: str
    sources: tuple[str, ...]
    python: str
    platform: str | None = None  # a uv --python-platform; None compiles for every platform
    within: str | None = None  # another lock whose versions this one keeps

    @property
    def path(self) -> str:
        return f"locks/{self.name}.txt"


DEV_SOURCES = ("requirements-layer.txt", "requirements-local.txt", "requirements-dev.txt")
LOCKS = (
    Lock("dev", DEV_SOURCES, "3.11"),
    Lock("bench", (*DEV_SOURCES, "requirements-bench.txt"), "3.11", within="dev"),
    Lock("lambda", ("requirements.txt",), "3.12", platform="x86_64-manylinux_2_28", within="dev"),
    Lock("deploy", ("requirements-deploy.txt",), "3.12", within="dev"),
)
BOOTSTRAP = "locks/uv.txt"  # uv alone, as locks/dev.txt pins it: pip installs it first


@dataclass(frozen=True)
class Pin:
    """One `name==version` entry of a lock, with its marker and what asked for it."""

    name: str
    version: str
    marker: str | None
    text: str
    via: tuple[str, ...]


def canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def read_pins(path: Path) -> list[Pin]:
    """The entries of a lock uv wrote, in its order."""
    pins: list[Pin] = []
    entry: list[str] = []
    via: list[str] = []

    def close() -> None:
        if entry:
            requirement, _, marker = entry[0].rstrip(" \\").partition(" ; ")
            name, _, version = requirement.partition("==")
            pins.append(Pin(canonical(name), version, marker or None, "\n".join(entry), tuple(via)))
        entry.clear()
        via.clear()

    for line in path.read_text().splitlines():
        stripped = line.strip()
        if line and not line[0].isspace() and not line.startswith("#"):
            close()
            entry.append(line)
        elif entry and stripped.startswith("--hash="):
            entry.append(line)
        elif entry and stripped.startswith(("# via", "#   ")):
            entry.append(line)
            if reason := stripped.removeprefix("# via").removeprefix("#").strip():
                via.append(reason)
    close()
    return pins


def read_requirements(root: Path, source: str, seen: set[str] | None = None) -> dict[str, list]:
    """Each requirement a requirements file names, with the files `-r` brings in: {file: [...]}."""
    # packaging is imported where it is used: `make lock` may run where only uv is installed
    from packaging.requirements import Requirement

    seen = set() if seen is None else seen
    if source in seen:
        return {}
    seen.add(source)
    found: dict[str, list] = {source: []}
    for raw in (root / source).read_text().splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#") or line.startswith("-c "):
            continue
        if line.startswith("-r "):
            found.update(read_requirements(root, line.removeprefix("-r ").strip(), seen))
        else:
            found[source].append(Requirement(line))
    return found


def lock_problems(root: Path) -> list[str]:
    """How the requirements files and the locks disagree; nothing when they agree."""
    problems: list[str] = []
    pins = {lock.name: read_pins(root / lock.path) for lock in LOCKS if (root / lock.path).exists()}
    for lock in LOCKS:
        if lock.name not in pins:
            problems.append(f"{lock.path} is missing")
            continue
        problems += _agreement(root, lock, pins[lock.name])
        if lock.within and lock.within in pins:
            problems += _kept_within(lock, pins[lock.name], pins[lock.within])
    if "dev" in pins and _bootstrap_text(pins["dev"]) != _read(root / BOOTSTRAP):
        problems.append(f"{BOOTSTRAP} is not uv as locks/dev.txt pins it")
    if "lambda" in pins and _locked_by_line(root) not in _read(root / "requirements.txt"):
        problems.append(f"requirements.txt lacks the line `{_locked_by_line(root)}`")
    return problems


def _agreement(root: Path, lock: Lock, pins: list[Pin]) -> list[str]:
    from packaging.version import Version

    problems = []
    by_name: dict[str, list[Pin]] = {}
    for pin in pins:
        by_name.setdefault(pin.name, []).append(pin)
    named: dict[str, set[str]] = {}
    for source in lock.sources:
        for file, requirements in read_requirements(root, source).items():
            named[file] = {canonical(r.name) for r in requirements}
            for requirement in requirements:
                name = canonical(requirement.name)
                if name not in by_name:
                    problems.append(f"{lock.path} has no {name}, which {file} asks for")
                for pin in by_name.get(name, []):
                    if not requirement.specifier.contains(Version(pin.version), prereleases=True):
                        problems.append(
                            f"{lock.path} pins {name} {pin.version}, "
                            f"{file} asks for {requirement.specifier}"
                        )
    for pin in pins:
        for reason in pin.via:
            if reason.startswith("-r "):
                file = reason.removeprefix("-r ")
                if pin.name not in named.get(file, set()):
                    problems.append(f"{lock.path} pins {pin.name} for {file}, not naming it")
            elif not reason.startswith("-c ") and canonical(reason.split("[")[0]) not in by_name:
                problems.append(f"{lock.path} pins {pin.name} for {reason}, which it no longer has")
    if f"#    {HEADER_COMMAND}" not in _read(root / lock.path):
        problems.append(f"{lock.path} was not written by `{HEADER_COMMAND}`")
    return problems


def _kept_within(lock: Lock, pins: list[Pin], outer: list[Pin]) -> list[str]:
    versions: dict[str, set[str]] = {}
    for pin in outer:
        versions.setdefault(pin.name, set()).add(pin.version)
    return [
        f"{lock.path} pins {pin.name} {pin.version} where locks/{lock.within}.txt pins "
        + " or ".join(sorted(versions[pin.name]))
        for pin in pins
        if pin.name in versions and pin.version not in versions[pin.name]
    ]


def _bootstrap_text(dev: list[Pin]) -> str:
    uv = next((pin for pin in dev if pin.name == "uv"), None)
    if uv is None:
        return ""
    return f"# uv as locks/dev.txt pins it, written by `{HEADER_COMMAND}`\n{uv.text}\n"


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def venv_problems(root: Path, venv: Path, lock: Lock) -> list[str]:
    """How a virtual environment differs from its lock; nothing when it holds exactly the lock."""
    from packaging.markers import Marker, default_environment

    sites = sorted(venv.glob("lib/python3*/site-packages"))
    if not sites:
        return [f"{venv} is not a virtual environment"]
    environment = default_environment()
    version = sites[-1].parent.name.removeprefix("python")
    environment.update(python_version=version, python_full_version=_full_version(venv, version))
    wanted = {
        pin.name: pin.version
        for pin in read_pins(root / lock.path)
        if pin.marker is None or Marker(pin.marker).evaluate(environment)
    }
    installed = {
        canonical(dist.metadata["Name"]): dist.version
        for dist in metadata.distributions(path=[str(site) for site in sites])
    }
    installed.pop(PROJECT, None)
    problems = [
        f"{venv} has {name} {installed[name]}, {lock.path} pins {version}"
        for name, version in sorted(wanted.items())
        if name in installed and installed[name] != version
    ]
    missing = sorted(set(wanted) - set(installed))
    extra = sorted(set(installed) - set(wanted))
    if missing:
        problems.append(f"{venv} lacks {len(missing)} of {lock.path}: {', '.join(missing)}")
    if extra:
        problems.append(f"{venv} has what {lock.path} does not name: {', '.join(extra)}")
    return problems


def _full_version(venv: Path, version: str) -> str:
    for line in _read(venv / "pyvenv.cfg").splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("version", "version_info"):
            return value.strip()
    return version


def compile_locks(root: Path, upgrade: list[str]) -> None:
    """Write every lock from the requirements files with uv, then the bootstrap file."""
    uv = Path(sys.executable).parent / "uv"
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        (work / "locks").mkdir()
        for source in root.glob("requirements*.txt"):
            # requirements.txt points pip at its own lock; uv must not be held to the old one
            lines = source.read_text().splitlines(keepends=True)
            (work / source.name).write_text("".join(
                line for line in lines if not line.startswith("-c locks/")
            ))
        for lock in LOCKS:
            command = [
                str(uv), "pip", "compile", "--quiet", "--generate-hashes",
                "--custom-compile-command", HEADER_COMMAND,
                "--python-version", lock.python, "--output-file", str(root / lock.path),
            ]
            command += ["--python-platform", lock.platform] if lock.platform else ["--universal"]
            if lock.within:
                shutil.copy(root / f"locks/{lock.within}.txt", work / "locks")
                command += ["--constraint", f"locks/{lock.within}.txt"]
            print(f"{lock.path} from {', '.join(lock.sources)}", file=sys.stderr)
            subprocess.run([*command, *upgrade, *lock.sources], cwd=work, check=True)
    (root / BOOTSTRAP).write_text(_bootstrap_text(read_pins(root / "locks/dev.txt")))
    requirements = root / "requirements.txt"
    text, found = LOCKED_BY.subn(_locked_by_line(root), requirements.read_text(), count=1)
    requirements.write_text(text if found else f"{text}{_locked_by_line(root)}\n")


def _digest(root: Path) -> str:
    return hashlib.sha256((root / LAMBDA_LOCK).read_bytes()).hexdigest()[:16]


def _locked_by_line(root: Path) -> str:
    return f"-c {LAMBDA_LOCK}  # lock sha256:{_digest(root)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/lock.py", description=__doc__.split("\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", required=True)
    compiling = commands.add_parser("compile", help="regenerate locks/ from the requirements")
    compiling.add_argument("--upgrade", action="store_true", help="take the newest versions")
    compiling.add_argument("--upgrade-package", action="append", default=[], metavar="NAME")
    checking = commands.add_parser("check", help="the locks agree with the requirements files")
    checking.add_argument(
        "--venv", action="append", default=[], metavar="DIR:LOCK",
        help="also check that the virtual environment DIR holds exactly locks/LOCK.txt",
    )
    args = parser.parse_args(argv)
    if args.command == "compile":
        upgrade = ["--upgrade"] if args.upgrade else []
        upgrade += [f"--upgrade-package={name}" for name in args.upgrade_package]
        compile_locks(args.root, upgrade)
        return 0
    locks = {lock.name: lock for lock in LOCKS}
    problems = lock_problems(args.root)
    for pair in args.venv:
        directory, _, name = pair.rpartition(":")
        if name not in locks:
            parser.error(f"--venv {pair}: LOCK is one of {', '.join(locks)}")
        problems += venv_problems(args.root, Path(directory), locks[name])
    for problem in problems:
        print(f"lock: {problem}", file=sys.stderr)
    if problems:
        print(
            "lock: a requirements file changed: `make lock`, then `make install`; "
            "a venv differs: `make install`",
            file=sys.stderr,
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
