"""What our Lambda functions are handed, checked before anything runs: the key of an S3
event's object (a raw run's manifest, an upload under imports/) and the runs `queue` sends."""

from __future__ import annotations

from typing import Any

from chalicelib import raw
from chalicelib.accounts import check_account_id, split_key
from chalicelib.errors import ValidationError
from chalicelib.lake import IMPORTS
from chalicelib.raw import check_run_id
from chalicelib.settings import Settings, split_s3_uri
from chalicelib.streams import check


def manifest_key_of(settings: Settings, bucket: str, object_key: str) -> str:
    """The lake-relative key of an S3 event's object, checked to be an account's raw run
    manifest."""
    key = _lake_key(settings, object_key)
    try:
        manifest = split_key(key)[1]
    except ValidationError:
        manifest = ""
    if not raw.is_manifest_key(manifest):
        raise ValidationError(f"s3://{bucket}/{object_key} is not an account's raw run manifest")
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
    """The extract options of the runs queue_run sent to the extract function: `runs`, the
    run ID queued for each account, and `every_account`, whether to extract every account
    the credentials hold (those without a queued run under a new ID)."""
    runs = event.get("runs") if isinstance(event, dict) else None
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise ValidationError(
            "the extract function expects {runs: [{account, run_id}], kind, streams, "
            "every_account}"
        )
    kind = event.get("kind", raw.SNAPSHOT)
    if kind not in (raw.SNAPSHOT, raw.PLAYS_ONLY):
        raise ValidationError(
            f"not a run the extract function can do: kind is {raw.SNAPSHOT} or {raw.PLAYS_ONLY}"
        )
    streams = event.get("streams") or None
    if streams is not None and not isinstance(streams, list):
        raise ValidationError("the extract function expects streams as a list")
    return {
        "run_ids": {
            check_account_id(run.get("account")): check_run_id(run.get("run_id")) for run in runs
        },
        "every_account": event.get("every_account") is True,
        "kind": kind,
        "streams": check(streams) if streams else None,
    }


def queued_replay(event: Any) -> tuple[str, str]:
    """The (run ID, account) of a replay queue_replay sent to the replay function."""
    if not isinstance(event, dict) or set(event) != {"run_id", "account"}:
        raise ValidationError("the replay function expects {run_id, account}")
    return check_run_id(event["run_id"]), check_account_id(event["account"])
