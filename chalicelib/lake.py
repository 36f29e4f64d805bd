"""The lake: a local folder or an S3 prefix, behind one small interface.

Keys are always '/'-separated and relative to the lake root (`raw/...`, `processed/...`).
Every write replaces one object whole: a reader sees the old object or the new one, never
a half-written file (locally: write to a temporary file, then rename).

Read-modify-write callers (the transform's merges) read with `get_versioned` and write back
with `put(..., if_match=version)`, or `put(..., if_none_match=True)` for a new object; a
write that lost a race raises ConflictError and changes nothing. On S3 these are S3's own
conditional writes (the version is the ETag); locally the version is the content's MD5, as
an S3 ETag of a single-part upload is, checked and replaced under an exclusive `flock`, so
the check holds across processes as well as threads.

Nothing is ever deleted but, each said by the caller's `why`:
- UPLOAD: an upload under `imports/`, a privacy export removed by its import once its
  redacted copy is in raw/ (it holds IP addresses and user agents); and a daily partition
  of the layout before monthly ones, removed by `spotify-etl migrate` once its month holds
  its rows (chalicelib.transform.layout);
- MOVED: an object of the layout before accounts, removed by `spotify-etl migrate` once its
  copy is under its account (chalicelib.transform.accounts);
- FORGET: any object under an account's prefix, removed by `spotify-etl forget`.
`delete` refuses every other key.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import json
import os
import posixpath
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import orjson

from chalicelib.errors import ConflictError, LakeError, NotFoundError
from chalicelib.settings import split_s3_uri


class Lake(Protocol):
    """What the pipeline needs from storage."""

    def put(
        self, key: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str: ...

    def get(self, key: str) -> bytes: ...

    def get_versioned(self, key: str) -> tuple[bytes, str]: ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> Iterator[str]: ...

    def uri(self, key: str) -> str: ...

    def delete(self, key: str, why: str = ...) -> None: ...


IMPORTS = "imports/"  # uploaded privacy exports, each removed once imported
# A partition of the layout before monthly ones, removed once migrated into its month.
EARLIER_DAILY_PARTITION = re.compile(
    r"processed/[a-z_]+/(account_id=[^/]+/)?(played|snapshot)_date=\d{4}-\d{2}-\d{2}"
    r"/data\.parquet"
)
ACCOUNT_FOLDERS = r"(processed/[a-z_]+|raw|state|runs|quarantine|imports)"
OF_ACCOUNT = re.compile(ACCOUNT_FOLDERS + r"/account_id=[^/]+/.+")  # chalicelib.accounts
BEFORE_ACCOUNTS = re.compile(ACCOUNT_FOLDERS + r"/(?!account_id=)[^/]+(/.+)?")
UPLOAD, MOVED, FORGET = "upload", "moved", "forget"  # why an object is deleted
LOCKS = ".locks"
LOCK_STRIPES = 64
TEMPORARY = ".tmp-"


class LocalLake:
    """A lake in a folder on this machine."""

    def __init__(self, root: str | os.PathLike[str]):
        self._root = Path(root).resolve()
        self._inside = f"{self._root}{os.sep}"

    @property
    def root(self) -> Path:
        return self._root

    def put(
        self, key: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        """Replace the object whole; with a condition, only if it still holds (else Conflict)."""
        path = Path(self._path(key))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TEMPORARY, suffix=path.suffix)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            # Every write takes the key's lock, so an unconditional write cannot slip in
            # between a conditional write's check and its rename (S3 orders them the same).
            with self._lock(key):
                self._check(key, path, if_match, if_none_match)
                os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return _md5(data)

    def get(self, key: str) -> bytes:
        try:
            with open(self._path(key), "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            raise NotFoundError(f"{key} is not in the lake at {self._root}") from None

    def get_versioned(self, key: str) -> tuple[bytes, str]:
        """The object and its version (renames are atomic, so the two always agree)."""
        data = self.get(key)
        return data, _md5(data)

    def exists(self, key: str) -> bool:
        return os.path.isfile(self._path(key))

    def list(self, prefix: str) -> Iterator[str]:
        """Keys under the prefix in S3's order (by their UTF-8 bytes)."""
        base = os.path.join(self._root, prefix)
        folder = base if prefix.endswith("/") or os.path.isdir(base) else os.path.dirname(base)
        keys: list[str] = []
        for directory, folders, files in os.walk(folder):
            folders[:] = [name for name in folders if name != LOCKS]
            relative = os.path.relpath(directory, self._root).replace(os.sep, "/")
            stem = "" if relative == "." else f"{relative}/"
            keys += (
                f"{stem}{name}"
                for name in files
                if not name.startswith(TEMPORARY) and f"{stem}{name}".startswith(prefix)
            )
        yield from sorted(keys, key=str.encode)

    def uri(self, key: str) -> str:
        return str(self._root / key)

    def delete(self, key: str, why: str = UPLOAD) -> None:
        """Remove an object of the kinds the module says `why` names; gone already is fine."""
        path = Path(self._path(_deletable(key, why)))
        with self._lock(key):
            path.unlink(missing_ok=True)

    def _path(self, key: str) -> str:
        # normpath, not resolve(): keys never hold symlinks, and resolve() costs a syscall
        # per path component on every read.
        path = os.path.normpath(os.path.join(self._inside, key))
        inside = path.startswith(self._inside)
        if not inside or _is_internal(path[len(self._inside) :].replace(os.sep, "/")):
            raise LakeError(f"key {key!r} points outside the lake or into its internals")
        return path

    @contextmanager
    def _lock(self, key: str) -> Iterator[None]:
        """An exclusive lock over the key, shared by every process using this folder.

        Keys hash onto a fixed set of lock files under `.locks/`, so locking never
        litters the lake's folders and never needs cleaning up.
        """
        stripe = int(_md5(key.encode())[:8], 16) % LOCK_STRIPES
        folder = self._root / LOCKS
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{stripe:02d}", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _check(self, key: str, path: Path, if_match: str | None, if_none_match: bool) -> None:
        if if_none_match and path.exists():
            raise ConflictError(f"{key} exists already: another writer created it")
        if if_match is not None:
            try:
                current = _md5(path.read_bytes())
            except FileNotFoundError:
                raise ConflictError(f"{key} was deleted since it was read") from None
            if current != if_match:
                raise ConflictError(f"{key} changed since it was read")


# 412 when the condition does not hold; 409 when another conditional write to the key is
# in flight (S3 asks the caller to read again and retry).
CONFLICT_CODES = ("PreconditionFailed", "412", "ConditionalRequestConflict", "409")


class S3Lake:
    """A lake under `s3://bucket/prefix/`; receives its boto3 S3 client."""

    def __init__(self, client: Any, bucket: str, prefix: str = ""):
        self._client = client
        self._bucket = bucket
        self._prefix = prefix

    def put(
        self, key: str, data: bytes, *, if_match: str | None = None, if_none_match: bool = False
    ) -> str:
        """Replace the object whole; with a condition, S3 checks it atomically (else Conflict)."""
        conditions: dict[str, str] = {}
        if if_match is not None:
            conditions["IfMatch"] = if_match
        if if_none_match:
            conditions["IfNoneMatch"] = "*"
        try:
            response = self._call(
                "put_object", key, Bucket=self._bucket, Key=self._key(key), Body=data, **conditions
            )
        except NotFoundError:
            # If-Match on an object deleted since it was read answers 404, not 412.
            raise ConflictError(f"{key} was deleted since it was read") from None
        return response["ETag"]

    def get(self, key: str) -> bytes:
        return self.get_versioned(key)[0]

    def get_versioned(self, key: str) -> tuple[bytes, str]:
        """The object and its ETag, read in one request so the two always agree."""
        response = self._call("get_object", key, Bucket=self._bucket, Key=self._key(key))
        return response["Body"].read(), response["ETag"]

    def exists(self, key: str) -> bool:
        try:
            self._call("head_object", key, Bucket=self._bucket, Key=self._key(key))
        except NotFoundError:
            return False
        return True

    def list(self, prefix: str) -> Iterator[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=self._key(prefix)):
            for item in page.get("Contents", []):
                yield item["Key"][len(self._prefix) :]

    def uri(self, key: str) -> str:
        return f"s3://{self._bucket}/{self._key(key)}"

    def delete(self, key: str, why: str = UPLOAD) -> None:
        """Remove an object of the kinds the module says `why` names; gone already is fine."""
        self._call(
            "delete_object", key, Bucket=self._bucket, Key=self._key(_deletable(key, why))
        )

    def upload_url(self, key: str, expires_in: int) -> str:
        """A presigned PUT URL for `key`, valid `expires_in` seconds (signing makes no request)."""
        params = {"Bucket": self._bucket, "Key": self._key(key)}
        sign = self._client.generate_presigned_url
        return sign("put_object", Params=params, ExpiresIn=expires_in)

    def _key(self, key: str) -> str:
        return f"{self._prefix}{key}"

    def _call(self, operation: str, key: str, **kwargs: Any) -> Any:
        from botocore.exceptions import ClientError

        try:
            return getattr(self._client, operation)(**kwargs)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise NotFoundError(f"{key} is not in s3://{self._bucket}/{self._prefix}") from None
            if code in CONFLICT_CODES:
                raise ConflictError(f"{key} changed since it was read ({code})") from None
            raise LakeError(f"S3 {operation} on {key} failed: {code or error}") from None


def _md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _deletable(key: str, why: str) -> str:
    normal = posixpath.normpath(key) == key.rstrip("/")
    if why == FORGET and normal and OF_ACCOUNT.fullmatch(key):
        return key
    if why == MOVED and normal and BEFORE_ACCOUNTS.fullmatch(key):
        return key
    upload = normal and key.startswith(IMPORTS) and key != IMPORTS
    if why == UPLOAD and (upload or EARLIER_DAILY_PARTITION.fullmatch(key)):
        return key
    raise LakeError(
        f"{key} is not an upload under {IMPORTS} ({why}): the lake deletes nothing else"
    )


def _is_internal(key: str) -> bool:
    """The lock files and half-written temporaries, which are no objects of the lake."""
    return key.split("/", 1)[0] == LOCKS or key.rpartition("/")[2].startswith(TEMPORARY)


LAKE_FOLDERS = ("raw", "runs", "processed", "state")


def holds_lake(folder: Path) -> bool:
    """Whether a local folder holds a lake (what an extract, a transform or the demo made)."""
    return folder.is_dir() and any((folder / name).is_dir() for name in LAKE_FOLDERS)


def open_lake_to_read(uri: str, s3_client: Any = None) -> LocalLake | S3Lake:
    """The lake a LAKE_URI names, to read from: a local folder must already hold one.

    Only an extract, a transform or the demo makes a lake; whatever only reads says that
    there is none, and creates nothing.
    """
    root = Path(uri)
    if not uri.startswith("s3://") and not holds_lake(root):
        what = "is not a folder" if root.exists() and not root.is_dir() else "holds no lake"
        raise NotFoundError(
            f"LAKE_URI={uri!r} {what} (no raw/, runs/ or processed/): point LAKE_URI at a "
            "lake (`spotify-etl demo` fills .lake-demo: LAKE_URI=.lake-demo), or make one "
            "here with `spotify-etl extract`"
        )
    return open_lake(uri, s3_client)


def open_lake(uri: str, s3_client: Any = None) -> LocalLake | S3Lake:
    """The lake a LAKE_URI names; an S3 client is built lazily when none is given."""
    if not uri.startswith("s3://"):
        return LocalLake(uri)
    bucket, prefix = split_s3_uri(uri)
    if s3_client is None:
        from chalicelib.aws import client

        s3_client = client("s3")
    return S3Lake(s3_client, bucket, prefix)


def put_json(
    lake: Lake, key: str, value: Any, *, compress: bool = False, level: int = 6
) -> None:
    """Write a JSON document, compact UTF-8; gzip it when asked (raw pages are gzip JSON), at
    `level`: 6 takes half the time of 9 for 4 % more bytes (a redacted export file of
    4.5 MB: 61 ms and 438 kB against 125 ms and 422 kB; 1 takes 29 ms for 575 kB)."""
    data = orjson.dumps(value)
    lake.put(key, gzip.compress(data, compresslevel=level, mtime=0) if compress else data)


def get_json(lake: Lake, key: str) -> Any:
    """Read a JSON document written by put_json, gzip or not."""
    data = lake.get(key)
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return json.loads(data)


MERGE_ATTEMPTS = 10  # each lost race means another writer saved: merge with it and try again


def put_merging(
    lake: Lake,
    key: str,
    version: str | None,
    document: Callable[[], bytes],
    merge: Callable[[bytes | None], None],
) -> str:
    """Write `document()` over the `version` of `key` this writer read (None: where there is
    none yet); where another writer saved since, hand its bytes to `merge` (which folds them
    into what `document` makes) and write again over theirs. The version written; a
    ConflictError after MERGE_ATTEMPTS lost races."""
    for _ in range(MERGE_ATTEMPTS):
        try:
            return lake.put(key, document(), if_match=version, if_none_match=not version)
        except ConflictError:
            try:
                theirs, version = lake.get_versioned(key)
            except NotFoundError:
                theirs, version = None, None
            merge(theirs)
    raise ConflictError(f"{key} kept changing under {MERGE_ATTEMPTS} attempts to save it")
