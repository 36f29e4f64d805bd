"""Run records: one JSON document per run under `runs/`, never holding a secret.

A record's `status` says how the run as a whole stands: queued -> running -> extracted ->
transformed for a run that got everything (queued only when POST /runs hands the extract to
the extract function in AWS; a run started in place begins running); `partial` once its
extract was cut short (transformed or not: what it fetched is in the tables, the next run
fetches the rest); `failed` when a step failed, with the reason in `errors`. Each step also
keeps its own outcome: `extract` (extracted, partial or failed) and `transform.status`
(transformed or failed). Every one of these is a `Status`.

A record is a `RunRecord`, made by `RunRecord.started` or `RunRecord.queued` and moved along
by its methods; `to_json` and `from_json` are the document in `runs/`, in the shape every
version of the pipeline has written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from chalicelib.errors import NotFoundError, ValidationError
from chalicelib.lake import Lake, get_json, put_json
from chalicelib.raw import MANIFEST_PARTIAL, Manifest, check_run_id, iso_utc

RUNS = "runs/"


class Status(StrEnum):
    """Every status a run record holds: the run's, its extract's and its transform's."""

    QUEUED = "queued"
    RUNNING = "running"
    EXTRACTED = "extracted"
    PARTIAL = "partial"
    TRANSFORMED = "transformed"
    FAILED = "failed"


# The times the record of a started or queued run always holds, null until they come.
TIMES = ("started_at", "finished_at")


def status_after_transform(extract: Status | None, transformed: bool) -> Status:
    """A run's status once its transform ended: partial stays partial."""
    if not transformed:
        return Status.FAILED
    return Status.PARTIAL if extract == Status.PARTIAL else Status.TRANSFORMED


@dataclass(kw_only=True)
class RunRecord:
    """One run's record. A field left None is a key the document does not hold (a run the
    transform found no record of holds only run_id, status, errors and transform), except
    TIMES, which a started or queued run's record (one with a kind) holds even when null."""

    run_id: str
    kind: str | None = None
    status: Status
    streams: list[str] | None = None
    snapshot_date: str | None = None
    queued_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    counts: dict[str, Any] | None = None
    errors: list[str] | None = None
    extract: Status | None = None
    manifest: str | None = None
    withheld_playlists: list[str] | None = None
    # The transform's outcome: status, finished_at, errors and snapshot, with rows and
    # null_entries when it transformed, quarantine when its input was bad, or only status
    # and error when the lake failed under it.
    transform: dict[str, Any] | None = None

    @classmethod
    def started(cls, run_id: str, kind: str, streams: Sequence[str], moment: datetime) -> RunRecord:
        """The record of an extract starting at `moment`: running, nothing counted yet."""
        return cls._new(run_id, kind, streams, moment, Status.RUNNING, started_at=iso_utc(moment))

    @classmethod
    def queued(cls, run_id: str, kind: str, streams: Sequence[str], moment: datetime) -> RunRecord:
        """The record of a run handed at `moment` to the extract function, which starts it
        later (and then writes its record anew, from `started`)."""
        return cls._new(run_id, kind, streams, moment, Status.QUEUED, queued_at=iso_utc(moment))

    @classmethod
    def landed(cls, run_id: str) -> RunRecord:
        """A record for a run whose manifest landed but whose extract left no record (its
        write failed, or the run was written by other means): extracted, as its data landed,
        and holding nothing else until the transform records its outcome."""
        return cls(run_id=run_id, status=Status.EXTRACTED)

    @classmethod
    def _new(
        cls,
        run_id: str,
        kind: str,
        streams: Sequence[str],
        moment: datetime,
        status: Status,
        **times: str,
    ) -> RunRecord:
        """The record of a run not under way yet: of its kind and streams, nothing counted."""
        return cls(
            run_id=run_id,
            kind=kind,
            status=status,
            streams=list(streams),
            snapshot_date=moment.astimezone(UTC).date().isoformat(),
            counts={},
            errors=[],
            **times,
        )

    def failed(self, message: str, moment: datetime) -> None:
        """The extract failed at `moment` (or could not be started): so did the run."""
        self.status = self.extract = Status.FAILED
        self.finished_at = iso_utc(moment)
        self.errors = [message]

    def extracted(self, manifest: Manifest, counts: dict[str, Any], errors: list[str]) -> None:
        """The extract wrote `manifest`: partial when the manifest says it was cut short."""
        cut_short = manifest.status == MANIFEST_PARTIAL
        self.status = self.extract = Status.PARTIAL if cut_short else Status.EXTRACTED
        self.finished_at = manifest.finished_at
        self.counts = dict(counts)
        self.errors = list(errors)
        self.manifest = manifest.key
        self.withheld_playlists = list(manifest.withheld_playlists)

    def transform_ended(self, outcome: dict[str, Any], errors: list[str]) -> None:
        """The transform ended with `outcome` (its status and what it did) and `errors`: they
        replace an earlier transform's, the extract's errors stay, and the run's status follows
        both steps (a partial extract stays partial)."""
        earlier = set((self.transform or {}).get("errors", []))
        kept = [error for error in self.errors or [] if error not in earlier]
        self.transform = {**outcome, "errors": list(errors)}
        self.errors = kept + list(errors)
        self.status = status_after_transform(self.extract, outcome["status"] == Status.TRANSFORMED)

    def transform_interrupted(self, error: str) -> None:
        """The lake failed under the transform; Lambda retries the S3 event, whose transform
        then records its own outcome. The errors are left as they are until then."""
        self.status = Status.FAILED
        self.transform = {"status": Status.FAILED, "error": f"{error}; the S3 event is retried"}

    @property
    def transform_status(self) -> str | None:
        """How the transform ended, if one did."""
        return (self.transform or {}).get("status")

    def to_json(self) -> dict[str, Any]:
        """The record as stored in runs/ and answered by GET /runs: plain JSON values."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {
            name: _plain(value)
            for name, value in values.items()
            if value is not None or self._holds_null(name)
        }

    def _holds_null(self, name: str) -> bool:
        """Whether the document holds this key even when it is null (see the class)."""
        return name in TIMES and self.kind is not None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunRecord:
        """A stored record, whichever version wrote it; keys no record has are ignored."""
        known = {f.name for f in fields(cls)}
        values = {name: _plain(value) for name, value in data.items() if name in known}
        values["status"] = Status(values["status"])
        if values.get("extract") is not None:
            values["extract"] = Status(values["extract"])
        return cls(**values)


def _plain(value: Any) -> Any:
    """A copy of a record's value in plain JSON types: a Status as its text."""
    if isinstance(value, Status):
        return value.value
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


class RunStore:
    """Reads and writes run records in the lake."""

    def __init__(self, lake: Lake):
        self._lake = lake

    def save(self, record: RunRecord) -> None:
        put_json(self._lake, self._key(record.run_id), record.to_json())

    def get(self, run_id: str) -> RunRecord:
        key = self._key(check_run_id(run_id))
        if not self._lake.exists(key):
            raise NotFoundError(
                f"no run {run_id}; `spotify-etl runs` or GET /runs lists the recent ones"
            )
        return RunRecord.from_json(get_json(self._lake, key))

    def of_landed_run(self, run_id: str) -> RunRecord:
        """The record of a run whose manifest landed, for its transform to fill in; a new one
        where the extract left none (or the run's ID is not one new_run_id makes)."""
        try:
            return self.get(run_id)
        except (NotFoundError, ValidationError):
            return RunRecord.landed(run_id)

    def recent(self, limit: int = 20) -> list[RunRecord]:
        """The newest records first."""
        keys = sorted((k for k in self._lake.list(RUNS) if k.endswith(".json")), reverse=True)
        return [RunRecord.from_json(get_json(self._lake, key)) for key in keys[:limit]]

    @staticmethod
    def _key(run_id: str) -> str:
        return f"{RUNS}{run_id}.json"
