import boto3
import pytest
from moto import mock_aws

from chalicelib.errors import LakeError, NotFoundError
from chalicelib.lake import LocalLake, S3Lake, get_json, open_lake, put_json


@pytest.fixture(params=["local", "s3"])
def lake(request, tmp_path, aws_credentials):
    if request.param == "local":
        yield LocalLake(tmp_path / "lake")
        return
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="lake-bucket")
        yield S3Lake(client, "lake-bucket", "prefix/")


def test_an_object_reads_back_as_written(lake):
    lake.put("raw/a/b.bin", b"\x00\x01payload")
    assert lake.get("raw/a/b.bin") == b"\x00\x01payload"
    assert lake.exists("raw/a/b.bin")


def test_a_write_replaces_the_whole_object(lake):
    lake.put("state/x.json", b"a much longer first version")
    lake.put("state/x.json", b"short")
    assert lake.get("state/x.json") == b"short"


def test_a_missing_object_is_not_found(lake):
    assert not lake.exists("raw/missing.json")
    with pytest.raises(NotFoundError):
        lake.get("raw/missing.json")


def test_listing_returns_keys_under_a_prefix_in_order(lake):
    for key in ("raw/2026-11-02/b.json", "raw/2026-11-01/a.json", "runs/r.json"):
        lake.put(key, b"{}")
    assert list(lake.list("raw/")) == ["raw/2026-11-01/a.json", "raw/2026-11-02/b.json"]
    assert list(lake.list("nothing/")) == []


def test_json_documents_round_trip_gzip_or_not(lake):
    put_json(lake, "raw/page.json.gz", {"name": "Sigur Rós ✨"}, compress=True)
    put_json(lake, "runs/r.json", [1, None])
    assert lake.get("raw/page.json.gz")[:2] == b"\x1f\x8b"
    assert get_json(lake, "raw/page.json.gz") == {"name": "Sigur Rós ✨"}
    assert get_json(lake, "runs/r.json") == [1, None]


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
