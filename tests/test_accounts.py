"""Several listeners in one deployment (SPEC §9), on the emulator serving three users of one
app: each account's runs, tables, queries, dashboard and links are its own, exactly as if it
were alone in a lake; they are extracted in turn under one rate limit; `forget` removes one
and leaves the others byte for byte."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from stand_ins import START

from chalicelib import links, pipeline
from chalicelib.accounts import ACCOUNT, AccountLake, register, registered
from chalicelib.dashboard import data
from chalicelib.pipeline.credentials import read_accounts_file
from chalicelib.query import service
from chalicelib.runs import RunStore
from chalicelib.settings import Settings
from emulator import Scale
from spotify_etl.cli import main
from tests.spotify.test_pacing import WINDOW, busiest_window

SCALE = Scale(playlists=4, entries=30, saved_tracks=40, top_items=20)
pytestmark = pytest.mark.account(seed=5, users=3, scale=SCALE, clocked=True)
PERIOD = {"start_date": "2026-11-01", "end_date": "2026-11-30"}
QUERIES = ("top_tracks", "top_artists", "listening_by_hour", "playlist_changes", "skip_rate")


@pytest.fixture
def three_listeners(env, emulator, tmp_path, monkeypatch) -> dict[str, str]:
    """The three users' tokens in the accounts file, no SPOTIFY_REFRESH_TOKEN."""
    path = emulator.write_accounts_file(tmp_path / ".spotify-accounts.json")
    monkeypatch.delenv("SPOTIFY_REFRESH_TOKEN")
    monkeypatch.setenv("SPOTIFY_ACCOUNTS_FILE", str(path))
    return {k: v for k, v in {**env, "SPOTIFY_ACCOUNTS_FILE": str(path)}.items()
            if k != "SPOTIFY_REFRESH_TOKEN"}  # fmt: skip


def extract_all(variables, clock, **options):
    settings = Settings.from_env(variables)
    return pipeline.extract_and_transform_accounts(
        settings, now=clock.now, sleep=clock.sleep, **options
    )


def answers(lake_root, account) -> dict:
    settings = Settings.from_env({"LAKE_URI": str(lake_root), "QUERY_ENGINE": "duckdb"})
    return {
        name: service.run_named(settings, name, {**PERIOD, "account": account})["rows"]
        for name in QUERIES
    }


def test_three_accounts_side_by_side_read_as_each_would_alone(
    three_listeners, emulator, clock, lake, tmp_path
):
    records = extract_all(three_listeners, clock)
    users = [user.user_id for user in emulator.users]
    assert sorted(r.account for r in records) == sorted(users)
    assert {r.status.value for r in records} == {"transformed"}
    assert list(registered(lake)) == sorted(users)
    for user in emulator.users:  # the same account alone in a lake of its own
        alone = tmp_path / f"alone-{user.user_id}"
        variables = {**three_listeners, "LAKE_URI": str(alone)}
        settings = Settings.from_env(variables)
        pipeline.extract_and_transform(
            settings, account=user.user_id, now=clock.now, sleep=clock.sleep
        )
        shared, single = answers(lake.root, user.user_id), answers(alone, user.user_id)
        assert shared == single, user.user_id
        assert shared["top_tracks"], "every listener has plays"
        runs = RunStore(AccountLake(lake, user.user_id)).recent()
        assert [r.account for r in runs] == [user.user_id]
    tops = [answers(lake.root, u)["top_tracks"] for u in users]
    assert tops[0] != tops[1] != tops[2]


def test_a_read_without_an_account_lists_them_and_exits_2(three_listeners, emulator, clock, capsys):
    extract_all(three_listeners, clock)
    capsys.readouterr()
    for argv in (["query", "top_tracks"], ["runs"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert all(user.user_id in err for user in emulator.users) and "--account" in err
    assert main(["accounts", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [entry["account"] for entry in listed] == sorted(u.user_id for u in emulator.users)
    assert all(entry["plays"] > 0 and entry["display_name"] for entry in listed)


def test_the_dashboard_and_a_signed_link_show_one_account_only(
    three_listeners, emulator, clock, lake, monkeypatch
):
    extract_all(three_listeners, clock)
    settings = Settings.from_env({**three_listeners, "DASHBOARD_KEY": "k" * 40})
    period = data.Period.of(None, None, (START + timedelta(days=1)).date())
    first, second, _ = (user.user_id for user in emulator.users)
    mine, theirs = data.load(settings, period, first), data.load(settings, period, second)
    assert {r.account for r in mine.runs} == {first} and {r.account for r in theirs.runs} == {
        second
    }
    assert mine.rows["top_tracks"] != theirs.rows["top_tracks"]
    link = links.make("k" * 40, "https://example.org/api", 1, second)
    params = {k: v[0] for k, v in parse_qs(urlsplit(link.url).query).items()}
    assert links.check("k" * 40, params) == second
    with pytest.raises(links.LinkRefused, match="changed"):
        links.check("k" * 40, {**params, "account": first})


def test_an_import_lands_under_the_account_named(three_listeners, emulator, clock, lake, tmp_path):
    from emulator.export import write_export

    extract_all(three_listeners, clock)
    second = emulator.users[1].user_id
    export = write_export(emulator.world, tmp_path / "e.zip", clock.time(), days=10,
                          user_id=second)  # fmt: skip
    settings = Settings.from_env(three_listeners)
    record = pipeline.import_history(settings, export, now=clock.now)  # its username says
    assert record.account == second and record.status.value == "transformed"
    others = [u.user_id for u in emulator.users if u.user_id != second]
    for account in others:
        assert not any(r.kind == "import" for r in RunStore(AccountLake(lake, account)).recent())
    assert main(["import", str(export), "--account", others[0]]) == 0  # named: as told
    assert any(r.kind == "import" for r in RunStore(AccountLake(lake, others[0])).recent())


def test_forget_lists_then_removes_every_object_of_one_account_and_its_token(
    three_listeners, emulator, clock, lake, capsys
):
    extract_all(three_listeners, clock)
    gone, *kept = (user.user_id for user in emulator.users)
    before = {key: lake.get(key) for key in lake.list("")}
    capsys.readouterr()
    assert main(["forget", "--account", gone]) == 0  # without --yes: only a list
    listed = capsys.readouterr()
    assert f"{ACCOUNT}={gone}" in listed.out and "nothing removed" in listed.err
    assert {key: lake.get(key) for key in lake.list("")} == before
    assert main(["forget", "--account", gone, "--yes"]) == 0
    out = capsys.readouterr().out
    assert "removed" in out and "raw" in out
    after = {key: lake.get(key) for key in lake.list("")}
    assert not [key for key in after if f"{ACCOUNT}={gone}/" in key]
    for key, value in before.items():
        if f"{ACCOUNT}={gone}/" not in key and not key.startswith(
            ("state/accounts.json", "state/executions/")
        ):
            assert after[key] == value, key  # the others', byte for byte
    assert list(registered(lake)) == sorted(kept)
    assert gone not in read_accounts_file(Path(three_listeners["SPOTIFY_ACCOUNTS_FILE"]))
    records = extract_all(three_listeners, clock)
    assert sorted(r.account for r in records) == sorted(kept)  # its token is gone too


def test_the_accounts_extracted_in_turn_share_one_rate_limit(
    three_listeners, emulator, clock, tmp_path
):
    """The busiest rolling 30 s across all three accounts holds at most SPOTIFY_RATE_LIMIT,
    and they ask what the three runs alone ask."""
    limit = 10
    paced = {**three_listeners, "SPOTIFY_RATE_LIMIT": str(limit)}
    records = extract_all(paced, clock)
    assert {r.status.value for r in records} == {"transformed"}
    arrivals = list(emulator.arrivals)
    assert len(arrivals) == sum(r.counts["requests"] for r in records) > 3 * limit
    assert busiest_window(arrivals) <= limit
    assert arrivals[-1][0] - arrivals[0][0] >= (len(arrivals) - limit) * WINDOW / limit
    clock.moment = START
    alone = 0
    for user in emulator.users:
        settings = Settings.from_env({**paced, "LAKE_URI": str(tmp_path / user.user_id)})
        record = pipeline.extract(settings, account=user.user_id, now=clock.now, sleep=clock.sleep)
        alone += record.counts["requests"]
    assert alone == len(arrivals)


def test_a_long_retry_after_for_one_account_holds_every_accounts_runs_until_it_passed(
    three_listeners, emulator, clock
):
    from emulator import Faults

    emulator.faults = Faults(rate_limit=1.0, retry_after=4 * 3600)  # "come back in 4 hours"
    first, *others = extract_all(three_listeners, clock)
    assert first.status.value == "partial"
    assert [r.status.value for r in others] == ["skipped", "skipped"]
    assert all("Spotify asked the app to wait until" in r.errors[0] for r in others)
    assert len(emulator.arrivals) == 1  # the first account's GET /me, answered 429
    emulator.faults = Faults()
    clock.moment += timedelta(hours=4, minutes=1)
    assert {r.status.value for r in extract_all(three_listeners, clock)} == {"transformed"}


def test_an_account_whose_run_fails_does_not_stop_the_others(three_listeners, emulator, clock):
    extract_all(three_listeners, clock)
    refused, *working = emulator.users
    emulator.revoke_refresh_token(refused.refresh_token)
    clock.moment += timedelta(minutes=30)
    records = {r.account: r for r in extract_all(three_listeners, clock)}
    assert records[refused.user_id].status.value == "failed"
    assert "spotify-etl auth" in records[refused.user_id].errors[0]
    assert {records[user.user_id].status.value for user in working} == {"transformed"}


def test_a_one_account_token_is_recorded_as_whose_get_me_says_not_as_the_lakes_only_one(
    env, emulator, clock, lake
):
    first, second, _ = emulator.users
    register(lake, first.user_id, {})
    settings = Settings.from_env({**env, "SPOTIFY_REFRESH_TOKEN": second.refresh_token})
    record = pipeline.extract(settings, now=clock.now, sleep=clock.sleep)
    assert record.account == second.user_id
    assert [r.run_id for r in RunStore(AccountLake(lake, second.user_id)).recent()] == [
        record.run_id
    ]
    assert RunStore(AccountLake(lake, first.user_id)).recent() == []


def test_a_run_of_a_known_account_leaves_the_register_as_it_was(three_listeners, clock, lake):
    """The register is read once per run and written only for an account new or renamed."""
    from chalicelib.accounts import REGISTER

    extract_all(three_listeners, clock)
    before = lake.get_versioned(REGISTER)
    clock.moment += timedelta(minutes=30)
    extract_all(three_listeners, clock)
    assert lake.get_versioned(REGISTER) == before
