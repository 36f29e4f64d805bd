"""Runs handed to our other Lambda functions, invoked asynchronously: in AWS the API must
answer within 29 s, and an extract may take 15 minutes, a transform minutes. `events` checks
what they receive."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chalicelib import raw
from chalicelib.errors import ConfigError, PipelineError
from chalicelib.functions import Functions
from chalicelib.pipeline.credentials import check_credentials
from chalicelib.pipeline.run import lake_for, manifest_of_run
from chalicelib.runs import RunRecord, RunStore, Status
from chalicelib.settings import Settings
from chalicelib.streams import of_kind


def queue_run(
    settings: Settings,
    *,
    kind: str = raw.SNAPSHOT,
    streams: tuple[str, ...] | None = None,
    functions: Functions | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RunRecord:
    """Record a run as queued and invoke the extract function asynchronously; refused, with no
    record, where no credentials are configured."""
    check_credentials(settings)
    function = _function(settings.extract_function, "EXTRACT_FUNCTION", "extract")
    started = now()
    streams = streams or of_kind(kind)
    record = RunRecord.queued(raw.new_run_id(started), kind, streams, started)
    store = RunStore(lake_for(settings))
    store.save(record)
    payload = {"run_id": record.run_id, "kind": kind, "streams": list(streams)}
    try:
        (functions or Functions()).start(function, payload)
    except PipelineError as error:
        record.failed(str(error), now())
        store.save(record)
        raise
    return record


def queue_replay(
    settings: Settings, run_id: str, *, functions: Functions | None = None
) -> dict[str, Any]:
    """Replay a run's transform in the replay function, invoked with {run_id}; the run record
    says when it is done."""
    function = _function(settings.replay_function, "REPLAY_FUNCTION", "replay")
    manifest_of_run(settings, run_id)  # a 404 now rather than a failure in the function
    (functions or Functions()).start(function, {"run_id": run_id})
    return {"run_id": run_id, "status": Status.QUEUED}


def _function(name: str | None, variable: str, what: str) -> str:
    if not name:
        raise ConfigError(f"{variable} is not set: the {what} function's name, per stage")
    return name
