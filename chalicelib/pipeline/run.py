"""Orchestrating runs: an extract, then (on a local lake) its transform; a transform, and
its replay. Each function takes a Settings object and builds the outside services it needs
(lake, Spotify client, run store) lazily, so importing this module costs nothing.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import raw
from chalicelib.errors import LakeError, NotFoundError, PipelineError
from chalicelib.lake import Lake, open_lake, open_lake_to_read
from chalicelib.lease import Lease, LeaseHeldError
from chalicelib.pipeline.credentials import (
    check_credentials,
    credentials_for,
    redact,
    store_refresh_token,
)
from chalicelib.runs import RunRecord, RunStore
from chalicelib.settings import Credentials, Settings
from chalicelib.streams import of_kind

log = logging.getLogger(__name__)


def lake_for(settings: Settings) -> Lake:
    """The lake to write to (a local one is made as needed)."""
    return open_lake(settings.lake_uri)


def lake_to_read(settings: Settings) -> Lake:
    """The lake to read from; NotFoundError if LAKE_URI's folder holds none."""
    return open_lake_to_read(settings.lake_uri)


def extract(
    settings: Settings,
    *,
    kind: str = raw.SNAPSHOT,
    streams: tuple[str, ...] | None = None,
    remaining: Callable[[], float] = lambda: math.inf,
    sleep: Callable[[float], None] = time.sleep,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    on_new_refresh_token: Callable[[str], None] | None = None,
    run_id: str | None = None,
    progress: Callable[[raw.Part], None] | None = None,
    lake: Lake | None = None,
) -> RunRecord:
    """One extract run into `lake` (by default LAKE_URI's); returns its run record (also when
    it failed, after recording it). Without credentials configured it is refused before it
    starts: a ConfigError, no record. While another extract holds the lease
    (chalicelib.lease) it asks Spotify nothing and lands nothing: its record says `skipped`
    and which run holds it.

    `sleep` waits on the clock `now` reads: the pacing under SPOTIFY_RATE_LIMIT and the
    retries both wait through it.
    """
    from chalicelib.spotify.client import connect
    from chalicelib.spotify.extract import Options, run_extract

    check_credentials(settings)
    lake = lake or lake_for(settings)
    store = RunStore(lake)
    started = now()
    streams = streams or of_kind(kind)
    run_id = run_id or raw.new_run_id(started)
    record = RunRecord.started(run_id, kind, streams, started)
    try:
        lease = Lease.take(lake, run_id, started, remaining)
    except LeaseHeldError as held:
        record.skipped(str(held), now())
        store.save(record)
        return record
    store.save(record)
    credentials: Credentials | None = None
    try:
        credentials = credentials_for(settings)
        if on_new_refresh_token is None and settings.secret_id and settings.credentials is None:
            on_new_refresh_token = store_refresh_token(settings)
        client = connect(
            credentials,
            settings.api_url,
            settings.auth_url,
            sleep=sleep,
            remaining=remaining,
            on_new_refresh_token=on_new_refresh_token,
            concurrency=settings.extract_concurrency,
            rate_limit=settings.rate_limit,
            clock=lambda: now().timestamp(),
        )
        options = Options(
            kind=kind,
            streams=streams,
            playlists=settings.playlists,
            workers=settings.extract_concurrency,
            catalog_max_age=timedelta(days=settings.catalog_max_age_days),
            detail_budget=settings.catalog_detail_budget,
        )
        result = run_extract(
            client,
            lake,
            options=options,
            run_id=run_id,
            started=started,
            now=now,
            progress=progress,
        )
    except Exception as error:  # a failed run must leave a record, whatever the cause
        message = str(error) if isinstance(error, PipelineError) else _unexpected(error)
        record.failed(message, now())
        store.save(redact(record, credentials))
        raise
    finally:
        lease.release()
    record.extracted(result.manifest, result.counts, result.errors)
    record = redact(record, credentials)
    store.save(record)
    return record


def extract_and_transform(
    settings: Settings,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    **options: Any,
) -> RunRecord:
    """An extract run; on a local lake, then its transform as the S3 event's handler would
    run it (in AWS, S3 sends the event when the manifest lands), on the same clock. The
    run's record."""
    record = extract(settings, now=now, **options)
    if settings.lake_is_local and record.manifest:
        transform(settings, record.manifest, now=now)
        record = RunStore(lake_for(settings)).get(record.run_id)
    return record


def transform(
    settings: Settings, key: str, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> dict[str, Any]:
    """Transform the run whose manifest is at `key` (relative to the lake root).

    Bad raw input is quarantined by the transform itself; a failing lake (S3 unavailable) is
    raised, so Lambda retries the event, after the run record says so where it can.
    """
    from chalicelib.transform import transform_run

    lake = lake_for(settings)
    try:
        return transform_run(lake, key, now=now)
    except LakeError as error:
        _record_transform_failure(lake, key, error)
        raise


def replay(
    settings: Settings, run_id: str, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> dict[str, Any]:
    """Transform a run again from its raw answers (idempotent, as every transform is)."""
    return transform(settings, manifest_of_run(settings, run_id), now=now)


def _record_transform_failure(lake: Lake, key: str, error: LakeError) -> None:
    """Say in the run's record that the lake failed its transform, if the lake lets us."""
    _, run_id = raw.run_of_manifest(key)
    store = RunStore(lake)
    try:
        record = store.of_landed_run(run_id)
        record.transform_interrupted(str(error))
        store.save(record)
    except PipelineError:
        log.warning("could not record the failed transform of %s", run_id)


def manifest_of_run(settings: Settings, run_id: str) -> str:
    """The manifest key of a run that landed its data; NotFoundError for one that did not."""
    key = raw.manifest_key_of_run(run_id)
    lake = lake_to_read(settings)
    if not lake.exists(key):
        RunStore(lake).get(run_id)  # "no run ..." where there is none
        raise NotFoundError(f"run {run_id} has no manifest: it failed before landing its data")
    return key


def _unexpected(error: Exception) -> str:
    log.exception("unexpected failure")
    return f"unexpected {type(error).__name__}: {error}"
