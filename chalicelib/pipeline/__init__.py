"""The pipeline's entry points, wired from settings: what handlers and the CLI call.

    run          an extract (then, on a local lake, its transform), a transform, a replay
    imports      a privacy export from a path or from an upload, then its transform
    queue        a run or a replay handed to our other Lambda functions (in AWS)
    events       what those functions and the S3 triggers are handed, checked first
    uploads      a presigned PUT for uploading an export
    credentials  Spotify's credentials for a run, and its record redacted of them
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
    extract,
    extract_and_transform,
    lake_for,
    lake_to_read,
    manifest_of_run,
    replay,
    transform,
)
from chalicelib.pipeline.uploads import presign_upload

__all__ = [
    "credentials_for",
    "extract",
    "extract_and_transform",
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
