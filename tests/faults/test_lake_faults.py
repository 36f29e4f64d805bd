"""Faults between extract and transform: broken raw files, S3 events sent twice or out of
order, two runs in one day and transforms racing on the same partitions. raw/ is never
changed, no row is doubled, and the tables end as a fault-free run leaves them."""

from __future__ import annotations

import gzip
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib import pipeline, raw
from chalicelib.accounts import AccountLake
from chalicelib.functions import Functions
from chalicelib.lake import LocalLake, get_json
from chalicelib.runs import RunStore
from chalicelib.schema import SNAPSHOT_TABLES, TABLES
from chalicelib.settings import Settings
from chalicelib.transform import transform_run
from spotify_etl.cli import main

from .conftest import (
    ACCOUNT,
    DAY,
    assert_no_duplicates,
    assert_raw_kept,
    extract,
    raw_files,
    run,
    tables,
)

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("fault_case"), ACCOUNT]


def first_items_page(account_lake, record) -> str:
    manifest = raw.Manifest.from_json(get_json(account_lake, record.manifest))
    return next(part.key for part in manifest.parts if part.stream == raw.PLAYLIST_ITEMS)


BROKEN = {
    "truncated": lambda data: data[: len(data) // 2],
    "malformed": lambda data: gzip.compress(gzip.decompress(data)[:-7] + b"}}]],", mtime=0),
}


@pytest.mark.parametrize("breaks", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_raw_file_fails_its_run_into_quarantine_and_a_repaired_replay_completes(
    env, account_lake, clock, reference, breaks
):
    record = extract(env, clock)
    key = first_items_page(account_lake, record)
    good = account_lake.get(key)
    broken = breaks(good)
    account_lake.put(key, broken)
    before = raw_files(account_lake)
    summary = transform_run(account_lake, record.manifest, now=clock.now)
    assert summary["status"] == "failed" and key in " ".join(summary["errors"])
    failed = RunStore(account_lake).get(record.run_id)
    assert failed.status == "failed" and failed.transform["quarantine"]
    assert account_lake.get(f"quarantine/{record.run_id}/{key}") == broken
    assert raw_files(account_lake) == before  # quarantine copies, never moves or rewrites raw/
    assert all(rows == [] for rows in tables(account_lake).values())
    account_lake.put(key, good)  # the operator restores the page, then replays the run
    assert transform_run(account_lake, record.manifest, now=clock.now)["status"] == "transformed"
    assert RunStore(account_lake).get(record.run_id).status == "transformed"
    assert tables(account_lake) == tables(reference)


def test_a_duplicate_s3_event_transforms_the_run_once_over(
    env, account_lake, clock, reference, app_client
):
    record = extract(env, clock)
    before = raw_files(account_lake)
    event = app_client.events.generate_s3_event(
        bucket="local", key=account_lake.key(record.manifest)
    )
    for _ in range(3):
        response = app_client.lambda_.invoke("on_manifest", event)
        assert response.payload["status"] == "transformed"
    assert_raw_kept(before, account_lake)
    assert raw_files(account_lake) == before
    assert tables(account_lake) == tables(reference)
    assert_no_duplicates(account_lake)


def two_runs_of_a_day(env, account_lake, clock):
    """Two extract runs of one day, neither transformed yet: their run records."""
    morning = extract(env, clock)
    clock.moment += timedelta(hours=6)
    evening = extract(env, clock)
    return morning, evening


def copy_of(account_lake, folder) -> AccountLake:
    """A copy of the whole lake, seen as the same account."""
    shutil.copytree(account_lake.base.root, folder)
    return AccountLake(LocalLake(folder), account_lake.account)


def test_s3_events_out_of_order_leave_the_newer_snapshot_and_the_same_tables(
    env, account_lake, clock, tmp_path
):
    morning, evening = two_runs_of_a_day(env, account_lake, clock)
    in_order = copy_of(account_lake, tmp_path / "in-order")
    newest = transform_run(account_lake, evening.manifest, now=clock.now)
    oldest = transform_run(account_lake, morning.manifest, now=clock.now)
    assert (newest["snapshot"], oldest["snapshot"]) == ("applied", "superseded")
    for record in (morning, evening):
        transform_run(in_order, record.manifest, now=clock.now)
    assert tables(account_lake) == tables(in_order)
    assert_no_duplicates(account_lake)


def test_two_extract_runs_on_one_day_keep_the_later_snapshot_and_every_play_once(
    env, account_lake, clock, emulator, tmp_path
):
    run(env, account_lake, clock)
    clock.moment += timedelta(hours=12)
    later = run(env, account_lake, clock)
    assert later.status == "transformed" and later.transform["snapshot"] == "applied"
    fresh = AccountLake(LocalLake(tmp_path / "fresh"), account_lake.account)
    run({**env, "LAKE_URI": str(fresh.base.root)}, fresh, clock)
    ours, theirs = tables(account_lake), tables(fresh)
    for name in SNAPSHOT_TABLES:
        key = TABLES[name].partition_key(DAY)
        assert ours[key] == theirs[key], name
    for key, rows in theirs.items():  # the day's catalog and plays hold at least as much
        assert {repr(row) for row in rows} <= {repr(row) for row in ours[key]}, key
    assert_no_duplicates(account_lake)


class Racing:
    """A real lake whose first write to `meet_at` waits until every racer has read it, so
    all but one of the racing transforms lose the conditional write and must merge again."""

    def __init__(self, lake, barrier: threading.Barrier, meet_at: str):
        self._lake, self._barrier, self._meet_at = lake, barrier, meet_at

    def put(self, key: str, data: bytes, **conditions) -> str:
        if key == self._meet_at and self._barrier is not None:
            self._barrier, barrier = None, self._barrier
            barrier.wait(timeout=30)
        return self._lake.put(key, data, **conditions)

    def __getattr__(self, name: str):
        return getattr(self._lake, name)


def test_transforms_racing_on_the_same_partitions_lose_no_row_and_double_none(
    env, account_lake, clock, tmp_path
):
    morning, evening = two_runs_of_a_day(env, account_lake, clock)
    one_by_one = copy_of(account_lake, tmp_path / "one-by-one")
    for record in (morning, evening):
        transform_run(one_by_one, record.manifest, now=clock.now)
    before = raw_files(account_lake)
    plays = sorted(key for key in tables(one_by_one) if key.startswith("processed/plays/"))[-1]
    racers = [morning, evening, morning]  # a replay racing the two live events
    barrier = threading.Barrier(len(racers))
    with ThreadPoolExecutor(len(racers)) as pool:
        summaries = list(
            pool.map(
                lambda record: transform_run(
                    Racing(account_lake, barrier, plays), record.manifest, now=clock.now
                ),
                racers,
            )
        )
    assert {summary["status"] for summary in summaries} == {"transformed"}
    assert raw_files(account_lake) == before
    assert tables(account_lake) == tables(one_by_one)
    assert_no_duplicates(account_lake)


def test_replaying_a_run_through_the_api_gives_the_same_tables(
    env, account_lake, clock, reference, app_client
):
    record = run(env, account_lake, clock)
    response = app_client.http.post(f"/runs/{record.run_id}/transform")
    assert response.status_code == 202 and response.json_body["status"] == "transformed"
    assert tables(account_lake) == tables(reference)
    assert_no_duplicates(account_lake)
    assert pipeline.manifest_of_run(Settings.from_env(env), record.run_id)


BEFORE_MIDNIGHT = datetime(2026, 11, 20, 23, 59, 58, tzinfo=UTC)


def test_a_run_queued_before_midnight_and_started_after_it_is_replayed_by_its_id(
    env, account_lake, clock
):
    settings = replace(Settings.from_env(env), extract_function="fn")
    client = boto3.client("lambda", region_name="us-east-1")
    with Stubber(client) as stub:
        stub.add_response("invoke", {"StatusCode": 202})
        clock.moment = BEFORE_MIDNIGHT
        [queued] = pipeline.queue_run(
            settings, account=account_lake.account, functions=Functions(client), now=clock.now
        )
    clock.moment += timedelta(seconds=3)  # the extract function starts at 00:00:01
    record = run(env, account_lake, clock, run_id=queued.run_id)
    assert record.status == "transformed" and record.snapshot_date == DAY
    assert record.manifest == raw.manifest_key(DAY, queued.run_id)
    once = tables(account_lake)
    assert pipeline.replay(settings, queued.run_id, now=clock.now)["status"] == "transformed"
    assert tables(account_lake) == once
    assert TABLES["playlists"].partition_key(DAY) in once
    assert_no_duplicates(account_lake)


def test_a_cli_run_that_ends_after_midnight_is_replayed_by_its_id(env, account_lake, clock, capsys):
    clock.moment = BEFORE_MIDNIGHT
    record = run(env, account_lake, clock, progress=lambda part: clock.sleep(1))  # a second a page
    assert clock.now().date().isoformat() > DAY
    assert record.manifest == raw.manifest_key(DAY, record.run_id)
    once = tables(account_lake)
    capsys.readouterr()
    assert main(["transform", "--run", record.run_id]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"run {record.run_id}: transformed"
    assert tables(account_lake) == once
    assert_no_duplicates(account_lake)
