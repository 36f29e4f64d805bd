"""`spotify-etl` commands run in-process through main(), on the emulator and a local lake."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.accounts import register
from chalicelib.lake import get_json
from chalicelib.lease import Lease
from chalicelib.query.named import load_queries
from spotify_etl.cli import SKIPPED_EXIT, main


def test_extract_prints_the_run_and_its_counts_and_exits_0(env, lake, capsys):
    assert main(["extract"]) == 0
    out = capsys.readouterr().out
    [key] = list(lake.list("runs/"))
    record = get_json(lake, key)
    assert record["run_id"] in out and "transformed" in out
    assert "requests" in out and "playlist_items" in out


def test_extract_while_another_holds_the_lease_exits_4_saying_which_and_asks_nothing(
    env, lake, account_lake, listener, emulator, capsys
):
    register(lake, listener, {})  # a lake that knows its account from earlier runs
    Lease.take(lake, "20261120T120000Z-abcdef", datetime.now(UTC), lambda: 900)
    assert main(["extract"]) == SKIPPED_EXIT == 4
    printed = capsys.readouterr()
    assert ": skipped" in printed.out
    assert "20261120T120000Z-abcdef holds the extract lease" in printed.err
    assert sum(emulator.requests.values()) == 0 and not list(lake.list("raw/"))
    [key] = list(account_lake.list("runs/"))
    assert get_json(account_lake, key)["status"] == "skipped"


def test_extract_of_chosen_streams_reads_only_those(env, lake, emulator):
    assert main(["extract", "--streams", "saved"]) == 0
    assert emulator.requests["GET /v1/me/playlists"] == 0
    assert emulator.requests["GET /v1/me/tracks"] > 0


def test_a_missing_setting_exits_1_with_one_line_naming_it(env, monkeypatch, capsys):
    monkeypatch.delenv("SPOTIFY_REFRESH_TOKEN")
    assert main(["extract"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "SPOTIFY_REFRESH_TOKEN" in err


def test_extract_without_credentials_is_refused_with_what_to_set_and_leaves_no_run(
    env, lake, without_credentials, capsys
):
    assert main(["extract"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1
    assert "SPOTIFY_REFRESH_TOKEN" in err and "spotify-etl auth" in err
    assert not lake.root.exists()  # no run record, nothing written


def test_a_run_that_fails_once_started_still_leaves_its_failed_record(
    env, lake, account_lake, listener, emulator, capsys
):
    register(lake, listener, {})  # a lake that knows its account from earlier runs
    emulator.revoke_refresh_token()
    assert main(["extract"]) == 1
    [key] = list(account_lake.list("runs/"))
    record = get_json(account_lake, key)
    assert record["status"] == "failed" and "spotify-etl auth" in record["errors"][0]
    assert capsys.readouterr().err.startswith("error: ")


def test_an_unknown_stream_is_refused_by_the_parser(env):
    with pytest.raises(SystemExit) as exited:
        main(["extract", "--streams", "podcasts"])
    assert exited.value.code == 2


def test_query_results_print_as_json_and_csv(env, capsys):
    main(["extract"])
    capsys.readouterr()
    params = ["--param", "start_date=2000-01-01", "--param", "end_date=2100-01-01"]
    assert main(["query", "top_tracks", *params, "--param", "limit=2", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["rank"] for row in rows] == [1, 2]
    assert main(["query", "listening_by_hour", *params, "--format", "csv"]) == 0
    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert table[0] == ["weekday", "hour", "plays"] and len(table) > 1


def test_a_bad_query_parameter_exits_1_with_the_reason(env, capsys):
    assert main(["query", "top_tracks", "--param", "limit=lots"]) == 1
    assert "limit" in capsys.readouterr().err


def test_query_without_a_name_lists_the_named_queries(env, capsys):
    assert main(["query"]) == 0
    out = capsys.readouterr().out
    assert "top_artists" in out and "playlist_changes" in out


def test_runs_lists_recent_runs(env, capsys):
    main(["extract", "--kind", "plays"])
    capsys.readouterr()
    assert main(["runs"]) == 0
    assert "plays" in capsys.readouterr().out


def test_transform_all_rebuilds_the_same_tables(env, lake):
    main(["extract"])
    before = {key: lake.get(key) for key in lake.list("processed/")}
    assert main(["transform", "--all"]) == 0
    assert {key: lake.get(key) for key in lake.list("processed/")} == before


def test_transform_of_one_run_replays_it(env, lake, capsys):
    main(["extract"])
    [key] = list(lake.list("runs/"))
    run_id = get_json(lake, key)["run_id"]
    capsys.readouterr()
    assert main(["transform", "--run", run_id]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"run {run_id}: transformed"  # one line, even when piped
    assert "plays" in out


def test_a_refresh_token_rotated_by_spotify_goes_back_into_the_dotenv(
    env, emulator, monkeypatch, tmp_path
):
    from dotenv import dotenv_values

    from emulator import Faults

    names = ("SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET", "SPOTIFY_REFRESH_TOKEN")
    (tmp_path / ".env").write_text("".join(f"{n}={env[n]}\n" for n in names))
    for name in names:
        monkeypatch.delenv(name)
    emulator.faults = Faults(rotate_refresh_token=True)
    assert main(["extract", "--streams", "saved"]) == 0
    stored = dotenv_values(tmp_path / ".env")["SPOTIFY_REFRESH_TOKEN"]
    assert stored != env["SPOTIFY_REFRESH_TOKEN"]
    assert (tmp_path / ".env").stat().st_mode & 0o777 == 0o600
    emulator.faults = Faults()
    emulator.revoke_refresh_token(env["SPOTIFY_REFRESH_TOKEN"])
    assert main(["extract", "--streams", "saved"]) == 0  # the new token works on its own


def test_a_rotated_refresh_token_from_the_environment_is_not_written_anywhere(
    env, emulator, tmp_path, capsys
):
    from emulator import Faults

    emulator.faults = Faults(rotate_refresh_token=True)
    assert main(["extract", "--streams", "saved"]) == 0
    assert not (tmp_path / ".env").exists()
    assert "new refresh token" in capsys.readouterr().err


def test_the_demo_imports_a_year_of_history_and_answers_every_query_over_it(tmp_path, capsys):
    assert main(["demo", "--lake", str(tmp_path / "demo"), "--days", "1"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "plays imported from a year of 2 listeners' privacy exports" in out
    assert "the artists Zoë Ångström and Håkon Ødegård share most" in out
    assert "skip_rate" in out and "no rows" not in out
    assert all(f"{name} (" in out for name in load_queries())
    year = (datetime.now(UTC) - timedelta(days=1 + 365 // 2)).year  # most of the export's
    assert f"{year} in review: 1 Jan" in out and "longest streak" in out
