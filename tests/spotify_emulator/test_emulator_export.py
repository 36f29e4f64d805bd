"""The emulator's privacy export agrees with the account the API serves, and holds what only
an export does: skips, episodes, video, entries without a URI, private sessions, personal
fields."""

import json
import math
import zipfile
from datetime import datetime

from emulator.account import DAY, World
from emulator.config import Scale
from emulator.export import export_entries, write_export

START = 1_764_633_600.0  # 2025-12-02T00:00:00Z
NOW = START + 2 * DAY


def seconds(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def test_every_play_the_api_has_is_one_whole_entry_ending_at_its_played_at() -> None:
    world = World(3, Scale(), START)
    ended = {}
    for entry in export_entries(world, NOW, days=10):
        if entry["spotify_track_uri"] and not entry["skipped"] and not entry["incognito_mode"]:
            ended[seconds(entry["ts"]), entry["spotify_track_uri"]] = entry["ms_played"]
    plays = world.newest_plays(NOW, None)
    assert len(plays) == 9 * Scale().plays_per_day
    for play in plays:
        key = (math.ceil(play.played_at_ms / 1000), f"spotify:track:{play.track_id}")
        assert ended[key] == world.catalog.tracks[play.track_id].duration_ms


def test_older_history_comes_before_the_api_s_and_nothing_after_now() -> None:
    world = World(3, Scale(), START)
    entries = export_entries(world, NOW, days=30, per_day=10)
    times = [seconds(entry["ts"]) for entry in entries]
    assert min(times) < world.history_start - 29 * DAY
    assert max(times) <= NOW + 1
    assert sum(t < world.history_start for t in times) >= 30 * 10


def test_it_holds_what_only_an_export_knows_and_every_personal_field() -> None:
    entries = export_entries(World(3, Scale(), START), NOW, days=60)
    assert any(e["skipped"] and e["ms_played"] < 30_000 for e in entries)
    assert any(e["spotify_episode_uri"] and e["spotify_track_uri"] is None for e in entries)
    assert any(e["spotify_track_uri"] is None and e["spotify_episode_uri"] is None for e in entries)
    assert any(e["incognito_mode"] for e in entries)
    assert all(
        {"ip_addr", "user_agent_decrypted", "username", "conn_country"} <= set(e) for e in entries
    )


def test_the_zip_is_laid_out_as_spotify_sends_it_and_holds_every_entry(tmp_path) -> None:
    world = World(3, Scale(), START)
    path = write_export(world, tmp_path / "my_spotify_data.zip", NOW, days=200)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        held = [e for n in names if n.endswith(".json") for e in json.loads(archive.read(n))]
    audio = [n for n in names if "/Streaming_History_Audio_" in n]
    assert len(audio) >= 1 and any("/Streaming_History_Video_" in n for n in names)
    assert all(n.startswith("Spotify Extended Streaming History/") for n in names)
    assert sorted(held, key=json.dumps) == sorted(
        export_entries(world, NOW, days=200), key=json.dumps
    )


def test_the_export_is_the_same_for_the_same_account() -> None:
    first = export_entries(World(4, Scale(), START), NOW, days=5)
    assert first == export_entries(World(4, Scale(), START), NOW, days=5)
    assert first != export_entries(World(5, Scale(), START), NOW, days=5)


def test_each_user_s_export_is_their_own_history_and_the_first_user_s_is_the_default(
    tmp_path,
) -> None:
    world = World(3, Scale(), START, users=3)
    first, later = (listener.user.id for listener in world.listeners[:2])
    default = export_entries(world, NOW, days=10)
    assert default == export_entries(World(3, Scale(), START), NOW, days=10)
    assert default == export_entries(world, NOW, days=10, user_id=first)
    theirs = export_entries(world, NOW, days=10, user_id=later)
    assert {e["username"] for e in theirs} == {later}
    played = {(math.ceil(p.played_at_ms / 1000), f"spotify:track:{p.track_id}")
              for p in world.newest_plays(NOW, None, later)}  # fmt: skip
    assert played <= {(seconds(e["ts"]), e["spotify_track_uri"]) for e in theirs}
    path = write_export(world, tmp_path / "theirs.zip", NOW, days=10, user_id=later)
    with zipfile.ZipFile(path) as archive:
        held = [e for n in archive.namelist() if n.endswith(".json")
                for e in json.loads(archive.read(n))]  # fmt: skip
    assert sorted(held, key=json.dumps) == sorted(theirs, key=json.dumps)
