"""The pipeline's entry points, wired from settings: what handlers and the CLI call.

    run          an extract (then, on a local lake, its transform), a transform, a replay
    imports      a privacy export from a path or from an upload, then its transform
    queue        a run or a replay handed to our other Lambda functions (in AWS)
    events       what those functions and the S3 triggers are handed, checked first
    uploads      a presigned PUT for uploading an export
    credentials  Spotify's credentials for a run, and its record redacted of them
    summaries    the lake's accounts, as `accounts` and GET /accounts list them
"""

from chalicelib.pipeline.credentials import credentials_for, store_refresh_token
from chalicelib.pipeline.events import (
    manifest_key_of,
    queued_replay,
    queued_run,
)
from chalicelib.pipeline.imports import import_history, import_upload
from chalicelib.pipeline.queue import queue_replay, queue_run
from chalicelib.pipeline.run import (
    account_of_run,
    extract,
    extract_accounts,
    extract_and_transform,
    extract_and_transform_accounts,
    lake_for,
    lake_to_read,
    manifest_of_run,
    replay,
    transform,
)
from chalicelib.pipeline.summaries import account_summaries
from chalicelib.pipeline.uploads import presign_upload

__all__ = [
    "account_of_run",
    "account_summaries",
    "credentials_for",
    "extract",
    "extract_accounts",
    "extract_and_transform",
    "extract_and_transform_accounts",
    "import_history",
    "import_upload",
    "lake_for",
    "lake_to_read",
    "manifest_key_of",
    "manifest_of_run",
    "presign_upload",
    "queue_replay",
    "queue_run",
    "queued_replay",
    "queued_run",
    "replay",
    "store_refresh_token",
    "transform",
]
