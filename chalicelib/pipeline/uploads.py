"""Where a user uploads a privacy export: a presigned PUT under the lake's imports/, whose
upload S3 announces to the import (`imports.import_upload`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import accounts, raw
from chalicelib.errors import ValidationError
from chalicelib.lake import IMPORTS, S3Lake
from chalicelib.pipeline.imports import importing_for
from chalicelib.settings import Settings, split_s3_uri

UPLOAD_SECONDS = 900
UPLOAD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.(zip|json)$", re.IGNORECASE)


def presign_upload(
    settings: Settings,
    filename: str,
    *,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    account: str | None = None,
) -> dict[str, Any]:
    """Where to PUT an export so that it is imported for `account` (by default the lake's
    only one): a presigned URL under the account's imports/, valid UPLOAD_SECONDS (S3
    starts the import when the upload completes)."""
    if settings.lake_is_local:
        raise ValidationError(
            "uploads need an S3 lake (LAKE_URI=s3://...); on this local lake run "
            "`spotify-etl import PATH` instead"
        )
    from botocore.config import Config

    from chalicelib.aws import client

    name = upload_name(filename)
    if account is not None:
        accounts.check_account_id(account)
    moment = now()
    # Signature version 4: S3 refuses version 2 on every bucket made since 2020.
    s3 = client("s3", config=Config(signature_version="s3v4"))
    lake = S3Lake(s3, *split_s3_uri(settings.lake_uri))
    account = importing_for(lake, account)
    key = accounts.scoped_key(f"{IMPORTS}{moment:%Y%m%dT%H%M%SZ}-{name}", account)
    return {
        "method": "PUT",
        "url": lake.upload_url(key, UPLOAD_SECONDS),
        "key": key,
        "account": account,
        "expires_at": raw.iso_utc(moment + timedelta(seconds=UPLOAD_SECONDS)),
    }


def upload_name(filename: str) -> str:
    """The upload's file name: the export's own (letters, digits, . _ -), a .zip or .json."""
    if not UPLOAD_NAME.match(filename):
        raise ValidationError(
            f"filename {filename[:120]!r} is not an export's name: give the zip's (or a JSON "
            "file's) name, letters, digits, '.', '_' and '-' only, ending .zip or .json"
        )
    return filename
