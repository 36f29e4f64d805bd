"""Runs handed to our other Lambda functions, invoked asynchronously: in AWS the API must
answer within 29 s, and an extract may take 15 minutes, a transform minutes. `events` checks
what they receive."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from chalicelib import accounts, raw
from chalicelib.accounts import AccountLake, registered
from chalicelib.errors import ConfigError, PipelineError
from chalicelib.functions import Functions
from chalicelib.pipeline.credentials import check_credentials
from chalicelib.pipeline.run import account_of_run, lake_for, manifest_of_run
from chalicelib.runs import RunRecord, RunStore, Status
from chalicelib.settings import Settings
from chalicelib.streams import of_kind


def queue_run(
    settings: Settings,
    *,
    kind: str = raw.SNAPSHOT,
    streams: tuple[str, ...] | None = None,
    account: str | None = None,
    functions: Functions | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[RunRecord]:
    """Record a run of `account` as queued (without one: a run of each account the lake
    knows) and invoke the extract function asynchronously, which extracts them in turn
    (without an account, also those the secret holds that the lake does not know yet, under
    run IDs of their own); refused, with no record, where no credentials are configured."""
    check_credentials(settings)
    function = _function(settings.extract_function, "EXTRACT_FUNCTION", "extract")
    lake = lake_for(settings)
    targets = [accounts.check_account_id(account)] if account else list(registered(lake))
    streams = streams or of_kind(kind)
    records: list[RunRecord] = []
    for target in targets:
        started = now()
        record = RunRecord.queued(raw.new_run_id(started), kind, streams, started)
        record.account = target
        RunStore(AccountLake(lake, target)).save(record)
        records.append(record)
    payload = {
        "kind": kind,
        "streams": list(streams),
        "runs": [{"account": r.account, "run_id": r.run_id} for r in records],
        "every_account": account is None,
    }
    try:
        (functions or Functions()).start(function, payload)
    except PipelineError as error:
        for record in records:
            record.failed(str(error), now())
            RunStore(AccountLake(lake, str(record.account))).save(record)
        raise
    return records


def queue_replay(
    settings: Settings,
    run_id: str,
    *,
    account: str | None = None,
    functions: Functions | None = None,
) -> dict[str, Any]:
    """Replay a run's transform in the replay function, invoked with {run_id, account}; the
    run record says when it is done."""
    function = _function(settings.replay_function, "REPLAY_FUNCTION", "replay")
    owner = account_of_run(lake_for(settings), run_id, account)  # a 404 now, not later
    manifest_of_run(settings, run_id, owner)
    (functions or Functions()).start(function, {"run_id": run_id, "account": owner})
    return {"run_id": run_id, "account": owner, "status": Status.QUEUED}


def _function(name: str | None, variable: str, what: str) -> str:
    if not name:
        raise ConfigError(f"{variable} is not set: the {what} function's name, per stage")
    return name
