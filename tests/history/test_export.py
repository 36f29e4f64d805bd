"""Reading a privacy export: a zip, its folder or its files; redacted as read; the basic
export refused saying what to request; a broken zip or file named with its reason."""

from __future__ import annotations

import json
import zipfile

import pytest

from chalicelib.errors import ValidationError
from chalicelib.history.export import KEPT, BadExport, entries, files_of
from tests.history.exports import PERSONAL, export_entry


def entry(ts="2024-03-01T20:34:47Z", track="t1", **fields):
    return export_entry(ts, track, **fields)


def write_export(folder, files):
    for name, value in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(value if isinstance(value, bytes) else json.dumps(value).encode())
    return folder


def zipped(tmp_path, files):
    archive = tmp_path / "my_spotify_data.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for name, value in files.items():
            out.writestr(name, value if isinstance(value, bytes) else json.dumps(value))
    return archive


EXPORT = {
    "Spotify Extended Streaming History/Streaming_History_Audio_2023-2024_1.json": [
        entry(ts="2024-03-01T20:34:47Z"),
        entry(ts="2024-03-01T20:38:02Z", track="t2"),
    ],
    "Spotify Extended Streaming History/Streaming_History_Video_2024.json": [entry()],
    "Spotify Extended Streaming History/ReadMeFirst_ExtendedStreamingHistory.pdf": b"%PDF-1.4",
}


@pytest.mark.parametrize("given", ["zip", "folder", "file"])
def test_an_export_is_read_from_its_zip_its_folder_or_a_file(tmp_path, given):
    if given == "zip":
        path = zipped(tmp_path, EXPORT)
    elif given == "folder":
        path = write_export(tmp_path / "export", EXPORT)
    else:
        path = write_export(tmp_path / "export", EXPORT) / next(iter(EXPORT))
    files = list(files_of(path))
    expected = sorted(n for n in EXPORT if n.endswith(".json"))
    names = [f.name for f in files]
    assert names == (expected if given != "file" else [expected[0].rsplit("/", 1)[1]])
    assert sum(len(entries(f)) for f in files) == (3 if given != "file" else 2)


def test_older_endsong_files_are_history_too(tmp_path):
    path = write_export(tmp_path / "export", {"MyData/endsong_0.json": [entry()]})
    [file] = files_of(path)
    assert file.name == "MyData/endsong_0.json"


@pytest.mark.parametrize("given", ["zip", "folder", "file"])
def test_an_old_export_in_one_endsong_json_is_history_in_a_zip_a_folder_or_alone(tmp_path, given):
    files = {"MyData/endsong.json": [entry(), entry(track="t2")]}
    if given == "zip":
        path = zipped(tmp_path, files)
    elif given == "folder":
        path = write_export(tmp_path / "export", files)
    else:
        path = write_export(tmp_path / "export", files) / "MyData/endsong.json"
    [file] = files_of(path)
    assert file.name.endswith("endsong.json") and len(entries(file)) == 2


def test_redaction_keeps_only_the_fields_the_tables_read(tmp_path):
    path = zipped(tmp_path, EXPORT)
    redacted = [kept for file in files_of(path) for kept in entries(file)]
    assert redacted
    for kept in redacted:
        assert set(kept) <= set(KEPT)
        text = json.dumps(kept)
        assert not any(value in text for value in PERSONAL.values())
        assert "conn_country" not in kept and "offline_timestamp" not in kept


def test_the_basic_account_data_export_is_refused_saying_what_to_request(tmp_path):
    basic = [{"endTime": "2024-03-01 20:34", "artistName": "A", "trackName": "S", "msPlayed": 1}]
    path = zipped(tmp_path, {"MyData/StreamingHistory_music_0.json": basic})
    with pytest.raises(ValidationError, match="Extended streaming history"):
        list(files_of(path))


def test_a_path_without_history_files_says_what_to_give(tmp_path):
    path = write_export(tmp_path / "export", {"MyData/Playlist1.json": {"playlists": []}})
    with pytest.raises(ValidationError, match="Streaming_History_Audio"):
        list(files_of(path))


def test_a_damaged_zip_is_a_bad_export_naming_it(tmp_path):
    archive = zipped(tmp_path, EXPORT)
    archive.write_bytes(archive.read_bytes()[:200])
    with pytest.raises(BadExport, match="my_spotify_data.zip: not a readable zip"):
        list(files_of(archive))


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (json.dumps([entry()])[:-40].encode(), "not complete JSON"),
        (json.dumps({"items": []}).encode(), "not a JSON array"),
        (json.dumps([{"endTime": "2024-03-01 20:34", "msPlayed": 1}]).encode(), "entry 0 has no"),
    ],
)
def test_a_truncated_or_unknown_file_is_a_bad_export_with_its_reason(tmp_path, data, reason):
    name = "Streaming_History_Audio_2024.json"
    [file] = files_of(write_export(tmp_path / "export", {name: data}))
    with pytest.raises(BadExport, match=reason) as raised:
        entries(file)
    assert raised.value.name == name


def test_a_file_damaged_inside_the_zip_is_a_bad_export_naming_that_file(tmp_path):
    name = "Spotify Extended Streaming History/Streaming_History_Audio_2024.json"
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr(name, json.dumps([entry(ts=f"2024-03-01T20:{m:02d}:00Z") for m in range(60)]))
    data = bytearray(archive.read_bytes())
    middle = data.index(b"PK\x01\x02") // 2  # inside the member's compressed bytes
    data[middle : middle + 8] = b"\x00" * 8
    archive.write_bytes(bytes(data))
    [file] = files_of(archive)
    with pytest.raises(BadExport, match="cannot be read from export.zip") as raised:
        entries(file)
    assert raised.value.name == name


def test_a_path_that_does_not_exist_is_refused_saying_so(tmp_path):
    with pytest.raises(ValidationError, match="does not exist"):
        files_of(tmp_path / "my_spotify_data.zip")
