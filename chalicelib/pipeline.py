"""The pipeline's entry points, wired from settings: what handlers and the CLI call.

Each function takes a Settings object and builds the outside services it needs (lake,
Spotify client, run store) lazily, so importing this module costs nothing.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chalicelib import raw
from chalicelib.errors import (
    ConfigError,
    LakeError,
    NotFoundError,
    PipelineError,
    ValidationError,
)
from chalicelib.functions import Functions
from chalicelib.lake import IMPORTS, Lake, S3Lake, open_lake, open_lake_to_read
from chalicelib.raw import check_run_id
from chalicelib.runs import RunRecord, RunStore, Status
from chalicelib.secrets import SpotifySecret, secrets_manager
from chalicelib.settings import Credentials, Settings, split_s3_uri
from chalicelib.streams import check, of_kind

log = logging.getLogger(__name__)


def lake_for(settings: Settings) -> Lake:
    """The lake to write to (a local one is made as needed)."""
    return open_lake(settings.lake_uri)


def lake_to_read(settings: Settings) -> Lake:
    """The lake to read from; NotFoundError if LAKE_URI's folder holds none."""
    return open_lake_to_read(settings.lake_uri)


def check_credentials(settings: Settings) -> None:
    """A ConfigError saying what to set where no credentials are configured, neither in the
    environment nor as a secret (which the run itself reads): refused before a run starts."""
    if not settings.secret_id:
        settings.require_credentials()


def credentials_for(settings: Settings, secrets_client: Any = None) -> Credentials:
    """Local credentials from the environment, or the JSON secret named by SPOTIFY_SECRET_ID."""
    if settings.credentials is not None or not settings.secret_id:
        return settings.require_credentials()
    return _secret(settings, secrets_client).read()


def store_refresh_token(settings: Settings, secrets_client: Any = None) -> Callable[[str], None]:
    """Where a rotated refresh token goes: back into the secret in AWS (a client is made only
    when Spotify rotates one)."""
    return lambda token: _secret(settings, secrets_client).store_refresh_token(token)


def _secret(settings: Settings, client: Any) -> SpotifySecret:
    if not settings.secret_id:
        raise ConfigError("SPOTIFY_SECRET_ID is not set: the secret holding the credentials")
    return SpotifySecret(settings.secret_id, client or secrets_manager())


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
    starts: a ConfigError, no record.

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


def import_history(
    settings: Settings,
    path: Path,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    progress: Callable[[str, int], None] | None = None,
) -> RunRecord:
    """Import a privacy export (its zip, its folder or its JSON files) into the lake,
    redacted; on a local lake, then its transform (in AWS, S3 sends the manifest's event).
    The import's record, failed with the reason where a file of the export cannot be read;
    a path that holds no export is refused before anything is written (a ValidationError)."""
    from chalicelib.history.export import check_export, files_of
    from chalicelib.history.importer import land

    check_export(path)
    lake = lake_for(settings)
    record = land(lake, lambda: files_of(path), started=now(), now=now, progress=progress)
    if settings.lake_is_local and record.manifest:
        transform(settings, record.manifest, now=now)
        record = RunStore(lake).get(record.run_id)
    return record


def import_upload(
    settings: Settings,
    bucket: str,
    object_key: str,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RunRecord | None:
    """Import an export uploaded under the lake's imports/ (S3 sent the event), then remove
    the upload once its redacted copy and manifest are in raw/: the one deletion the pipeline
    makes, as the upload holds IP addresses and user agents. A failed import keeps the upload
    and says so in its record. None when the upload is gone: a retried event, imported."""
    from chalicelib.history.export import files_of_upload
    from chalicelib.history.importer import land

    key = _lake_key(settings, object_key)
    if not key.startswith(IMPORTS) or key.endswith("/"):
        raise ValidationError(f"s3://{bucket}/{object_key} is not an upload under {IMPORTS}")
    lake = lake_for(settings)
    try:
        data = lake.get(key)
    except NotFoundError:
        log.info("%s is gone: imported already", key)
        return None
    kept = f"; the upload stays at {lake.uri(key)}: replace it with the export Spotify sent"
    record = land(
        lake, lambda: files_of_upload(key, data), started=now(), now=now, kept=kept
    )
    if record.manifest:
        lake.delete(key)
    return record


def presign_upload(
    settings: Settings,
    filename: str,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> dict[str, Any]:
    """Where to PUT an export so that it is imported: a presigned URL under the lake's
    imports/, valid UPLOAD_SECONDS (S3 starts the import when the upload completes)."""
    if settings.lake_is_local:
        raise ValidationError(
            "uploads need an S3 lake (LAKE_URI=s3://...); on this local lake run "
            "`spotify-etl import PATH` instead"
        )
    from botocore.config import Config

    from chalicelib.aws import client

    name = upload_name(filename)
    moment = now()
    key = f"{IMPORTS}{moment:%Y%m%dT%H%M%SZ}-{name}"
    # Signature version 4: S3 refuses version 2 on every bucket made since 2020.
    s3 = client("s3", config=Config(signature_version="s3v4"))
    lake = S3Lake(s3, *split_s3_uri(settings.lake_uri))
    return {
        "method": "PUT",
        "url": lake.upload_url(key, UPLOAD_SECONDS),
        "key": key,
        "expires_at": raw.iso_utc(moment + timedelta(seconds=UPLOAD_SECONDS)),
    }


UPLOAD_SECONDS = 900
UPLOAD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.(zip|json)$", re.IGNORECASE)


def upload_name(filename: str) -> str:
    """The upload's file name: the export's own (letters, digits, . _ -), a .zip or .json."""
    if not UPLOAD_NAME.match(filename):
        raise ValidationError(
            f"filename {filename[:120]!r} is not an export's name: give the zip's (or a JSON "
            "file's) name, letters, digits, '.', '_' and '-' only, ending .zip or .json"
        )
    return filename


def queue_run(
    settings: Settings,
    *,
    kind: str = raw.SNAPSHOT,
    streams: tuple[str, ...] | None = None,
    functions: Functions | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RunRecord:
    """Record a run as queued and invoke the extract function asynchronously (in AWS, where
    the API must answer within 29 s and an extract may take 15 minutes); refused, with no
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
    """Replay a run's transform in the replay function, invoked asynchronously with
    {run_id} (in AWS, where the API must answer within 29 s and a transform may take
    minutes); the run record says when it is done."""
    function = _function(settings.replay_function, "REPLAY_FUNCTION", "replay")
    manifest_of_run(settings, run_id)  # a 404 now rather than a failure in the function
    (functions or Functions()).start(function, {"run_id": run_id})
    return {"run_id": run_id, "status": Status.QUEUED}


def _function(name: str | None, variable: str, what: str) -> str:
    if not name:
        raise ConfigError(f"{variable} is not set: the {what} function's name, per stage")
    return name


def queued_run(event: Any) -> dict[str, Any]:
    """The extract options of a run queue_run sent to the extract function."""
    if not isinstance(event, dict) or not isinstance(event.get("run_id"), str):
        raise ValidationError("the extract function expects {run_id, kind, streams}")
    kind = event.get("kind", raw.SNAPSHOT)
    if kind not in (raw.SNAPSHOT, raw.PLAYS_ONLY):
        raise ValidationError(
            f"not a run the extract function can do: kind is {raw.SNAPSHOT} or {raw.PLAYS_ONLY}"
        )
    streams = event.get("streams") or None
    if streams is not None and not isinstance(streams, list):
        raise ValidationError("the extract function expects streams as a list")
    return {
        "run_id": check_run_id(event["run_id"]),
        "kind": kind,
        "streams": check(streams) if streams else None,
    }


def queued_replay(event: Any) -> str:
    """The run ID of a replay queue_replay sent to the replay function."""
    if not isinstance(event, dict) or set(event) != {"run_id"}:
        raise ValidationError("the replay function expects {run_id}")
    return check_run_id(event["run_id"])


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


def manifest_key_of(settings: Settings, bucket: str, object_key: str) -> str:
    """The lake-relative key of an S3 event's object, checked to be a raw manifest."""
    key = _lake_key(settings, object_key)
    if not raw.is_manifest_key(key):
        raise ValidationError(f"s3://{bucket}/{object_key} is not a raw run manifest")
    return key


def _lake_key(settings: Settings, object_key: str) -> str:
    """An S3 event's object key relative to the lake root."""
    prefix = "" if settings.lake_is_local else split_s3_uri(settings.lake_uri)[1]
    return object_key[len(prefix) :] if object_key.startswith(prefix) else object_key


def manifest_of_run(settings: Settings, run_id: str) -> str:
    """The manifest key of a run that landed its data; NotFoundError for one that did not."""
    key = raw.manifest_key_of_run(run_id)
    lake = lake_to_read(settings)
    if not lake.exists(key):
        RunStore(lake).get(run_id)  # "no run ..." where there is none
        raise NotFoundError(f"run {run_id} has no manifest: it failed before landing its data")
    return key


def redact(record: RunRecord, credentials: Credentials | None) -> RunRecord:
    """The record with every secret string in it replaced by ***."""
    if credentials is None:
        return record
    text = json.dumps(record.to_json())
    for secret in (credentials.client_secret, credentials.refresh_token):
        text = text.replace(secret, "***")
    return RunRecord.from_json(json.loads(text))


def _unexpected(error: Exception) -> str:
    log.exception("unexpected failure")
    return f"unexpected {type(error).__name__}: {error}"
