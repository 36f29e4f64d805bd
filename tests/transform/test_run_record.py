"""The run record after a transform: the extract's errors stay, the transform's are added
when it fails and go again once the run transforms after all."""

from __future__ import annotations

import gzip
import json

from chalicelib import raw
from chalicelib.runs import RunRecord, RunStore
from chalicelib.transform import transform_run

from .conftest import fixed_now, playlist, track

RUN = "20261126T100000Z-aaaaaa"
EXTRACT_ERROR = "playlist pl9: 403 Forbidden, stored as metadata only"


def extracted_record(lake) -> None:
    RunStore(lake).save(
        RunRecord.from_json({"run_id": RUN, "status": "partial", "errors": [EXTRACT_ERROR]})
    )


def run_missing_a_part(new_run):
    run = new_run(RUN).playlists(playlist("pl1"))
    late = run.folder + "tracks/t7.json.gz"
    run.manifest.parts.append(raw.Part(key=late, stream=raw.TRACKS))
    return run.finish(), late


def test_a_failed_transform_keeps_the_extracts_errors(lake, new_run):
    extracted_record(lake)
    key, late = run_missing_a_part(new_run)
    summary = transform_run(lake, key, now=fixed_now)
    record = RunStore(lake).get(RUN)
    assert record.status == "failed"
    assert record.errors == [EXTRACT_ERROR, *summary["errors"]]
    assert late in summary["errors"][0]
    assert record.transform["errors"] == summary["errors"]


def test_a_failed_transform_replayed_records_its_errors_once(lake, new_run):
    extracted_record(lake)
    key, _ = run_missing_a_part(new_run)
    first = transform_run(lake, key, now=fixed_now)
    transform_run(lake, key, now=fixed_now)
    assert RunStore(lake).get(RUN).errors == [EXTRACT_ERROR, *first["errors"]]


def test_a_run_transformed_after_all_keeps_only_the_extracts_errors(lake, new_run):
    extracted_record(lake)
    key, late = run_missing_a_part(new_run)
    transform_run(lake, key, now=fixed_now)
    lake.put(late, gzip.compress(json.dumps(track("t7")).encode()))
    transform_run(lake, key, now=fixed_now)
    record = RunStore(lake).get(RUN)
    assert (record.status, record.errors) == ("transformed", [EXTRACT_ERROR])
    assert record.transform["errors"] == []


def test_a_transform_keeps_the_rest_of_the_extracts_record(lake, new_run):
    extracted = {"run_id": RUN, "status": "extracted", "counts": {"me": 1}, "errors": []}
    RunStore(lake).save(RunRecord.from_json(extracted))
    transform_run(lake, new_run(RUN).playlists(playlist("pl1")).finish(), now=fixed_now)
    record = RunStore(lake).get(RUN)
    assert record.counts == {"me": 1} and record.errors == []
    assert record.transform["rows"]["playlists"] == 1
