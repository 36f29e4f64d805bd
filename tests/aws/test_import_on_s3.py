"""A privacy export imported through S3 (moto): POST /imports answers a presigned URL under
the account's imports/, the upload starts the on_import function, which lands the redacted
copy in the account's raw/ and removes the upload; the manifest's event then transforms it
into the account's plays."""

from __future__ import annotations

import gzip
import io
import json
import zipfile

import boto3
import pyarrow.parquet as pq
import pytest
import requests
from stand_ins import BUCKET, PREFIX

from chalicelib import accounts
from chalicelib.accounts import AccountLake, scoped_key
from chalicelib.lake import get_json
from emulator.export import write_export
from tests.history.exports import PERSONAL

pytestmark = [pytest.mark.integration, pytest.mark.account(seed=8, clocked=True)]
PRIVATE = ("ip_addr", "user_agent_decrypted", "username", "conn_country", *PERSONAL)


def ask(s3_app_client, body: dict):
    return s3_app_client.http.post(
        "/imports", headers={"Content-Type": "application/json"}, body=json.dumps(body)
    )


def upload(s3_app_client, path, account: str | None, filename: str | None = None) -> str:
    """Ask for an upload URL for `account` as a user with only the API would, and PUT the
    file there; the upload's lake key."""
    body = {} if filename is None else {"filename": filename}
    if account is not None:
        body["account"] = account
    answer = ask(s3_app_client, body)
    assert answer.status_code == 200, answer.json_body
    assert answer.json_body["method"] == "PUT"
    put = requests.put(answer.json_body["url"], data=path.read_bytes(), timeout=30)
    assert put.status_code == 200
    return answer.json_body["key"]


def s3_event(s3_app_client, key: str) -> dict:
    return s3_app_client.events.generate_s3_event(bucket=BUCKET, key=f"{PREFIX}{key}")


def test_an_uploaded_export_lands_redacted_then_its_upload_is_removed_and_plays_written(
    s3_app_client, s3_lake, emulator, listener, tmp_path
):
    export = write_export(emulator.world, tmp_path / "my_spotify_data.zip", emulator.clock())
    key = upload(s3_app_client, export, listener)
    assert key.startswith(f"imports/account_id={listener}/")
    assert key.endswith("-my_spotify_data.zip")
    assert s3_lake.exists(key)
    assert list(accounts.registered(s3_lake)) == [listener], "an export may come before any run"

    record = s3_app_client.lambda_.invoke("on_import", s3_event(s3_app_client, key)).payload
    assert record["kind"] == "import" and record["status"] == "extracted", record["errors"]
    assert not s3_lake.exists(key), "the upload, with its personal fields, is removed"
    landed = b"".join(
        gzip.decompress(s3_lake.get(k)) for k in s3_lake.list("raw/") if k.endswith(".json.gz")
    )
    assert landed and not any(f'"{name}"'.encode() in landed for name in PRIVATE)
    assert record["account"] == listener

    manifest = scoped_key(record["manifest"], listener)
    s3_app_client.lambda_.invoke("on_manifest", s3_event(s3_app_client, manifest))
    entries = sum(
        len(json.loads(zipfile.ZipFile(export).read(name)))
        for name in zipfile.ZipFile(export).namelist()
        if name.endswith(".json")
    )
    rows = [
        row
        for k in s3_lake.list(f"processed/plays/account_id={listener}/")
        for row in pq.read_table(io.BytesIO(s3_lake.get(k))).to_pylist()
    ]
    done = get_json(AccountLake(s3_lake, listener), f"runs/{record['run_id']}.json")
    assert done["status"] == "transformed"
    assert record["counts"]["entries"] == entries
    assert 0 < len(rows) < entries  # entries without a URI and private plays are no plays
    assert {row["source"] for row in rows} == {"export"}


def test_a_retried_event_after_the_import_finds_the_upload_gone_and_lands_nothing_more(
    s3_app_client, s3_lake, emulator, listener, tmp_path
):
    export = write_export(emulator.world, tmp_path / "e.zip", emulator.clock(), days=3)
    key = upload(s3_app_client, export, listener, "e.zip")
    event = s3_event(s3_app_client, key)
    s3_app_client.lambda_.invoke("on_import", event)
    landed = sorted(s3_lake.list("raw/"))
    assert s3_app_client.lambda_.invoke("on_import", event).payload is None
    assert sorted(s3_lake.list("raw/")) == landed


def test_a_damaged_upload_is_kept_its_record_says_where_and_nothing_is_transformed(
    s3_app_client, s3_lake, emulator, listener, tmp_path
):
    export = write_export(emulator.world, tmp_path / "e.zip", emulator.clock(), days=3)
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(export.read_bytes()[: export.stat().st_size // 2])
    key = upload(s3_app_client, damaged, listener, "damaged.zip")

    record = s3_app_client.lambda_.invoke("on_import", s3_event(s3_app_client, key)).payload
    assert record["status"] == "failed"
    assert f"the upload stays at s3://{BUCKET}/{PREFIX}{key}" in record["errors"][0]
    assert s3_lake.exists(key)
    quarantined = s3_lake.list(f"quarantine/account_id={listener}/")
    [reason] = [k for k in quarantined if k.endswith("reason.json")]
    assert "damaged.zip" in json.dumps(get_json(s3_lake, reason))
    assert not any(s3_lake.list("processed/"))


def test_an_upload_with_a_truncated_file_after_good_ones_is_kept_and_says_only_why(
    s3_app_client, s3_lake, emulator, listener, tmp_path
):
    export = write_export(emulator.world, tmp_path / "e.zip", emulator.clock(), days=3)
    with zipfile.ZipFile(export) as archive:
        [good] = [name for name in archive.namelist() if "_Audio_" in name]
        content = archive.read(good)
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr(good, content)
        archive.writestr(good.replace("_Audio_", "_Video_"), content[: len(content) // 2])
    key = upload(s3_app_client, broken, listener, "broken.zip")
    record = s3_app_client.lambda_.invoke("on_import", s3_event(s3_app_client, key)).payload
    assert record["status"] == "failed" and s3_lake.exists(key)
    [error] = record["errors"]
    assert "not complete JSON" in error and error.endswith(
        f"the upload stays at s3://{BUCKET}/{PREFIX}{key}: replace it with the export Spotify sent"
    )
    assert len(error) < 500


def test_the_basic_export_uploaded_is_refused_saying_how_to_get_the_extended_one(
    s3_app_client, s3_lake, tmp_path
):
    accounts.register(s3_lake, "listener", {})  # the lake's only account: the default
    basic = tmp_path / "basic.zip"
    with zipfile.ZipFile(basic, "w") as archive:
        archive.writestr("MyData/StreamingHistory_music_0.json", "[]")
    key = upload(s3_app_client, basic, None, "basic.zip")
    assert key.startswith("imports/account_id=listener/")
    record = s3_app_client.lambda_.invoke("on_import", s3_event(s3_app_client, key)).payload
    assert record["status"] == "failed"
    assert "Extended streaming history" in record["errors"][0]
    assert s3_lake.exists(key)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"filename": "../raw/x.zip"}, "is not an export's name"),
        ({"filename": "export.exe"}, "ending .zip or .json"),
        ({"filename": 7}, "filename must be a string"),
        ({"name": "e.zip"}, "name"),
        ({"account": "../raw"}, "not a Spotify user ID"),
        ({}, "this lake holds no account yet"),
    ],
)
def test_a_bad_upload_request_is_a_400_saying_what_to_send(s3_app_client, body, message):
    answer = ask(s3_app_client, body)
    assert answer.status_code == 400
    assert message in answer.json_body["Message"]


def test_an_upload_for_a_lake_of_several_accounts_names_whose_export_it_is(
    s3_app_client, s3_lake
):
    for account in ("listener", "friend"):
        accounts.register(s3_lake, account, {})
    several = ask(s3_app_client, {})
    assert several.status_code == 400
    assert "friend, listener" in several.json_body["Message"]
    named = ask(s3_app_client, {"account": "friend"})
    assert named.status_code == 200
    assert named.json_body["account"] == "friend"
    assert named.json_body["key"].startswith("imports/account_id=friend/")


def test_an_object_outside_imports_is_refused_by_the_import_function(s3_app_client, s3_lake):
    s3_lake.put("raw/account_id=listener/2026-01-01/x.json", b"[]")
    event = s3_event(s3_app_client, "raw/account_id=listener/x")
    assert s3_app_client.lambda_.invoke("on_import", event).payload is None
    assert s3_lake.exists("raw/account_id=listener/2026-01-01/x.json")


def test_an_imports_record_is_written_for_the_last_time_before_its_manifest_lands(
    s3_app_client, s3_lake, emulator, listener, tmp_path
):
    """The manifest's event starts the transform, which saves the same record: the import
    has said its last word by then, so the two never race for it."""
    export = write_export(emulator.world, tmp_path / "my_spotify_data.zip", emulator.clock())
    key = upload(s3_app_client, export, listener)
    written: list[str] = []
    boto3.DEFAULT_SESSION.events.register(  # the function's own clients come from it
        "before-parameter-build.s3.PutObject", lambda params, **_: written.append(params["Key"])
    )
    record = s3_app_client.lambda_.invoke("on_import", s3_event(s3_app_client, key)).payload
    assert record["status"] == "extracted", record["errors"]
    record_key = f"{PREFIX}runs/account_id={listener}/{record['run_id']}.json"
    assert written[-1] == f"{PREFIX}{scoped_key(record['manifest'], listener)}"
    assert record_key in written[:-1]
