"""What our Lambda functions are handed, checked before anything runs: the key of an S3
event's object (a raw run's manifest, an upload under imports/) and the runs `queue` sends."""

from __future__ import annotations

from typing import Any

from chalicelib import raw
from chalicelib.errors import ValidationError
from chalicelib.lake import IMPORTS
from chalicelib.raw import check_run_id
from chalicelib.settings import Settings, split_s3_uri
from chalicelib.streams import check


def manifest_key_of(settings: Settings, bucket: str, object_key: str) -> str:
    """The lake-relative key of an S3 event's object, checked to be a raw manifest."""
    key = _lake_key(settings, object_key)
    if not raw.is_manifest_key(key):
        raise ValidationError(f"s3://{bucket}/{object_key} is not a raw run manifest")
    return key


def upload_key_of(settings: Settings, bucket: str, object_key: str) -> str:
    """The lake-relative key of an S3 event's object, checked to be an upload under imports/."""
    key = _lake_key(settings, object_key)
    if not key.startswith(IMPORTS) or key.endswith("/"):
        raise ValidationError(f"s3://{bucket}/{object_key} is not an upload under {IMPORTS}")
    return key


def _lake_key(settings: Settings, object_key: str) -> str:
    """An S3 event's object key relative to the lake root."""
    prefix = "" if settings.lake_is_local else split_s3_uri(settings.lake_uri)[1]
    return object_key[len(prefix) :] if object_key.startswith(prefix) else object_key


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
