"""Importing a privacy export: from a path (the command line) or from an upload S3 announced,
landed redacted as a run of its own, then transformed like any run."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from chalicelib.errors import NotFoundError
from chalicelib.pipeline.events import upload_key_of
from chalicelib.pipeline.run import lake_for, transform
from chalicelib.runs import RunRecord, RunStore
from chalicelib.settings import Settings

log = logging.getLogger(__name__)


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

    key = upload_key_of(settings, bucket, object_key)
    lake = lake_for(settings)
    try:
        data = lake.get(key)
    except NotFoundError:
        log.info("%s is gone: imported already", key)
        return None
    kept = f"; the upload stays at {lake.uri(key)}: replace it with the export Spotify sent"
    record = land(lake, lambda: files_of_upload(key, data), started=now(), now=now, kept=kept)
    if record.manifest:
        lake.delete(key)
    return record
