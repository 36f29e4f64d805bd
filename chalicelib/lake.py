"""The lake: a local folder or an S3 prefix, behind one small interface.

Keys are always '/'-separated and relative to the lake root (`raw/...`, `processed/...`).
Every write replaces one object whole: a reader sees the old object or the new one, never
a half-written file (locally: write to a temporary file, then rename).
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from chalicelib.errors import LakeError, NotFoundError
from chalicelib.settings import split_s3_uri


class Lake(Protocol):
    """What the pipeline needs from storage."""

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> Iterator[str]: ...

    def uri(self, key: str) -> str: ...

    @property
    def bucket(self) -> str: ...


class LocalLake:
    """A lake in a folder on this machine."""

    def __init__(self, root: str | os.PathLike[str]):
        self._root = Path(root).resolve()

    @property
    def bucket(self) -> str:
        return "local"

    @property
    def root(self) -> Path:
        return self._root

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"{key} is not in the lake at {self._root}") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> Iterator[str]:
        base = self._root / prefix
        folder = base if prefix.endswith("/") or base.is_dir() else base.parent
        if not folder.is_dir():
            return
        for path in sorted(folder.rglob("*")):
            key = path.relative_to(self._root).as_posix()
            if path.is_file() and key.startswith(prefix) and not path.name.startswith(".tmp-"):
                yield key

    def uri(self, key: str) -> str:
        return str(self._root / key)

    def _path(self, key: str) -> Path:
        path = (self._root / key).resolve()
        if not path.is_relative_to(self._root):
            raise LakeError(f"key {key!r} points outside the lake")
        return path


class S3Lake:
    """A lake under `s3://bucket/prefix/`; receives its boto3 S3 client."""

    def __init__(self, client: Any, bucket: str, prefix: str = ""):
        self._client = client
        self._bucket = bucket
        self._prefix = prefix

    @property
    def bucket(self) -> str:
        return self._bucket

    def put(self, key: str, data: bytes) -> None:
        self._call("put_object", key, Bucket=self._bucket, Key=self._key(key), Body=data)

    def get(self, key: str) -> bytes:
        response = self._call("get_object", key, Bucket=self._bucket, Key=self._key(key))
        return response["Body"].read()

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
            raise LakeError(f"S3 {operation} on {key} failed: {code or error}") from None


def open_lake(uri: str, s3_client: Any = None) -> LocalLake | S3Lake:
    """The lake a LAKE_URI names; an S3 client is built lazily when none is given."""
    if not uri.startswith("s3://"):
        return LocalLake(uri)
    bucket, prefix = split_s3_uri(uri)
    if s3_client is None:
        import boto3

        s3_client = boto3.client("s3")
    return S3Lake(s3_client, bucket, prefix)


def put_json(lake: Lake, key: str, value: Any, *, compress: bool = False) -> None:
    """Write a JSON document; gzip it when asked (raw pages are gzip JSON)."""
    data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    lake.put(key, gzip.compress(data, mtime=0) if compress else data)


def get_json(lake: Lake, key: str) -> Any:
    """Read a JSON document written by put_json, gzip or not."""
    data = lake.get(key)
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return json.loads(data)
