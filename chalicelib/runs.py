"""Run records: one JSON document per run under `runs/`, never holding a secret.

A record's `status` says how the run as a whole stands: queued -> running -> extracted ->
transformed for a run that got everything; `partial` once its extract was cut short
(transformed or not: what it fetched is in the tables, the next run fetches the rest);
`failed` when a step failed, with the reason in `errors`. Each step also keeps its own
outcome: `extract` (extracted, partial or failed) and `transform.status` (transformed or
failed).
"""

from __future__ import annotations

from typing import Any

from chalicelib.errors import NotFoundError
from chalicelib.lake import Lake, get_json, put_json
from chalicelib.raw import check_run_id

RUNS = "runs/"

RUNNING = "running"
EXTRACTED = "extracted"
PARTIAL = "partial"
TRANSFORMED = "transformed"
FAILED = "failed"


def status_after_transform(extract: str | None, transformed: bool) -> str:
    """A run's status once its transform ended: partial stays partial."""
    if not transformed:
        return FAILED
    return PARTIAL if extract == PARTIAL else TRANSFORMED


class RunStore:
    """Reads and writes run records in the lake."""

    def __init__(self, lake: Lake):
        self._lake = lake

    def save(self, record: dict[str, Any]) -> None:
        put_json(self._lake, self._key(record["run_id"]), record)

    def get(self, run_id: str) -> dict[str, Any]:
        key = self._key(check_run_id(run_id))
        if not self._lake.exists(key):
            raise NotFoundError(
                f"no run {run_id}; `spotify-etl runs` or GET /runs lists the recent ones"
            )
        return get_json(self._lake, key)

    def update(self, run_id: str, **fields: Any) -> dict[str, Any]:
        """Merge fields into a record, creating it if the extract left none."""
        key = self._key(run_id)
        record = get_json(self._lake, key) if self._lake.exists(key) else {"run_id": run_id}
        record.update(fields)
        self.save(record)
        return record

    def recent(self, limit: int = 20) -> list[dict[str, Any]]:
        """The newest records first."""
        keys = sorted((k for k in self._lake.list(RUNS) if k.endswith(".json")), reverse=True)
        return [get_json(self._lake, key) for key in keys[:limit]]

    @staticmethod
    def _key(run_id: str) -> str:
        return f"{RUNS}{run_id}.json"
