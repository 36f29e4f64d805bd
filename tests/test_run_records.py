"""Run records: one RunRecord made by its own lifecycle, one Status vocabulary, and the JSON
every version of the pipeline wrote to runs/, read back and written again unchanged."""

from __future__ import annotations

import gzip
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from chalicelib import pipeline, raw
from chalicelib.errors import AuthError, PipelineError
from chalicelib.lake import get_json
from chalicelib.runs import KEPT_RECENT, RunRecord, RunStore, Status
from chalicelib.settings import Settings

RUN = "20261126T135200Z-3f9a1c"
STARTED = datetime(2026, 11, 26, 13, 52, tzinfo=UTC)
ENDED = STARTED + timedelta(minutes=3)
STREAMS = ["playlists", "plays", "top", "saved"]
MANIFEST = f"raw/2026-11-26/{RUN}/manifest.json"
EXTRACT_ERROR = "playlist pl9: 403 Forbidden, stored as metadata only"
BAD_PART = f"raw/2026-11-26/{RUN}/tracks/t7.json.gz: missing"
LAKE_ERROR = "S3 put_object on processed/plays failed: InternalError"

# Every shape of record the previous version wrote, each key in the order it wrote them.
OLD_QUEUED = {
    "run_id": RUN,
    "kind": "snapshot",
    "status": "queued",
    "streams": STREAMS,
    "snapshot_date": "2026-11-26",
    "queued_at": "2026-11-26T13:52:00Z",
    "started_at": None,
    "finished_at": None,
    "counts": {},
    "errors": [],
}
OLD_QUEUE_FAILED = {
    **OLD_QUEUED,
    "status": "failed",
    "finished_at": "2026-11-26T13:55:00Z",
    "errors": ["could not start fn: Function not found"],
    "extract": "failed",
}
OLD_RUNNING = {
    "run_id": RUN,
    "kind": "snapshot",
    "status": "running",
    "streams": STREAMS,
    "snapshot_date": "2026-11-26",
    "started_at": "2026-11-26T13:52:00Z",
    "finished_at": None,
    "counts": {},
    "errors": [],
}
OLD_FAILED = {
    **OLD_RUNNING,
    "status": "failed",
    "finished_at": "2026-11-26T13:55:00Z",
    "errors": ["the refresh token is revoked or expired: run `spotify-etl auth` again"],
    "extract": "failed",
}
OLD_EXTRACTED = {
    **OLD_RUNNING,
    "status": "extracted",
    "finished_at": "2026-11-26T13:55:00Z",
    "counts": {"me": 1, "requests": 40},
    "errors": [EXTRACT_ERROR],
    "extract": "extracted",
    "manifest": MANIFEST,
    "withheld_playlists": ["pl9"],
}
TRANSFORMED = {
    "status": "transformed",
    "finished_at": "2026-11-26T13:56:00Z",
    "rows": {"playlists": 3},
    "null_entries": 0,
    "snapshot": "applied",
    "errors": [],
}
OLD_TRANSFORMED = {**OLD_EXTRACTED, "status": "transformed", "transform": TRANSFORMED}
QUARANTINED = {
    "status": "failed",
    "finished_at": "2026-11-26T13:56:00Z",
    "quarantine": f"quarantine/{RUN}/",
    "snapshot": "none",
    "errors": [BAD_PART],
}
OLD_QUARANTINED = {
    **OLD_EXTRACTED,
    "status": "failed",
    "errors": [EXTRACT_ERROR, BAD_PART],
    "transform": QUARANTINED,
}
LAKE_FAILED = {"status": "failed", "error": f"{LAKE_ERROR}; the S3 event is retried"}
OLD_LAKE_FAILED = {**OLD_EXTRACTED, "status": "failed", "transform": LAKE_FAILED}
# What RunStore.update made of a run it found no record of.
OLD_MINIMAL = {"run_id": RUN, "status": "failed", "transform": LAKE_FAILED}
OLD_MINIMAL_TRANSFORMED = {
    "run_id": RUN,
    "status": "transformed",
    "transform": TRANSFORMED,
    "errors": [],
}
OLD_RECORDS = {
    "queued": OLD_QUEUED,
    "queue failed": OLD_QUEUE_FAILED,
    "running": OLD_RUNNING,
    "failed": OLD_FAILED,
    "extracted": OLD_EXTRACTED,
    "transformed": OLD_TRANSFORMED,
    "quarantined": OLD_QUARANTINED,
    "lake failed": OLD_LAKE_FAILED,
    "minimal": OLD_MINIMAL,
    "minimal transformed": OLD_MINIMAL_TRANSFORMED,
}
STATUSES = {status.value for status in Status}


def outcome(stored: dict) -> dict:
    """A transform's outcome as the transform hands it over: without its errors."""
    return {key: value for key, value in stored.items() if key != "errors"}


def extracted_record() -> RunRecord:
    record = RunRecord.started(RUN, "snapshot", STREAMS, STARTED)
    manifest = raw.Manifest(
        RUN, "snapshot", "2026-11-26", "2026-11-26T13:52:00Z", "2026-11-26T13:55:00Z"
    )
    manifest.withheld_playlists = ["pl9"]
    record.extracted(manifest, {"me": 1, "requests": 40}, [EXTRACT_ERROR])
    return record


@pytest.mark.parametrize("stored", OLD_RECORDS.values(), ids=OLD_RECORDS.keys())
def test_a_record_the_previous_version_wrote_reads_and_writes_back_unchanged(stored):
    assert RunRecord.from_json(stored).to_json() == stored


def test_an_old_minimal_record_reads_as_only_what_it_holds_and_unknown_keys_are_ignored():
    record = RunRecord.from_json({**OLD_MINIMAL, "retries": 2})
    assert record.status is Status.FAILED and record.transform_status == "failed"
    assert (record.kind, record.errors, record.extract, record.started_at) == (None,) * 4
    assert record.to_json() == OLD_MINIMAL
    record.transform_ended(outcome(TRANSFORMED), [])
    assert record.to_json() == OLD_MINIMAL_TRANSFORMED


def test_the_lifecycle_of_a_queued_run_writes_the_previous_versions_records():
    record = RunRecord.queued(RUN, "snapshot", STREAMS, STARTED)
    assert record.to_json() == OLD_QUEUED
    record.failed("could not start fn: Function not found", ENDED)
    assert record.to_json() == OLD_QUEUE_FAILED


def test_the_lifecycle_of_an_extract_writes_the_previous_versions_records():
    record = RunRecord.started(RUN, "snapshot", STREAMS, STARTED)
    assert record.to_json() == OLD_RUNNING
    record.failed(OLD_FAILED["errors"][0], ENDED)
    assert record.to_json() == OLD_FAILED
    assert extracted_record().to_json() == OLD_EXTRACTED


def test_a_manifest_cut_short_makes_the_run_partial_and_it_stays_partial_once_transformed():
    record = RunRecord.started(RUN, "snapshot", STREAMS, STARTED)
    manifest = raw.Manifest(RUN, "snapshot", "2026-11-26", "2026-11-26T13:52:00Z")
    manifest.status = raw.MANIFEST_PARTIAL
    record.extracted(manifest, {}, ["out of time"])
    assert (record.status, record.extract) == (Status.PARTIAL, Status.PARTIAL)
    record.transform_ended(outcome(TRANSFORMED), [])
    assert (record.status, record.transform_status) == (Status.PARTIAL, Status.TRANSFORMED)


def test_the_transforms_outcomes_write_the_previous_versions_records():
    record = extracted_record()
    record.transform_ended(outcome(QUARANTINED), [BAD_PART])
    assert record.to_json() == OLD_QUARANTINED
    record.transform_ended(outcome(TRANSFORMED), [])
    assert record.to_json() == OLD_TRANSFORMED  # the bad part's error went, the extract's stayed
    record.transform_interrupted(LAKE_ERROR)
    assert record.to_json() == {**OLD_TRANSFORMED, "status": "failed", "transform": LAKE_FAILED}
    failed_on_lake = extracted_record()
    failed_on_lake.transform_interrupted(LAKE_ERROR)
    assert failed_on_lake.to_json() == OLD_LAKE_FAILED


def test_a_run_the_transform_finds_no_record_of_gets_the_previous_versions_minimal_record(lake):
    store = RunStore(lake)
    record = store.of_landed_run(RUN)
    record.transform_interrupted(LAKE_ERROR)
    store.save(record)
    assert get_json(lake, f"runs/{RUN}.json") == OLD_MINIMAL
    again = store.of_landed_run(RUN)
    again.transform_ended(outcome(TRANSFORMED), [])
    assert again.to_json() == OLD_MINIMAL_TRANSFORMED


class Invoked:
    """Functions in place of Lambda: remembers each start, or refuses it."""

    def __init__(self, refusal: PipelineError | None = None):
        self.refusal = refusal
        self.started: list[tuple[str, dict]] = []

    def start(self, function: str, payload: dict) -> None:
        if self.refusal:
            raise self.refusal
        self.started.append((function, payload))


def test_the_records_the_pipeline_writes_hold_only_status_values_and_read_back_as_stored(
    env, account_lake, listener, emulator
):
    """Every record holds the keys a record of its kind always held, and its account."""
    settings = Settings.from_env({**env, "EXTRACT_FUNCTION": "fn"})
    mine = {"kind": raw.PLAYS_ONLY, "account": listener}
    [queued] = pipeline.queue_run(settings, functions=Invoked(), **mine)
    refused = Invoked(PipelineError("could not start fn: Function not found"))
    with pytest.raises(PipelineError):
        pipeline.queue_run(settings, functions=refused, **mine)
    extracted = pipeline.extract(settings, kind=raw.PLAYS_ONLY, sleep=lambda _: None)
    transformed = pipeline.extract_and_transform(settings, streams=("saved",))
    partial = pipeline.extract_and_transform(settings, remaining=lambda: 0.0)
    emulator.revoke_refresh_token()
    with pytest.raises(AuthError):
        pipeline.extract(settings, sleep=lambda _: None)
    records = {
        get_json(account_lake, key)["run_id"]: get_json(account_lake, key)
        for key in account_lake.list("runs/")
    }
    assert len(records) == 6
    assert {stored["account"] for stored in records.values()} == {listener}
    for stored in records.values():
        steps = (stored["status"], stored.get("extract"), stored.get("transform", {}).get("status"))
        assert set(steps) - {None} <= STATUSES
        assert RunRecord.from_json(stored).to_json() == stored
    statuses = {stored["status"] for stored in records.values()}
    assert statuses == {"queued", "failed", "extracted", "transformed", "partial"}
    shapes = [
        (queued, OLD_QUEUED),
        (extracted, OLD_EXTRACTED),
        (transformed, OLD_TRANSFORMED),
        (partial, OLD_TRANSFORMED),
    ]
    for record, old in shapes:
        assert list(records[record.run_id]) == with_account(old)
    failures = [r for r in records.values() if r["status"] == "failed"]
    assert sorted(list(r) for r in failures) == sorted(
        [with_account(OLD_QUEUE_FAILED), with_account(OLD_FAILED)]
    )
    assert (partial.status, partial.transform_status) == (Status.PARTIAL, Status.TRANSFORMED)


def test_the_api_answers_a_record_as_it_is_stored(app_client, account_lake, listener):
    headers = {"Content-Type": "application/json"}
    response = app_client.http.post("/runs", headers=headers, body="{}")
    run_id = response.json_body["run_id"]
    stored = get_json(account_lake, f"runs/{run_id}.json")
    started = {"run_id": run_id, "account": listener, "status": stored["status"]}
    assert response.json_body == {**started, "runs": [started]}
    assert app_client.http.get(f"/runs/{run_id}").json_body == stored
    assert app_client.http.get("/runs").json_body == {"account": listener, "runs": [stored]}


def test_a_quarantined_transform_records_status_values_only(env, account_lake):
    record = pipeline.extract(Settings.from_env(env), streams=("saved",), sleep=lambda _: None)
    manifest = raw.Manifest.from_json(get_json(account_lake, record.manifest))
    account_lake.put(manifest.parts[0].key, gzip.compress(b"{not json"))
    summary = pipeline.transform(Settings.from_env(env), account_lake.key(record.manifest))
    stored = get_json(account_lake, f"runs/{record.run_id}.json")
    assert (summary["status"], stored["status"], stored["transform"]["status"]) == ("failed",) * 3
    assert stored["extract"] in STATUSES and stored["transform"]["quarantine"]
    assert list(stored) == with_account(OLD_QUARANTINED)
    assert RunRecord.from_json(stored).to_json() == stored


def with_account(old: dict) -> list[str]:
    """The keys of a record of that shape, its account beside its run ID."""
    keys = list(old)
    return [keys[0], "account", *keys[1:]]


def record_of(moment: datetime) -> RunRecord:
    return RunRecord.started(raw.new_run_id(moment), "plays", ["plays"], moment)


def s3_calls(s3) -> list[str]:
    """The S3 operations the client makes from now on, by name."""
    called: list[str] = []
    s3.meta.events.register("before-call.s3", lambda model, **_: called.append(model.name))
    return called


def test_the_newest_runs_cost_the_same_requests_however_many_records_the_lake_holds(
    s3, s3_lake
):
    """Records written before the index are listed once, by the first reader, which writes
    the index; from then on the newest N are the index and N records, without a listing."""
    start = datetime(2023, 1, 1, tzinfo=UTC)
    for index in range(450):  # records a version without the index wrote
        record = record_of(start + timedelta(hours=index))
        s3_lake.put(f"runs/{record.run_id}.json", orjson.dumps(record.to_json()))
    store = RunStore(s3_lake)
    listed = sorted(s3_lake.list("runs/"), reverse=True)

    first = store.recent(20)
    called = s3_calls(s3)
    again = store.recent(20)

    expected = [key.removeprefix("runs/").removesuffix(".json") for key in listed[:20]]
    assert [record.run_id for record in first] == expected
    assert [record.run_id for record in again] == expected
    assert called == ["GetObject"] * 21

    newer = record_of(start + timedelta(days=400))
    store.save(newer)
    called.clear()
    assert [record.run_id for record in store.recent(3)] == [newer.run_id, *expected[:2]]
    assert called == ["GetObject"] * 4


def test_the_index_keeps_the_newest_runs_and_every_record_stays(lake):
    store = RunStore(lake)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    store.recent()  # a new lake: its (empty) index is made
    records = [record_of(start + timedelta(minutes=30 * index)) for index in range(230)]
    for record in reversed(records[:5]):  # an old run's record saved last: not among the newest
        records.append(records.pop(records.index(record)))
    for record in records:
        store.save(record)
    newest = sorted((record.run_id for record in records), reverse=True)
    assert [record.run_id for record in store.recent(200)] == newest[:KEPT_RECENT]
    assert len(list(lake.list("runs/"))) == 230
    assert store.get(newest[-1]).run_id == newest[-1]


def test_two_stores_saving_at_once_both_enter_the_index(lake):
    """Saves write the index conditionally: a save that lost the race reads it again."""
    first, second = RunStore(lake), RunStore(lake)
    first.recent()
    moment = datetime(2026, 3, 1, tzinfo=UTC)
    runs = [record_of(moment + timedelta(seconds=index)) for index in range(40)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        pairs = zip([first, second] * 20, runs, strict=True)
        list(pool.map(lambda pair: pair[0].save(pair[1]), pairs))
    assert {record.run_id for record in first.recent(200)} == {r.run_id for r in runs}


def test_a_transform_that_saved_before_the_extract_keeps_its_outcome_and_both_errors(
    either_lake,
):
    extract_store, transform_store = RunStore(either_lake), RunStore(either_lake)
    running = RunRecord.started(RUN, "snapshot", STREAMS, STARTED)
    extract_store.save(running)
    early = transform_store.of_landed_run(RUN)  # the manifest landed before the record
    early.transform_ended(outcome(QUARANTINED), [BAD_PART])
    transform_store.save(early)
    extract_store.save(extracted_record())
    assert RunStore(either_lake).get(RUN).to_json() == OLD_QUARANTINED


def test_an_extract_that_saved_while_the_transform_ran_keeps_its_outcome_and_the_transforms(
    either_lake,
):
    extract_store, transform_store = RunStore(either_lake), RunStore(either_lake)
    extract_store.save(RunRecord.started(RUN, "snapshot", STREAMS, STARTED))
    late = transform_store.of_landed_run(RUN)  # read while the extract still ran
    record = RunRecord.started(RUN, "snapshot", STREAMS, STARTED)
    cut_short = raw.Manifest(RUN, "snapshot", "2026-11-26", "", "", raw.MANIFEST_PARTIAL)
    record.extracted(cut_short, {}, [])
    extract_store.save(record)
    late.transform_ended(outcome(TRANSFORMED), [])
    transform_store.save(late)
    stored = RunStore(either_lake).get(RUN)
    assert (stored.status, stored.extract) == (Status.PARTIAL, Status.PARTIAL)
    assert stored.transform == TRANSFORMED


def test_a_transform_finding_no_record_keeps_the_extracts_when_it_lands_first(either_lake):
    transform_store = RunStore(either_lake)
    landed = transform_store.of_landed_run(RUN)
    RunStore(either_lake).save(extracted_record())
    landed.transform_ended(outcome(TRANSFORMED), [])
    transform_store.save(landed)
    assert RunStore(either_lake).get(RUN).to_json() == OLD_TRANSFORMED
