"""`spotify-etl import`: a privacy export into the lake's plays, exactly, privately, and
the same whichever comes first, the export or the API's polls."""

from __future__ import annotations

import gzip
import io
import json
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from chalicelib.accounts import AccountLake
from chalicelib.lake import LocalLake, get_json
from chalicelib.runs import RunStore
from chalicelib.schema import TABLES, stored_schema
from chalicelib.transform.write import split_days
from spotify_etl.cli import main
from tests.history.exports import PERSONAL, export_entry

pytestmark = pytest.mark.account(seed=5, clocked=True)


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def export_of(emulator) -> list[dict]:
    """The account's whole history as Spotify's export says it: each play ending a second
    after the API's played_at (the export counts seconds), plus what only an export holds:
    a skipped play, an entry without a URI, a private session's play."""
    account = emulator.account
    catalog = emulator.world.catalog.tracks
    mine = {"username": account.user.id}  # Spotify's username is the account's user ID
    entries = [
        export_entry(
            iso(play.played_at_ms + 1_000),
            play.track_id,
            catalog[play.track_id].duration_ms,
            **mine,
        )
        for play in account.plays
    ]
    first = account.plays[-1]
    entries += [
        export_entry(iso(first.played_at_ms - 3_600_000), first.track_id, 12_000, **mine),
        export_entry(iso(first.played_at_ms - 7_200_000), None, 50_000, **mine),
        export_entry(
            iso(first.played_at_ms - 9_000_000),
            first.track_id,
            90_000,
            incognito_mode=True,
            **mine,
        ),
    ]
    return entries


def write_zip(path, entries: list[dict]):
    half = len(entries) // 2
    with zipfile.ZipFile(path, "w") as archive:
        for index, part in enumerate((entries[:half], entries[half:])):
            name = f"Spotify Extended Streaming History/Streaming_History_Audio_{index}.json"
            archive.writestr(name, json.dumps(part))
        archive.writestr("Spotify Extended Streaming History/ReadMeFirst.pdf", b"%PDF")
    return path


def plays(account_lake: LocalLake) -> list[dict]:
    rows = []
    for key in sorted(account_lake.list(TABLES["plays"].prefix())):
        table = pq.read_table(io.BytesIO(account_lake.get(key)))
        assert table.schema.remove_metadata() == stored_schema(TABLES["plays"])
        rows += table.drop_columns(["played_date"]).to_pylist()
    return rows


def every_byte(lake: LocalLake) -> bytes:
    """Everything the lake holds, raw pages decompressed."""
    blobs = []
    for key in lake.list(""):
        data = lake.get(key)
        blobs.append(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    return b"\n".join(blobs)


def test_an_import_makes_one_play_per_entry_and_stores_nothing_personal(
    env, lake, account_lake, emulator, clock, tmp_path, capsys
):
    entries = export_of(emulator)
    assert main(["import", str(write_zip(tmp_path / "my_spotify_data.zip", entries))]) == 0
    rows = plays(account_lake)
    kept = [e for e in entries if e["spotify_track_uri"] and not e["incognito_mode"]]
    assert len(rows) == len(kept) and {r["source"] for r in rows} == {"export"}
    skipped = next(r for r in rows if r["ms_played"] == 12_000)
    assert skipped["skipped"] is True and skipped["platform"].startswith("Android")
    text = every_byte(lake) + capsys.readouterr().out.encode()
    assert not any(value.encode() in text for value in PERSONAL.values())
    # The username is the account's user ID, which names its folders (SPEC §9): no entry
    # keeps it.
    assert b'"username"' not in text
    [record] = RunStore(account_lake).recent()
    assert (record.kind, record.status) == ("import", "transformed")
    assert record.counts == {"files": 2, "entries": len(entries)}
    assert record.transform["plays"] == {"new": len(kept), "merged": 0, "known": 0, "duplicates": 0}


def test_importing_the_export_again_changes_nothing_and_says_all_was_imported_before(
    env, account_lake, emulator, tmp_path, capsys
):
    export = write_zip(tmp_path / "export.zip", export_of(emulator))
    main(["import", str(export)])
    before = plays(account_lake)
    capsys.readouterr()
    assert main(["import", str(export)]) == 0
    assert plays(account_lake) == before
    fared = sorted((r.transform["plays"] for r in RunStore(account_lake).recent()), key=str)
    n = len(before)
    assert fared == [
        {"new": 0, "merged": 0, "known": n, "duplicates": 0},
        {"new": n, "merged": 0, "known": 0, "duplicates": 0},
    ]
    out = " ".join(capsys.readouterr().out.split())
    assert f"imported before │ {len(before)} " in out.replace(",", "")


def counted(out: str) -> dict[str, int]:
    """The counts `spotify-etl import` printed, by what each counts."""
    rows = re.findall(r"^ ?(.+?) +│ ([0-9,]+) *$", out, re.MULTILINE)
    return {what: int(count.replace(",", "")) for what, count in rows}


# What became of an import's plays, each one counted once.
FARED = (
    "new plays",
    "merged with the API's plays",
    "imported before",
    "duplicates within the export",
)


def test_an_entry_an_export_holds_twice_is_one_play_counted_as_a_duplicate_on_every_import(
    env, account_lake, emulator, tmp_path, capsys
):
    entries = export_of(emulator)
    export = write_zip(tmp_path / "export.zip", [*entries, dict(entries[0])])  # as real ones do
    assert main(["import", str(export)]) == 0
    first = counted(capsys.readouterr().out)
    kept = len(plays(account_lake))
    assert main(["import", str(export)]) == 0
    again = counted(capsys.readouterr().out)
    assert len(plays(account_lake)) == kept
    fared = sorted((r.transform["plays"] for r in RunStore(account_lake).recent()), key=str)
    assert fared == [
        {"new": 0, "merged": 0, "known": kept, "duplicates": 1},
        {"new": kept, "merged": 0, "known": 0, "duplicates": 1},
    ]
    for said, new, before in ((first, kept, 0), (again, 0, kept)):
        assert [said[what] for what in FARED] == [new, 0, before, 1]
        assert said["plays"] == kept + 1 == sum(said[what] for what in FARED)


def test_an_import_s_counts_add_up_to_its_plays_where_it_merges_with_the_api_s(
    env, account_lake, emulator, tmp_path, capsys
):
    assert main(["extract", "--kind", "plays"]) == 0
    entries = export_of(emulator)
    polled = iso(emulator.account.recent_plays[0].played_at_ms + 1_000)
    seen = next(entry for entry in entries if entry["ts"] == polled)
    assert main(["import", str(write_zip(tmp_path / "e.zip", [*entries, dict(seen)]))]) == 0
    said = counted(capsys.readouterr().out)
    assert said["merged with the API's plays"] > 0 and said["duplicates within the export"] == 1
    assert said["plays"] == sum(said[what] for what in FARED)


def test_import_then_extract_equals_extract_then_import(env, emulator, tmp_path, monkeypatch):
    export = write_zip(tmp_path / "export.zip", export_of(emulator))
    results = []
    for order in (["import", "extract"], ["extract", "import"]):
        lake = LocalLake(tmp_path / "-".join(order))
        monkeypatch.setenv("LAKE_URI", str(lake.root))
        for step in order:
            args = ["import", str(export)] if step == "import" else ["extract", "--kind", "plays"]
            assert main(args) == 0
        results.append(plays(AccountLake(lake, emulator.account.user.id)))
    assert results[0] == results[1]
    merged = [row for row in results[0] if row["source"] == "api+export"]
    contexts = {play.played_at_ms: play.context for play in emulator.account.recent_plays}
    for row in merged:  # the API's played_at and context, the export's fields
        context = contexts[int(row["played_at"].replace(tzinfo=UTC).timestamp() * 1000)]
        assert row["context_type"] == (context[0] if context else None)
        assert row["ms_played"] and row["platform"].startswith("Android")
    assert len({row["played_at"] for row in merged}) == len(merged) == len(contexts)
    assert not [row for row in results[0] if row["source"] == "api"]  # the export saw all
    # Whichever came second says how many of its plays merged with the first's.
    for order in (["import", "extract"], ["extract", "import"]):
        kind = {"import": "import", "extract": "plays"}[order[1]]
        lake = AccountLake(LocalLake(tmp_path / "-".join(order)), emulator.account.user.id)
        [second] = [r for r in RunStore(lake).recent() if r.kind == kind]
        assert second.transform["plays"]["merged"] == len(merged)


def test_an_older_versions_daily_plays_are_migrated_as_the_api_s_plays(
    env, account_lake, emulator, tmp_path, capsys
):
    assert main(["extract", "--kind", "plays"]) == 0
    api_plays = plays(account_lake)
    for key in list(
        account_lake.list(TABLES["plays"].prefix())
    ):  # as versions before sources wrote
        for day, table in split_days(
            "plays", pq.read_table(io.BytesIO(account_lake.get(key)))
        ).items():
            old = table.select(["played_at", "track_id", "context_type", "context_uri"])
            sink = io.BytesIO()
            pq.write_table(old, sink)
            account_lake.put(f"processed/plays/played_date={day}/data.parquet", sink.getvalue())
        Path(account_lake.uri(key)).unlink()
    capsys.readouterr()
    assert main(["migrate"]) == 0
    assert plays(account_lake) == api_plays
    assert "plays" in capsys.readouterr().out
    assert main(["migrate"]) == 0
    assert "nothing to migrate" in capsys.readouterr().out
    assert main(["import", str(write_zip(tmp_path / "e.zip", export_of(emulator)))]) == 0
    assert {row["source"] for row in plays(account_lake)} >= {"api+export"}


def test_a_damaged_zip_fails_the_import_with_its_reason_and_leaves_the_tables(
    env, account_lake, emulator, tmp_path, capsys
):
    assert main(["extract", "--kind", "plays"]) == 0
    before = plays(account_lake)
    export = write_zip(tmp_path / "my_spotify_data.zip", export_of(emulator))
    export.write_bytes(export.read_bytes()[:300])
    assert main(["import", str(export)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not a readable zip" in err
    assert plays(account_lake) == before
    failed = next(r for r in RunStore(account_lake).recent() if r.kind == "import")
    assert failed.status == "failed" and "nothing of this export was imported" in failed.errors[0]
    reason = get_json(account_lake, f"quarantine/{failed.run_id}/reason.json")
    assert reason["problems"][0]["key"] == "my_spotify_data.zip"


def test_the_basic_export_is_refused_saying_how_to_get_the_extended_one(
    env, lake, account_lake, tmp_path, capsys
):
    basic = [{"endTime": "2024-03-01 20:34", "artistName": "A", "trackName": "S", "msPlayed": 1}]
    path = tmp_path / "my_spotify_data.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("MyData/StreamingHistory_music_0.json", json.dumps(basic))
    assert main(["import", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1
    assert "Extended streaming history" in err and "spotify.com/account/privacy" in err
    assert not lake.root.exists()  # refused: no import record


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("nope.zip", "does not exist"),
        ("notes.txt", "is not a zip, a folder or a JSON file"),
        ("photos", "holds no Streaming_History_Audio"),
    ],
)
def test_a_path_that_holds_no_export_is_refused_with_an_error_and_leaves_no_run(
    env, lake, account_lake, tmp_path, capsys, given, said
):
    (tmp_path / "notes.txt").write_text("not an export")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "album.json").write_text("{}")
    assert main(["import", str(tmp_path / given)]) == 1
    out, err = capsys.readouterr()
    assert not out and err.startswith("error: ") and said in err
    assert len(err.strip().splitlines()) == 1
    assert not lake.root.exists()  # no import record, nothing written


def top(name: str, env: dict, start: str, end: str) -> list[dict]:
    from chalicelib.query import service
    from chalicelib.settings import Settings

    params = {"start_date": start, "end_date": end}
    if name != "listening_by_hour":
        params["limit"] = 1000
    result = service.run_named(Settings.from_env(env), name, params, 25, page_size=1000)
    names = [column["name"] for column in result["columns"]]
    return [dict(zip(names, row, strict=True)) for row in result["rows"]]


def test_imported_history_is_ranked_at_once_by_the_export_s_names_counting_streams(
    env, account_lake, emulator, tmp_path
):
    entries = export_of(emulator)
    assert main(["import", str(write_zip(tmp_path / "e.zip", entries))]) == 0
    streams = [e for e in entries if e["spotify_track_uri"] and not e["incognito_mode"]]
    counted = [e for e in streams if e["ms_played"] >= 30_000]  # the 12 s skip does not count
    start, end = min(e["ts"] for e in entries)[:10], max(e["ts"] for e in entries)[:10]
    tracks = top("top_tracks", env, start, end)
    assert sum(row["plays"] for row in tracks) == len(counted) < len(streams)
    assert all(row["track_name"] == f"name of {row['track_id']}" for row in tracks)
    assert all(row["artist_names"] == "An Artist" for row in tracks)
    [artist] = top("top_artists", env, start, end)
    assert (artist["artist_name"], artist["plays"]) == ("An Artist", len(counted))
    hours = top("listening_by_hour", env, start, end)
    assert sum(row["plays"] for row in hours) == len(counted)


def query(name: str, env: dict, **params) -> list[dict]:
    from chalicelib.query import service
    from chalicelib.settings import Settings

    result = service.run_named(Settings.from_env(env), name, params, 25, page_size=1000)
    names = [column["name"] for column in result["columns"]]
    return [dict(zip(names, row, strict=True)) for row in result["rows"]]


def period(entries: list[dict]) -> dict[str, str]:
    return {"start_date": min(e["ts"] for e in entries)[:10], "end_date": "2030-01-01"}


def test_listening_time_is_measured_from_an_export_and_estimated_from_the_api_alone(
    env, account_lake, emulator, tmp_path
):
    entries = export_of(emulator)
    dates = period(entries)
    assert main(["extract", "--kind", "plays"]) == 0
    api_only = query("listening_time", env, **dates)
    assert sum(row["measured_minutes"] or 0 for row in api_only) == 0
    assert sum(row["estimated_minutes"] or 0 for row in api_only) > 0
    assert main(["import", str(write_zip(tmp_path / "e.zip", entries))]) == 0
    days = query("listening_time", env, **dates)
    months = query("listening_time", env, **dates, monthly=1)
    imported = [e for e in entries if e["spotify_track_uri"] and not e["incognito_mode"]]
    assert sum(row["plays"] for row in days) == len(imported) == sum(r["plays"] for r in months)
    measured = round(sum(e["ms_played"] for e in imported) / 60000, 1)
    assert abs(sum(row["measured_minutes"] for row in days) - measured) < 0.1 * len(days)
    assert all(row["estimated_minutes"] is None for row in days)  # the export saw every play
    assert {row["period"][:7] for row in days} == {row["period"] for row in months}


def test_skip_rate_and_coverage_describe_the_imported_history(
    env, account_lake, emulator, tmp_path
):
    entries = export_of(emulator)
    assert main(["import", str(write_zip(tmp_path / "e.zip", entries))]) == 0
    assert main(["extract", "--kind", "plays"]) == 0
    dates = period(entries)
    skipped_track = next(e for e in entries if e["ms_played"] == 12_000)["spotify_track_uri"]
    [worst] = query("skip_rate", env, **dates, min_plays=1, limit=1)
    assert worst["track_id"] == skipped_track.rsplit(":", 1)[1] and worst["skips"] == 1
    coverage = query("history_coverage", env, **dates)
    assert sum(row["plays"] for row in coverage) == len(plays(account_lake))
    assert sum(row["both_sources"] for row in coverage) > 0 and not any(
        row["api_only"] for row in coverage
    )
    assert all(
        row["plays"] == row["api_only"] + row["export_only"] + row["both_sources"]
        for row in coverage
    )


def test_rebuilding_every_run_gives_the_same_plays(env, account_lake, emulator, tmp_path):
    assert main(["extract", "--kind", "plays"]) == 0
    assert main(["import", str(write_zip(tmp_path / "e.zip", export_of(emulator)))]) == 0
    before = plays(account_lake)
    assert main(["transform", "--all"]) == 0
    assert plays(account_lake) == before
