"""Run records: one JSON document per run under `runs/`, never holding a secret.

A record's `status` says how the run as a whole stands: queued -> running -> extracted ->
transformed for a run that got everything (queued only when POST /runs hands the extract to
the extract function in AWS; a run started in place begins running); `partial` once its
extract was cut short (transformed or not: what it fetched is in the tables, the next run
fetches the rest); `failed` when a step failed, with the reason in `errors`. Each step also
keeps its own outcome: `extract` (extracted, partial or failed) and `transform.status`
(transformed or failed). An extract that found another extract holding the lease
(chalicelib.lease) did nothing: its record says `skipped`, as run and extract, with the run
holding it in `errors`, and it has no manifest and no transform. Every one of these is a
`Status`.

A record is a `RunRecord`, made by `RunRecord.started` or `RunRecord.queued` and moved along
by its methods; `to_json` and `from_json` are the document in `runs/`, in the shape every
version of the pipeline has written.

A record is rewritten by more than one writer: the extract, then the transform the manifest
started (which may end first), a replay, an import. So `RunStore.save` writes over the version
its store read or last wrote only; where another writer got there since, it merges: each field
this store changed is its own, every other field the other writer's, the errors of both, and
the run's status follows both steps again (`status_after_transform`). No writer's step is
lost, whichever saves last.

Every record is kept. `state/runs/recent.json` lists the newest KEPT_RECENT run IDs, so the
newest runs are read without listing `runs/`, in time and requests independent of how many
records there are: each save adds its run there (a conditional write, as two runs may save
at once). A lake without the index yet (new, or written before there was one) has its runs
listed once, by the first `recent`, which writes the index.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from chalicelib.errors import ConflictError, NotFoundError, ValidationError
from chalicelib.lake import Lake, get_json, put_merging
from chalicelib.raw import (
    MANIFEST_PARTIAL,
    RUN_ID,
    Manifest,
    check_run_id,
    date_of_run,
    iso_utc,
)
from chalicelib.transform.commit import commit

RUNS = "runs/"
RECENT = "state/runs/recent.json"  # {"run_ids": the newest first}
KEPT_RECENT = 200  # the most GET /runs and `spotify-etl runs --limit` show


class Status(StrEnum):
    """Every status a run record holds: the run's, its extract's and its transform's."""

    QUEUED = "queued"
    RUNNING = "running"
    EXTRACTED = "extracted"
    PARTIAL = "partial"
    TRANSFORMED = "transformed"
    FAILED = "failed"
    SKIPPED = "skipped"


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
    account: str | None = None  # the Spotify user ID whose run it is (None: before accounts)
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
        return cls._new(run_id, kind, streams, Status.RUNNING, started_at=iso_utc(moment))

    @classmethod
    def queued(cls, run_id: str, kind: str, streams: Sequence[str], moment: datetime) -> RunRecord:
        """The record of a run handed at `moment` to the extract function, which starts it
        later (and then writes its record anew, from `started`)."""
        return cls._new(run_id, kind, streams, Status.QUEUED, queued_at=iso_utc(moment))

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
        status: Status,
        *,
        started_at: str | None = None,
        queued_at: str | None = None,
    ) -> RunRecord:
        """The record of a run not under way yet: of its kind and streams, nothing counted."""
        return cls(
            run_id=run_id,
            kind=kind,
            status=status,
            streams=list(streams),
            snapshot_date=date_of_run(run_id),
            counts={},
            errors=[],
            started_at=started_at,
            queued_at=queued_at,
        )

    def failed(self, message: str, moment: datetime) -> None:
        """The extract failed at `moment` (or could not be started): so did the run."""
        self.status = self.extract = Status.FAILED
        self.finished_at = iso_utc(moment)
        self.errors = [message]

    def skipped(self, message: str, moment: datetime) -> None:
        """Another extract held the lease: this one ended at `moment` having done nothing."""
        self.status = self.extract = Status.SKIPPED
        self.finished_at = iso_utc(moment)
        self.counts = {"requests": 0}
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


Document = dict[str, Any]


def _merged(base: Document, ours: Document, theirs: Document) -> Document:
    """Our changes to `base` applied over `theirs`, the errors of both, the status again."""
    merged = dict(theirs)
    for name in {*base, *ours}:
        if name in ours and ours[name] != base.get(name):
            merged[name] = ours[name]
        elif name not in ours:
            merged.pop(name, None)
    # The extract's errors first, then the transform's, as RunRecord.transform_ended keeps them.
    last = (merged.get("transform") or {}).get("errors") or []
    both = [*(theirs.get("errors") or []), *(ours.get("errors") or [])]
    merged["errors"] = [e for e in dict.fromkeys(both) if e not in last] + list(last)
    record = RunRecord.from_json(merged)
    if record.transform_status is not None and record.status != Status.SKIPPED:
        transformed = record.transform_status == Status.TRANSFORMED
        record.status = status_after_transform(record.extract, transformed)
    return record.to_json()


def _index(run_ids: list[str]) -> bytes:
    return orjson.dumps({"run_ids": run_ids})


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
        # Each record as this store read or last wrote it, with its version: what a save
        # writes over, and what it tells its own changes from another writer's by.
        self._seen: dict[str, tuple[Document, str]] = {}

    def save(self, record: RunRecord) -> None:
        """Write the record (merged with another writer's, if one saved since this store read
        it), and its run among the newest where it is one of them."""
        base, version = self._seen.get(record.run_id, ({}, None))
        ours = [base, record.to_json()]  # what this store last saw, and what it writes

        def merge(data: bytes | None) -> None:
            theirs = orjson.loads(data) if data else {}
            ours[:] = [theirs, _merged(ours[0], ours[1], theirs)]

        version = put_merging(
            self._lake, self._key(record.run_id), version, lambda: orjson.dumps(ours[1]), merge
        )
        self._seen[record.run_id] = (ours[1], version)
        commit(self._lake, [RECENT], lambda current: self._with(record.run_id, current[RECENT]))

    def get(self, run_id: str) -> RunRecord:
        key = self._key(check_run_id(run_id))
        try:
            document, version = self._read(key)
        except NotFoundError:
            raise NotFoundError(
                f"no run {run_id}; `spotify-etl runs` or GET /runs lists the recent ones"
            ) from None
        self._seen[run_id] = (document, version)
        return RunRecord.from_json(document)

    def _read(self, key: str) -> tuple[Document, str]:
        data, version = self._lake.get_versioned(key)
        return orjson.loads(data), version

    def of_landed_run(self, run_id: str) -> RunRecord:
        """The record of a run whose manifest landed, for its transform to fill in; a new one
        where the extract left none (or the run's ID is not one new_run_id makes)."""
        try:
            return self.get(run_id)
        except (NotFoundError, ValidationError):
            return RunRecord.landed(run_id)

    def recent(self, limit: int = 20) -> list[RunRecord]:
        """The newest records first (at most KEPT_RECENT)."""
        try:
            run_ids = orjson.loads(self._lake.get(RECENT))["run_ids"]
        except NotFoundError:
            run_ids = self._index_listed_runs()
        return [RunRecord.from_json(get_json(self._lake, self._key(i))) for i in run_ids[:limit]]

    def _index_listed_runs(self) -> list[str]:
        """The newest run IDs of a lake without an index yet (new, or written before there was
        one), listed once and written as its index, which every save then keeps."""
        names = (key.removeprefix(RUNS).removesuffix(".json") for key in self._lake.list(RUNS))
        run_ids = sorted((name for name in names if RUN_ID.match(name)), reverse=True)
        newest = run_ids[:KEPT_RECENT]
        with contextlib.suppress(ConflictError):  # another reader indexed them first
            self._lake.put(RECENT, _index(newest), if_none_match=True)
        return newest

    @staticmethod
    def _with(run_id: str, index: bytes | None) -> dict[str, bytes]:
        """The index with `run_id` among the newest; nothing to write where it is there, too
        old to be, or where there is no index yet (`recent` makes it from a listing)."""
        if index is None:
            return {}
        run_ids = orjson.loads(index)["run_ids"]
        if run_id in run_ids or (len(run_ids) >= KEPT_RECENT and run_id < run_ids[-1]):
            return {}
        return {RECENT: _index(sorted({*run_ids, run_id}, reverse=True)[:KEPT_RECENT])}

    @staticmethod
    def _key(run_id: str) -> str:
        return f"{RUNS}{run_id}.json"

    @staticmethod
    def key_of(run_id: str) -> str:
        """Where a run's record is, relative to its account's view of the lake."""
        return f"{RUNS}{check_run_id(run_id)}.json"
