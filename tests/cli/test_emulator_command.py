"""`spotify-etl emulator` with several users: who they are, their tokens in an accounts file,
and whose privacy export --export writes; with one user, what it always printed."""

import json
import stat
import zipfile

import pytest

from emulator import Emulator
from spotify_etl.cli import main


@pytest.fixture
def served(env, monkeypatch):
    """`spotify-etl emulator` returns once it has printed, instead of serving until Ctrl-C."""
    monkeypatch.setattr(Emulator, "wait", lambda self: None)


def _exported(out: str) -> dict[str, str]:
    pairs = (line.removeprefix("export ").split("=", 1) for line in out.splitlines()
             if line.startswith("export "))  # fmt: skip
    return dict(pairs)


def test_one_user_prints_the_variables_it_always_did(served, capsys):
    assert main(["emulator", "--port", "0"]) == 0
    out = capsys.readouterr().out
    assert list(_exported(out)) == [
        "SPOTIFY_API_URL", "SPOTIFY_AUTH_URL", "SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET",
        "SPOTIFY_REFRESH_TOKEN", "SPOTIFY_RATE_LIMIT",
    ]  # fmt: skip
    assert out.startswith("Spotify emulator serving; point the pipeline at it with:")


def test_several_users_write_their_tokens_to_the_accounts_file_it_names(served, tmp_path, capsys):
    path = tmp_path / "accounts.json"
    assert main(["emulator", "--port", "0", "--users", "3", "--accounts-file", str(path)]) == 0
    exported = _exported(capsys.readouterr().out)
    assert exported["SPOTIFY_ACCOUNTS_FILE"] == str(path.resolve())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    accounts = json.loads(path.read_text())
    assert len(accounts) == 3
    assert all(set(account) == {"refresh_token"} for account in accounts.values())
    assert exported["SPOTIFY_REFRESH_TOKEN"] == next(iter(accounts.values()))["refresh_token"]


def test_several_users_without_an_accounts_file_are_listed_with_their_tokens(served, capsys):
    assert main(["emulator", "--port", "0", "--users", "2"]) == 0
    out = capsys.readouterr().out
    assert "--accounts-file PATH writes their tokens" in out
    assert "Zoë Ångström" in out and "Håkon Ødegård" in out
    assert "SPOTIFY_ACCOUNTS_FILE" not in _exported(out)


def test_export_writes_the_history_of_the_user_named(served, tmp_path, capsys):
    users = Emulator(users=2).users
    path = tmp_path / "theirs.zip"
    argv = ["emulator", "--port", "0", "--users", "2", "--export", str(path)]
    assert main([*argv, "--user", users[1].user_id]) == 0
    assert f"wrote {users[1].user_id}'s privacy export" in capsys.readouterr().out
    with zipfile.ZipFile(path) as archive:
        audio = next(n for n in archive.namelist() if "Streaming_History_Audio" in n)
        entries = json.loads(archive.read(audio))
    assert {entry["username"] for entry in entries} == {users[1].user_id}
