import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest

from chalicelib.errors import ConflictError, LakeError, NotFoundError
from chalicelib.lake import LocalLake, S3Lake, get_json, open_lake, put_json


def test_an_object_reads_back_as_written(either_lake):
    either_lake.put("raw/a/b.bin", b"\x00\x01payload")
    assert either_lake.get("raw/a/b.bin") == b"\x00\x01payload"
    assert either_lake.exists("raw/a/b.bin")


def test_a_write_replaces_the_whole_object(either_lake):
    either_lake.put("state/x.json", b"a much longer first version")
    either_lake.put("state/x.json", b"short")
    assert either_lake.get("state/x.json") == b"short"


def test_a_missing_object_is_not_found(either_lake):
    assert not either_lake.exists("raw/missing.json")
    with pytest.raises(NotFoundError):
        either_lake.get("raw/missing.json")


def test_listing_returns_keys_under_a_prefix_in_order(either_lake):
    for key in ("raw/2026-11-02/b.json", "raw/2026-11-01/a.json", "runs/r.json"):
        either_lake.put(key, b"{}")
    assert list(either_lake.list("raw/")) == ["raw/2026-11-01/a.json", "raw/2026-11-02/b.json"]
    assert list(either_lake.list("nothing/")) == []


def test_json_documents_round_trip_gzip_or_not(either_lake):
    put_json(either_lake, "raw/page.json.gz", {"name": "Sigur Rós ✨"}, compress=True)
    put_json(either_lake, "runs/r.json", [1, None])
    assert either_lake.get("raw/page.json.gz")[:2] == b"\x1f\x8b"
    assert get_json(either_lake, "raw/page.json.gz") == {"name": "Sigur Rós ✨"}
    assert get_json(either_lake, "runs/r.json") == [1, None]


def test_an_upload_under_imports_is_deleted_and_deleting_it_again_is_fine(either_lake):
    either_lake.put("imports/20261202T101500Z-my_spotify_data.zip", b"PK")
    either_lake.delete("imports/20261202T101500Z-my_spotify_data.zip")
    assert not either_lake.exists("imports/20261202T101500Z-my_spotify_data.zip")
    either_lake.delete("imports/20261202T101500Z-my_spotify_data.zip")


@pytest.mark.parametrize(
    "key",
    [
        "raw/2026-01-01/r/manifest.json",
        "imports/",
        "../imports/x",
        "imports/../raw/2026-01-01/r/manifest.json",
    ],
)
def test_nothing_but_an_upload_under_imports_is_ever_deleted(either_lake, key):
    either_lake.put("raw/2026-01-01/r/manifest.json", b"{}")
    with pytest.raises(LakeError, match="deletes nothing else|outside the lake"):
        either_lake.delete(key)
    assert either_lake.exists("raw/2026-01-01/r/manifest.json")


def test_a_local_key_cannot_escape_the_lake(tmp_path):
    with pytest.raises(LakeError):
        LocalLake(tmp_path).put("../outside.txt", b"x")


def test_open_lake_picks_the_implementation_from_the_uri(tmp_path, aws_credentials):
    assert isinstance(open_lake(str(tmp_path)), LocalLake)
    lake = open_lake(
        "s3://bucket/some/prefix", s3_client=boto3.client("s3", region_name="us-east-1")
    )
    assert isinstance(lake, S3Lake)
    assert lake.uri("raw/x") == "s3://bucket/some/prefix/raw/x"


def test_a_versioned_read_returns_the_object_and_its_version(either_lake):
    version = either_lake.put("state/x.json", b"one")
    assert either_lake.get_versioned("state/x.json") == (b"one", version)
    assert either_lake.put("state/x.json", b"two") != version


def test_a_versioned_read_of_a_missing_object_is_not_found(either_lake):
    with pytest.raises(NotFoundError):
        either_lake.get_versioned("state/missing.json")


def test_a_write_if_unchanged_succeeds_when_nobody_wrote_since_the_read(either_lake):
    either_lake.put("state/x.json", b"one")
    _, version = either_lake.get_versioned("state/x.json")
    either_lake.put("state/x.json", b"two", if_match=version)
    assert either_lake.get("state/x.json") == b"two"


def test_a_write_if_unchanged_loses_to_a_write_since_the_read(either_lake):
    either_lake.put("state/x.json", b"one")
    _, version = either_lake.get_versioned("state/x.json")
    either_lake.put("state/x.json", b"someone else's")
    with pytest.raises(ConflictError):
        either_lake.put("state/x.json", b"mine", if_match=version)
    assert either_lake.get("state/x.json") == b"someone else's"


def test_a_write_if_unchanged_loses_when_the_object_was_deleted(either_lake):
    version = either_lake.put("state/x.json", b"one")
    with pytest.raises(ConflictError):
        either_lake.put("state/other.json", b"mine", if_match=version)
    assert not either_lake.exists("state/other.json")


def test_a_create_if_absent_succeeds_once(either_lake):
    either_lake.put("state/new.json", b"first", if_none_match=True)
    with pytest.raises(ConflictError):
        either_lake.put("state/new.json", b"second", if_none_match=True)
    assert either_lake.get("state/new.json") == b"first"


def test_a_conflict_is_a_lake_error(either_lake):
    either_lake.put("state/x.json", b"one")
    with pytest.raises(LakeError):
        either_lake.put("state/x.json", b"two", if_none_match=True)


def test_lock_files_and_temporaries_are_not_objects(tmp_path):
    lake = LocalLake(tmp_path)
    version = lake.put("state/x.json", b"one")
    lake.put("state/x.json", b"two", if_match=version)
    (tmp_path / "state" / ".tmp-half.json").write_bytes(b"half")
    assert list(lake.list("")) == ["state/x.json"]
    with pytest.raises(LakeError):
        lake.get(".locks/00")


def add_one(lake: LocalLake, key: str, times: int, barrier=None) -> int:
    """Increment a counter object `times` times by read-modify-write; the conflicts met."""
    conflicts = 0
    for _ in range(times):
        while True:
            try:
                data, version = lake.get_versioned(key)
            except NotFoundError:
                data, version = b"0", None
            if barrier is not None:
                barrier.wait()  # every writer has read the same version: all but one lose
                barrier = None
            try:
                lake.put(
                    key, b"%d" % (int(data) + 1), if_match=version, if_none_match=version is None
                )
                break
            except ConflictError:
                conflicts += 1
    return conflicts


def test_racing_threads_never_lose_an_update_locally(tmp_path):
    lake = LocalLake(tmp_path)
    barrier = threading.Barrier(4)
    with ThreadPoolExecutor(4) as pool:
        conflicts = list(pool.map(lambda _: add_one(lake, "n", 25, barrier), range(4)))
    assert lake.get("n") == b"100"
    assert sum(conflicts) >= 3


def _add_in_process(root: str) -> int:
    return add_one(LocalLake(root), "n", 40)


@pytest.mark.integration  # three processes
def test_racing_processes_never_lose_an_update_locally(tmp_path):
    context = multiprocessing.get_context("spawn")
    with context.Pool(3) as pool:
        pool.map(_add_in_process, [str(tmp_path)] * 3)
    assert LocalLake(tmp_path).get("n") == b"120"
