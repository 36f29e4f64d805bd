"""`spotify-etl migrate` on a lake the version before accounts wrote (tests/fixtures/
lake_before_accounts, made by that version: see build_lake_before_accounts.py): everything
moves under its account with nothing lost, the lake reads and extracts on as before, and a
migration stopped anywhere or run again converges."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chalicelib.accounts import ACCOUNT, REGISTER, AccountLake, registered
from chalicelib.errors import LakeError
from chalicelib.lake import MOVED, LocalLake
from chalicelib.transform.accounts import MIGRATION, migrate_accounts
from spotify_etl.cli import main

FIXTURE = Path(__file__).parent.parent / "fixtures" / "lake_before_accounts"
ACCOUNT_ID = "listener5xmzpl4q"  # GET /me of the fixture's runs (seed 3)
APP_WIDE = {"state/extract-lease.json"}


@pytest.fixture
def before(tmp_path, monkeypatch) -> LocalLake:
    """A copy of the fixture, as LAKE_URI."""
    shutil.copytree(FIXTURE, tmp_path / "lake")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAKE_URI", str(tmp_path / "lake"))
    monkeypatch.setenv("QUERY_ENGINE", "duckdb")
    return LocalLake(tmp_path / "lake")


def contents(lake: LocalLake) -> dict[str, bytes]:
    return {key: lake.get(key) for key in lake.list("")}


def test_every_object_moves_under_its_account_byte_for_byte_and_the_lake_reads_on(
    before, capsys
):
    old = contents(before)
    assert main(["runs"]) == 1
    assert "spotify-etl migrate" in capsys.readouterr().err
    assert main(["migrate"]) == 0
    assert f"under account {ACCOUNT_ID}" in capsys.readouterr().out
    view = AccountLake(before, ACCOUNT_ID)
    moved = {key: data for key, data in old.items() if key not in APP_WIDE}
    assert {key: view.get(key) for key in moved if not key.startswith("processed/")} == {
        key: data for key, data in moved.items() if not key.startswith("processed/")
    }
    for key, data in moved.items():  # tables: the same months, the same rows
        if key.startswith("processed/"):
            assert view.get(key) == data, key
    now = contents(before)
    kept = {*APP_WIDE, REGISTER, MIGRATION}
    assert [k for k in now if f"{ACCOUNT}=" not in k and k not in kept] == []
    assert list(registered(before)) == [ACCOUNT_ID]
    assert registered(before)[ACCOUNT_ID]["display_name"]
    assert main(["accounts", "--format", "json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed["account"] == ACCOUNT_ID and listed["plays"] > 0 and listed["last_run"]
    assert main(["runs", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4
    assert main(["query", "history_coverage", "--param", "start_date=2026-10-01"]) == 0
    now = contents(before)
    assert main(["migrate"]) == 0
    assert "nothing to migrate" in capsys.readouterr().out
    assert contents(before) == now


class StopsAfter(LocalLake):
    """A lake whose process dies after `moves` objects were moved (copied, then removed)."""

    def __init__(self, root, moves: int):
        super().__init__(root)
        self.moves = moves

    def delete(self, key: str, why: str = MOVED) -> None:
        if self.moves == 0:
            raise LakeError("the process died")
        self.moves -= 1
        super().delete(key, why)


@pytest.mark.parametrize("moves", [0, 1, 17, 60])
def test_a_migration_stopped_anywhere_converges_when_run_again(before, tmp_path, moves):
    reference = LocalLake(tmp_path / "reference")
    shutil.copytree(FIXTURE, reference.root)
    migrate_accounts(reference)
    with pytest.raises(LakeError, match="died"):
        migrate_accounts(StopsAfter(before.root, moves))
    assert migrate_accounts(before)[0] == ACCOUNT_ID
    assert contents(before) == contents(reference)


def test_an_import_only_lake_names_its_account_to_migrate(before, capsys):
    for key in [k for k in before.list("raw/") if k.endswith("/me.json.gz")]:
        Path(before.uri(key)).unlink()  # as an import alone leaves it: no GET /me answer
    assert main(["migrate"]) == 1
    assert "--account" in capsys.readouterr().err
    assert main(["migrate", "--account", "someone"]) == 0
    assert list(registered(before)) == ["someone"]


def test_after_migrating_the_next_run_resumes_from_the_moved_state(before, tmp_path):
    """The bookmarks and catalog moved with the lake: the next snapshot carries the pages
    the last one read, as it would have before accounts."""
    from datetime import UTC, datetime

    from chalicelib import pipeline
    from chalicelib.settings import Settings
    from emulator import Emulator
    from emulator.clock import SimulatedClock
    from tests.fixtures.build_lake_before_accounts import FIRST_DAY, SCALE

    migrate_accounts(before)
    clock = SimulatedClock(datetime(2026, 11, 2, 4, 15, tzinfo=UTC))
    with Emulator(seed=3, clock=clock.time, scale=SCALE, start=FIRST_DAY.timestamp()) as emu:
        assert emu.users[0].user_id == ACCOUNT_ID
        variables = {"QUERY_ENGINE": "duckdb", "PLAYLISTS": "all", "SPOTIFY_RATE_LIMIT": "0"}
        runs = {}
        for name, lake in (("migrated", before.root), ("new", tmp_path / "new")):
            config = Settings.from_env({**variables, "LAKE_URI": str(lake), **emu.variables()})
            runs[name] = pipeline.extract_and_transform(config, now=clock.now)
    migrated, new = runs["migrated"], runs["new"]
    assert migrated.account == new.account == ACCOUNT_ID
    assert migrated.status == "transformed"
    assert migrated.counts["playlist_items_carried"] > 0
    assert migrated.counts["requests"] < new.counts["requests"]
