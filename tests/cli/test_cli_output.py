"""What `spotify-etl` prints, as a person and a script read it: user input and error lines
as text (never Rich markup, never a traceback), rows a script can parse, arguments checked
by the parser (exit 2), and errors from AWS or the network in one line saying what to do."""

import csv
import io
import json
import os
import socket
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from rich.cells import cell_len

from chalicelib.accounts import register, registered
from chalicelib.lake import LocalLake
from chalicelib.runs import RunStore
from spotify_etl import output
from spotify_etl.cli import CLOSED_PIPE_EXIT, main
from tests.history.exports import export_entry


def one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    return lines[0]


@pytest.mark.parametrize(
    ("variables", "argv", "shown"),
    [
        ({"LAKE_URI": "s3://"}, ["runs"], "s3://bucket[/prefix]"),
        ({}, ["query", "top_tracks", "--param", "start_date=[/x]"], "'[/x]'"),
        ({}, ["query", "[/bold]"], "'[/bold]'"),
        ({}, ["transform", "--run", "[/a]"], "'[/a]'"),
        ({}, ["query", "top_tracks", "--param", "start_date=[red]x"], "'[red]x'"),
    ],
)
def test_input_that_looks_like_markup_is_printed_as_it_is(
    env, monkeypatch, capsys, variables, argv, shown
):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert main(argv) == 1
    assert shown in one_error_line(capsys)


def test_values_in_rows_are_printed_as_they_are(capsys):
    output.rows("[/title]", ["[/column]"], [["[/bold] and [red]x"], [["a", "b"]], [None]])
    out = capsys.readouterr().out
    assert "[/title]" in out and "[/column]" in out and "[/bold] and [red]x" in out
    assert '["a", "b"]' in out  # a list as JSON, not as a Python repr


def test_runs_print_as_json_the_records_get_runs_answers_and_as_csv(env, account_lake, capsys):
    assert main(["extract", "--streams", "saved"]) == 0
    capsys.readouterr()
    assert main(["runs", "--format", "json"]) == 0
    [run] = json.loads(capsys.readouterr().out)
    assert run == RunStore(account_lake).recent(1)[0].to_json()  # as GET /runs, types and all
    assert run["errors"] == [] and run["counts"]["requests"] > 0 and run["counts"]["saved_tracks"]
    assert main(["runs", "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0][0] == "run_id" and rows[1][0] == run["run_id"]


def test_the_query_list_gives_each_parameter_its_default_and_description(capsys):
    from chalicelib.query import named

    assert main(["query", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == named.describe()  # as GET /queries
    assert main(["query"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "limit (integer from 1 to 1000; default 10): how many tracks" in out
    assert "start_date (date; default today-30): first played date, inclusive" in out


def test_an_empty_result_says_no_rows_and_why(env, capsys):
    assert main(["extract", "--streams", "saved"]) == 0
    capsys.readouterr()
    dates = ["--param", "start_date=2001-01-01", "--param", "end_date=2001-01-31"]
    assert main(["query", "top_tracks", *dates]) == 0
    said = capsys.readouterr().out.splitlines()[-1]
    assert said.startswith("no rows: The tracks played most often between two dates")
    assert said.endswith("None for start_date=2001-01-01, end_date=2001-01-31, limit=10.")
    assert main(["query", "top_tracks", *dates, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == []  # a script reads no prose


def as_terminal(monkeypatch, columns: int) -> None:
    """Standard output as a terminal of this many columns, as Rich reads one."""
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("COLUMNS", str(columns))


def lines_of(out: str) -> list[str]:
    """Printed lines, as wide as the terminal shows them (a wide character takes two)."""
    return [line.rstrip() for line in out.splitlines()]


@pytest.mark.parametrize("columns", [100, 60, 20])
def test_however_narrow_the_terminal_an_id_is_never_broken(monkeypatch, capsys, columns):
    as_terminal(monkeypatch, columns)
    output.rows("t", ["playlist_id", "name"], [["jAr6ydRl5Kx9oZO6uXg1SQ", "Café del Mar ☕"]])
    assert "jAr6ydRl5Kx9oZO6uXg1SQ" in capsys.readouterr().out


def test_on_a_terminal_ids_and_dates_stay_whole_and_text_gives_way(
    env, emulator, monkeypatch, capsys
):
    assert main(["extract", "--streams", "saved"]) == 0
    emulator.revoke_refresh_token()
    assert main(["extract", "--streams", "saved"]) == 1
    capsys.readouterr()
    assert main(["runs", "--format", "json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    [error] = next(run["errors"] for run in runs if run["status"] == "failed")
    assert main(["runs"]) == 0  # into a pipe, nothing is wrapped
    assert any(error in line for line in lines_of(capsys.readouterr().out))
    as_terminal(monkeypatch, 100)
    assert main(["runs"]) == 0
    printed = lines_of(capsys.readouterr().out)
    assert max(map(cell_len, printed)) <= 100
    for run in runs:  # one line holds a run's ID and its start, each whole
        assert any(run["run_id"] in line and run["started_at"] in line for line in printed)
    errors = [line.split("│")[-1].strip() for line in printed if "│" in line]
    assert " ".join(filter(None, errors)) == " ".join(error.split())  # wrapped between words


def test_json_keeps_text_as_it_is_and_lists_as_arrays(capsys):
    output.rows("t", ["name", "genres"], [["Sigur Rós ✨", ["post-rock", "ambient"]]], "json")
    assert json.loads(capsys.readouterr().out) == [
        {"name": "Sigur Rós ✨", "genres": ["post-rock", "ambient"]}
    ]
    output.rows("t", ["name", "genres"], [["Sigur Rós", ["post-rock"]]], "json")
    assert "Sigur Rós" in capsys.readouterr().out  # not \\u00f3


@pytest.mark.integration  # the command line in a subprocess
def test_a_table_piped_into_a_file_is_not_wrapped(env, tmp_path):
    from chalicelib.query import named

    printed = subprocess.run(
        [sys.executable, "-m", "spotify_etl.cli", "query"],
        cwd=tmp_path,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for query in named.describe():
        [row] = [line for line in printed.splitlines() if f" {query['name']} " in line]
        assert query["description"] in row  # whole, on the query's own line


def test_a_repeated_param_is_refused(env, capsys):
    argv = ["query", "top_tracks", "--param", "limit=1", "--param", "limit=2"]
    assert main(argv) == 1
    assert "--param limit is given more than once" in one_error_line(capsys)


@pytest.mark.parametrize(
    "argv",
    [
        ["runs", "--limit", "0"],
        ["runs", "--limit", "many"],
        ["demo", "--days", "0"],
        ["demo", "--days", "-3"],
        ["emulator", "--port", "99999"],
        ["emulator", "--users", "0"],
        ["emulator", "--users", "6"],
        ["auth", "--port", "70000"],
    ],
)
def test_arguments_out_of_range_are_refused_by_the_parser(env, argv, capsys):
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    assert "a whole number from" in capsys.readouterr().err


def test_a_busy_port_for_the_emulator_is_one_line_asking_for_another(env, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        assert main(["emulator", "--port", str(busy.getsockname()[1])]) == 1
    assert "pass --port with a free port" in one_error_line(capsys)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--user", "someone"], "give --export PATH too"),
        (["--export", "e.zip", "--user", "someone"], "--user someone is none of the users"),
        (["--accounts-file", "missing/accounts.json"], "give --accounts-file a path in one"),
    ],
)
def test_an_emulator_user_or_path_it_cannot_use_is_one_line_before_it_serves(
    env, capsys, argv, said
):
    assert main(["emulator", "--port", "0", *argv]) == 1
    assert said in one_error_line(capsys)


def test_no_aws_credentials_is_one_line_saying_how_to_configure_them(
    env, monkeypatch, tmp_path, capsys
):
    import boto3

    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # no credentials an earlier test cached
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")  # nothing leaves the machine
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask the network for them
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("LAKE_URI", "s3://a-bucket-of-nobody")
    assert main(["runs"]) == 1
    assert "no AWS credentials found; configure them with `aws configure`" in one_error_line(capsys)


def test_a_run_cut_short_is_partial_with_its_own_exit_code(env, emulator, lake, listener, capsys):
    from emulator import Faults
    from spotify_etl.cli import PARTIAL_EXIT

    register(lake, listener, {})  # a lake that knows its account from earlier runs
    emulator.faults = Faults(rate_limit=1.0, retry_after=4 * 3600)  # "come back in 4 hours"
    assert main(["extract", "--streams", "saved"]) == PARTIAL_EXIT == 3
    assert ": partial" in capsys.readouterr().out
    assert main(["runs", "--format", "json"]) == 0
    [run] = json.loads(capsys.readouterr().out)
    assert (run["status"], run["extract"]) == ("partial", "partial")
    assert run["transform"]["status"] == "transformed"  # what it fetched is in the tables


def test_a_failed_run_exits_1_and_says_its_extract_failed(env, emulator, lake, listener, capsys):
    register(lake, listener, {})  # a lake that knows its account from earlier runs
    emulator.revoke_refresh_token()
    assert main(["extract"]) == 1
    capsys.readouterr()
    assert main(["runs", "--format", "json"]) == 0
    [run] = json.loads(capsys.readouterr().out)
    assert (run["status"], run["extract"], run.get("transform")) == ("failed", "failed", None)


def test_a_complete_run_exits_0_and_shows_both_steps(env, capsys):
    assert main(["extract", "--streams", "saved"]) == 0
    capsys.readouterr()
    assert main(["runs", "--format", "json"]) == 0
    [run] = json.loads(capsys.readouterr().out)
    assert (run["status"], run["extract"], run["transform"]["status"]) == (
        "transformed",
        "extracted",
        "transformed",
    )


def test_extract_with_the_lake_only_in_dotenv_transforms_the_lake_it_wrote(
    env, monkeypatch, tmp_path
):
    lake = tmp_path / "lake-from-dotenv"
    (tmp_path / ".env").write_text(f"LAKE_URI={lake}\n")
    monkeypatch.delenv("LAKE_URI")
    assert main(["extract", "--streams", "saved"]) == 0
    assert (lake / "processed" / "saved_tracks").is_dir()
    assert not (tmp_path / ".lake").exists()


def import_days(tmp_path, days: int) -> None:
    """An export of one play a day from 2019-01-01, imported into the test's lake."""
    first = datetime(2019, 1, 1, 12, tzinfo=UTC)
    entries = [
        export_entry(f"{first + timedelta(days=day):%Y-%m-%dT%H:%M:%SZ}", f"{day:022d}")
        for day in range(days)
    ]
    export = tmp_path / "my_spotify_data.zip"
    with zipfile.ZipFile(export, "w") as archive:
        archive.writestr("Streaming_History_Audio_2019.json", json.dumps(entries))
    assert main(["import", str(export)]) == 0


def test_a_query_prints_every_row_past_the_first_page_or_the_first_n_asked_for(
    env, tmp_path, capsys
):
    import_days(tmp_path, 150)
    capsys.readouterr()
    query = ["query", "history_coverage", "--param", "start_date=2019-01-01"]
    assert main([*query, "--param", "end_date=2019-12-31", "--format", "csv"]) == 0
    assert len(list(csv.reader(io.StringIO(capsys.readouterr().out)))) == 1 + 150
    assert main([*query, "--param", "end_date=2019-12-31", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 150
    assert main([*query, "--param", "end_date=2019-12-31", "--limit", "3", "--format", "json"]) == 0
    days = [row["played_date"] for row in json.loads(capsys.readouterr().out)]
    assert days == ["2019-01-01", "2019-01-02", "2019-01-03"]


@pytest.mark.integration  # a subprocess per format
@pytest.mark.parametrize("fmt", ["csv", "json", "table"])
def test_a_closed_pipe_stops_the_output_silently(env, tmp_path, fmt):
    """`spotify-etl query … | head -1`: the reader is gone before the rows are written."""
    import_days(tmp_path, 30)
    command = [sys.executable, "-m", "spotify_etl.cli", "query", "history_coverage"]
    reading = subprocess.Popen(
        [*command, "--param", "start_date=2019-01-01", "--format", fmt],
        cwd=tmp_path,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    reading.stdout.close()  # as `head` does once it has its line
    assert reading.wait(timeout=60) == CLOSED_PIPE_EXIT
    assert reading.stderr.read() == b""


def test_an_unreachable_spotify_says_what_to_check_and_that_the_next_run_resumes(
    env, monkeypatch, capsys
):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("SPOTIFY_AUTH_URL", f"http://127.0.0.1:{closed}")
    assert main(["extract"]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "ConnectionError; check the network and SPOTIFY_AUTH_URL" in captured.err
    assert "the next run starts where the last one ended" in captured.err


@pytest.mark.integration  # the emulator's own server, in a subprocess
def test_the_emulator_writes_its_accounts_export_and_says_it_needs_no_pacing(env, tmp_path):
    export = tmp_path / "my_spotify_data.zip"
    command = [sys.executable, "-m", "spotify_etl.cli", "emulator", "--port", "0"]
    serving = subprocess.Popen(
        [*command, "--export", str(export)],
        cwd=tmp_path,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        printed = []
        while not printed or "Ctrl-C stops it." not in printed[-1]:
            printed.append(serving.stdout.readline())
    finally:
        serving.terminate()
        serving.wait(timeout=30)
    said = "".join(printed)
    assert f"spotify-etl import {export}" in said and "export SPOTIFY_RATE_LIMIT=0" in said
    entries = int(said.split("privacy export, ")[1].split(" entries")[0].replace(",", ""))
    assert entries > 1000
    with zipfile.ZipFile(export) as archive:
        names = archive.namelist()
    assert any("Streaming_History_Audio" in name for name in names)
    assert main(["import", str(export)]) == 0


def test_the_demos_playlist_changes_on_a_terminal_keep_every_id_and_date_whole(
    monkeypatch, tmp_path, capsys
):
    """Too many columns for 100: each row prints as a record, a line per column."""
    from spotify_etl.demo import run_demo

    monkeypatch.chdir(tmp_path)
    run_demo(str(tmp_path / "lake"), days=2, seed=7, first_day=datetime(2026, 11, 1, tzinfo=UTC))
    monkeypatch.setenv("LAKE_URI", str(tmp_path / "lake"))
    [first, _] = registered(LocalLake(tmp_path / "lake"))
    query = ["query", "playlist_changes", "--account", first, "--param", "start_date=2026-11-01"]
    query += ["--param", "end_date=2026-11-02"]
    capsys.readouterr()
    assert main([*query, "--format", "json"]) == 0
    changes = json.loads(capsys.readouterr().out)
    as_terminal(monkeypatch, 100)
    assert main(query) == 0
    printed = lines_of(capsys.readouterr().out)
    assert max(map(cell_len, printed)) <= 100
    fields = [line.split(maxsplit=1) for line in printed]
    for change in changes:
        for name in ("playlist_id", "first_snapshot_date", "last_snapshot_date", "added_items"):
            assert [name, change[name]] in fields or not change[name]
    assert any(change["added_items"] for change in changes)
