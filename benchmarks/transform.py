"""The transform's speed and memory against the floor and against the tutorial transform.

    .venv/bin/python benchmarks/transform.py [--entries 100000] [--playlists 20] [--data DIR]

1. Raw data: the emulator serves an account of `--entries` readable playlist entries (plus
   the withheld playlists' metadata, ~2,000 saved tracks, top items and a day of plays
   polls); a real snapshot extract and the plays runs land it in a temporary local lake,
   as in production. `--data DIR` keeps that lake in DIR and reuses it on the next run.
2. Each measured thing runs in a fresh interpreter; its peak RSS comes from the kernel
   (`os.wait4`), its time from inside, imports excluded:
   - ours: `transform_all` over the lake, the nine tables from scratch;
   - floor: the same raw files parsed with orjson and the same nine tables' rows written
     with pyarrow, and nothing else (no checks, no digests, no run records);
   - tutorial: the transform of the popular "Spotify ETL" tutorials on the same playlist
     entries: stdlib json, per-row loops appending dicts, a pandas DataFrame per page and
     table, drop_duplicates, to_datetime, CSV. It makes three tables (songs, albums,
     artists) from playlist pages only; it is adapted just enough to run on 2026 answers
     (entries under `item` or `track`, null, local and episode entries skipped) and,
     kinder than the original, it parses one page at a time instead of all at once.
3. `python -X importtime` totals for importing `app` and importing the transform.

Targets: ours <= 2 x the floor, <= 0.5 x the tutorial, peak RSS <= 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from peak import run_python  # noqa: E402  (beside this file)

START = datetime(2026, 11, 20, 3, 15, tzinfo=UTC)
PLAYS_POLLS = 12  # one day of plays runs, every two hours after the snapshot
GIB = 1024**3
TARGETS = {"floor": 2.0, "tutorial": 0.5}
GZIP = 31  # zlib's wbits for a gzip stream


# 1. Raw data from the emulator, through real extract runs.


def generate(lake_root: Path, entries: int, playlists: int) -> None:
    """Extract one snapshot run and a day of plays runs from an emulated account."""
    from chalicelib import pipeline, raw
    from chalicelib.settings import Settings
    from emulator import Emulator, Scale

    readable = playlists - 2  # a followed and an editorial playlist are withheld
    scale = Scale(
        playlists=playlists,
        entries=-(-entries // readable),
        plays_per_day=600,
        saved_tracks=2000,
    )
    moment = [START]
    with Emulator(seed=7, scale=scale, clock=lambda: moment[0].timestamp()) as emu:
        settings = Settings.from_env(
            {
                "LAKE_URI": str(lake_root),
                "SPOTIFY_API_URL": emu.api_url,
                "SPOTIFY_AUTH_URL": emu.auth_url,
                "SPOTIFY_CLIENT_ID": emu.client_id,
                "SPOTIFY_CLIENT_SECRET": emu.client_secret,
                "SPOTIFY_REFRESH_TOKEN": emu.refresh_token,
            }
        )
        for poll in range(PLAYS_POLLS + 1):
            moment[0] = START + timedelta(hours=2 * poll)
            kind = raw.SNAPSHOT if poll == 0 else raw.PLAYS_ONLY
            record = pipeline.extract(
                settings, kind=kind, now=lambda: moment[0], sleep=lambda _: None
            )
            if not record.manifest:
                raise SystemExit(f"the {kind} extract failed: {record.errors}")


def raw_manifests(lake_root: Path) -> list[str]:
    from chalicelib import raw
    from chalicelib.lake import LocalLake

    return [k for k in LocalLake(lake_root).list(f"{raw.RAW}/") if raw.is_manifest_key(k)]


# 2. The measured things, each run in its own interpreter by `--measure NAME`.


def measure_ours(lake_root: Path, out: Path) -> dict:
    from chalicelib.lake import LocalLake
    from chalicelib.transform import transform_all

    lake = LocalLake(lake_root)
    started = time.perf_counter()
    summaries = transform_all(lake)
    seconds = time.perf_counter() - started
    failed = [s["run_id"] for s in summaries if s["status"] != "transformed"]
    return {"seconds": seconds, "rows": _parquet_rows(lake_root / "processed"), "failed": failed}


def measure_floor(lake_root: Path, out: Path) -> dict:
    """orjson over every raw part, the nine tables' rows in lists, pyarrow writes them."""
    import zlib

    import orjson
    import pyarrow as pa
    import pyarrow.parquet as pq

    from chalicelib.schema import TABLES, arrow_schema

    started = time.perf_counter()
    rows: dict[str, dict] = {name: {} for name in TABLES}
    played: dict[str, set] = {"tracks": set(), "albums": set(), "artists": set()}
    for manifest_key in raw_manifests(lake_root):
        manifest = orjson.loads((lake_root / manifest_key).read_bytes())
        for part in manifest["parts"]:
            data = zlib.decompress((lake_root / part["key"]).read_bytes(), GZIP)
            _floor_rows(rows, played, part, orjson.loads(data))
    played["track_artists"] = played["tracks"]  # a credit is played with its track
    for name, table_rows in rows.items():
        schema = arrow_schema(TABLES[name])
        values = table_rows.values()
        if name in played:
            values = [row + (row[0] in played[name],) for row in values]
        columns = list(zip(*values, strict=True)) or [()] * len(schema)
        table = pa.Table.from_arrays(
            [pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)],
            schema=schema,
        )
        pq.write_table(table, out / f"{name}.parquet", compression="zstd")
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": _parquet_rows(out)}


def _floor_rows(rows: dict[str, dict], played: dict[str, set], part: dict, answer: dict) -> None:
    stream = part["stream"]
    if stream == "playlist_items":
        for index, entry in enumerate(answer["items"]):
            item = entry and (entry.get("item") or entry.get("track"))
            if item:
                position = part["offset"] + index
                rows["playlist_items"][(part["playlist_id"], position)] = (
                    part["playlist_id"], position, item.get("type"), item.get("id"),
                    item.get("uri"), item.get("name"), _ms(entry.get("added_at")),
                    (entry.get("added_by") or {}).get("id"),
                )  # fmt: skip
                _floor_track(rows, item)
    elif stream == "playlists":
        for playlist in [answer] if part.get("playlist_id") else answer["items"]:
            owner = playlist.get("owner") or {}
            ref = playlist.get("items") or playlist.get("tracks") or {}
            rows["playlists"][playlist["id"]] = (
                playlist["id"], playlist.get("name"), playlist.get("description"),
                owner.get("id"), owner.get("display_name"), playlist.get("public"),
                playlist.get("collaborative"), playlist.get("snapshot_id"), ref.get("total"),
                True,
            )  # fmt: skip
    elif stream == "plays":
        for play in answer["items"]:
            context = play.get("context") or {}
            played_at = _ms(play["played_at"])
            rows["plays"][played_at] = (
                played_at,
                play["track"]["id"],
                context.get("type"),
                context.get("uri"),
            )
            _floor_track(rows, play["track"])
            album = play["track"].get("album") or {}
            played["tracks"].add(play["track"]["id"])
            played["albums"].add(album.get("id"))
            artists = [*play["track"].get("artists", []), *album.get("artists", [])]
            played["artists"].update(artist["id"] for artist in artists)
    elif stream in ("top_tracks", "top_artists"):
        for index, item in enumerate(answer["items"]):
            kind = stream[4:-1]
            rank = part["offset"] + index + 1
            rows["top_items"][(kind, part["time_range"], rank)] = (
                kind,
                part["time_range"],
                rank,
                item["id"],
            )
            if kind == "track":
                _floor_track(rows, item)
            else:
                _floor_artist(rows, item)
    elif stream == "saved_tracks":
        for saved in answer["items"]:
            track = saved["track"]
            rows["saved_tracks"][track["id"]] = (track["id"], _ms(saved.get("added_at")))
            _floor_track(rows, track)
    elif stream == "albums":
        _floor_album(rows, answer)
    elif stream == "artists":
        _floor_artist(rows, answer)
    elif stream == "tracks":
        _floor_track(rows, answer)


def _floor_track(rows: dict[str, dict], track: dict) -> None:
    track_id = track.get("id")
    if not track_id or track_id in rows["tracks"] or track.get("type") != "track":
        return
    album = track.get("album") or {}
    rows["tracks"][track_id] = (
        track_id, track.get("name"), album.get("id"), track.get("duration_ms"),
        track.get("explicit"), track.get("disc_number"), track.get("track_number"),
        (track.get("external_ids") or {}).get("isrc"), track.get("popularity"),
    )  # fmt: skip
    for position, artist in enumerate(track.get("artists") or []):
        rows["track_artists"][(track_id, position)] = (track_id, artist["id"], position)
        if artist["id"] not in rows["artists"]:
            rows["artists"][artist["id"]] = (artist["id"], artist.get("name"), *(None,) * 4)
    if album.get("id") and album["id"] not in rows["albums"]:
        rows["albums"][album["id"]] = _album_row(album)


def _floor_album(rows: dict[str, dict], album: dict) -> None:
    rows["albums"][album["id"]] = _album_row(album)


def _album_row(album: dict) -> tuple:
    release_date = album.get("release_date")
    return (
        album["id"], album.get("name"), album.get("album_type"), release_date,
        album.get("release_date_precision"),
        int(release_date[:4]) if release_date and release_date[:4].isdigit() else None,
        album.get("total_tracks"), album.get("label"), album.get("popularity"),
    )  # fmt: skip


def _floor_artist(rows: dict[str, dict], artist: dict) -> None:
    images = artist.get("images") or [{}]
    rows["artists"][artist["id"]] = (
        artist["id"], artist.get("name"), artist.get("genres"),
        (artist.get("followers") or {}).get("total"), artist.get("popularity"),
        images[0].get("url"),
    )  # fmt: skip


def _ms(stamp: str | None) -> int | None:
    if stamp is None:
        return None
    moment = datetime.fromisoformat(stamp)
    return int(moment.timestamp() * 1000)


def measure_tutorial(lake_root: Path, out: Path) -> dict:
    """The tutorials' transform, page by page, on the playlist pages of every run."""
    import gzip
    import json as stdlib_json

    import pandas as pd

    started = time.perf_counter()
    written = 0
    for manifest_key in raw_manifests(lake_root):
        manifest = stdlib_json.loads((lake_root / manifest_key).read_bytes())
        for part in manifest["parts"]:
            if part["stream"] != "playlist_items":
                continue
            data = stdlib_json.loads(gzip.decompress((lake_root / part["key"]).read_bytes()))
            album_df = pd.DataFrame(_tutorial_albums(data))
            album_df = album_df.drop_duplicates(subset=["album_id"])
            artist_df = pd.DataFrame(_tutorial_artists(data))
            artist_df = artist_df.drop_duplicates(subset=["artist_id"])
            song_df = pd.DataFrame(_tutorial_songs(data))
            if song_df.empty:
                continue
            album_df["release_date"] = pd.to_datetime(album_df["release_date"], format="mixed")
            song_df["song_added"] = pd.to_datetime(song_df["song_added"])
            stem = part["key"].replace("/", "_")
            for name, frame in (("songs", song_df), ("albums", album_df), ("artists", artist_df)):
                frame.to_csv(out / f"{name}_{stem}.csv", index=False)
                written += len(frame)
    return {"seconds": time.perf_counter() - started, "rows": written}


def _tutorial_tracks(data: dict) -> Iterator[tuple[dict, dict]]:
    for row in data["items"]:
        track = row and (row.get("track") or row.get("item"))
        if track and track.get("id") and track.get("type") == "track":
            yield row, track


def _tutorial_albums(data: dict) -> list[dict]:
    album_list = []
    for _, track in _tutorial_tracks(data):
        album_id = track["album"]["id"]
        album_name = track["album"]["name"]
        album_release_date = track["album"]["release_date"]
        album_total_tracks = track["album"]["total_tracks"]
        album_url = track["album"]["external_urls"]["spotify"]
        album_element = {
            "album_id": album_id,
            "name": album_name,
            "release_date": album_release_date,
            "total_tracks": album_total_tracks,
            "url": album_url,
        }
        album_list.append(album_element)
    return album_list


def _tutorial_artists(data: dict) -> list[dict]:
    artist_list = []
    for _, track in _tutorial_tracks(data):
        for artist in track["artists"]:
            artist_dict = {
                "artist_id": artist["id"],
                "artist_name": artist["name"],
                "external_url": artist["href"],
            }
            artist_list.append(artist_dict)
    return artist_list


def _tutorial_songs(data: dict) -> list[dict]:
    song_list = []
    for row, track in _tutorial_tracks(data):
        song_element = {
            "song_id": track["id"],
            "song_name": track["name"],
            "duration_ms": track["duration_ms"],
            "url": track["external_urls"]["spotify"],
            "popularity": track.get("popularity"),
            "song_added": row["added_at"],
            "album_id": track["album"]["id"],
            "artist_id": track["album"]["artists"][0]["id"],
        }
        song_list.append(song_element)
    return song_list


def _parquet_rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(path).metadata.num_rows for path in folder.rglob("*.parquet"))


MEASURES: dict[str, Callable[[Path, Path], dict]] = {
    "ours": measure_ours,
    "floor": measure_floor,
    "tutorial": measure_tutorial,
}


def run_measure(name: str, lake_root: Path, out: Path) -> dict:
    """Run one measure in a fresh interpreter; its result and its peak RSS in bytes."""
    arguments = [__file__, "--measure", name, "--data", str(lake_root), "--out", str(out)]
    return run_python(arguments, cwd=ROOT)


def _measure_afresh(name: str, lake_root: Path, out: Path) -> dict:
    """One measure on the raw lake alone: earlier tables and outputs are removed first."""
    for leftover in ("processed", "state/digests", "quarantine"):
        shutil.rmtree(lake_root / leftover, ignore_errors=True)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir()
    return run_measure(name, lake_root, out)


# 3. Import times.


def import_time_ms(module: str) -> float:
    """The cumulative `-X importtime` of importing the module in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    pattern = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|\s+(\S.*)$")
    total = 0
    for line in result.stderr.splitlines():
        match = pattern.match(line)
        if match and match.group(3).strip() == module:
            total = int(match.group(2))
    return total / 1000


# Report.


def report(figures: dict[str, dict], imports: dict[str, float], manifests: int) -> list[str]:
    ours, floor, tutorial = figures["ours"], figures["floor"], figures["tutorial"]
    rows = [
        ("measure", "seconds", "rows", "rows/s", "peak RSS MiB"),
        *(
            (
                name,
                f"{f['seconds']:.2f}",
                f"{f['rows']:,}",
                f"{f['rows'] / f['seconds']:,.0f}",
                f"{f['peak_rss'] / 2**20:,.0f}",
            )
            for name, f in figures.items()
        ),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    to_floor = ours["seconds"] / floor["seconds"]
    to_tutorial = ours["seconds"] / tutorial["seconds"]
    checks = [
        ("time / floor", to_floor, f"<= {TARGETS['floor']}", to_floor <= TARGETS["floor"]),
        (
            "time / tutorial",
            to_tutorial,
            f"<= {TARGETS['tutorial']}",
            to_tutorial <= TARGETS["tutorial"],
        ),
        ("peak RSS GiB", ours["peak_rss"] / GIB, "<= 1", ours["peak_rss"] <= GIB),
    ]
    lines.append("")
    lines += [f"{name:>16}  {value:6.2f}  {target:>7}  {'ok' if ok else 'MISSED'}"
              for name, value, target, ok in checks]  # fmt: skip
    lines.append("")
    lines += [f"{'import ' + module:>28}  {ms:8.1f} ms  (-X importtime, cumulative)"
              for module, ms in imports.items()]  # fmt: skip
    lines.append(f"{manifests} runs; ours failed: {ours['failed'] or 'none'}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--playlists", type=int, default=20)
    parser.add_argument("--data", type=Path, help="keep (and reuse) the raw lake here")
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours and the floor")
    parser.add_argument("--measure", choices=MEASURES, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(MEASURES[args.measure](args.data, args.out)))
        return
    with tempfile.TemporaryDirectory(prefix="transform-bench-") as scratch:
        lake_root = args.data or Path(scratch) / "lake"
        if not (lake_root / "raw").is_dir():
            started = time.perf_counter()
            print(f"extracting {args.entries:,} playlist entries from the emulator ...")
            generate(lake_root, args.entries, args.playlists)
            print(f"  {time.perf_counter() - started:.0f} s")
        figures = {}
        for name in MEASURES:
            # The best of a few runs for the quick measures: other work on the machine only
            # ever adds time. The tutorial is slow enough to run once.
            times = 1 if name == "tutorial" else args.repeat
            print(f"measuring {name} ({times}x) ...")
            runs = [_measure_afresh(name, lake_root, Path(scratch) / name) for _ in range(times)]
            figures[name] = min(runs, key=lambda figures: figures["seconds"])
            figures[name]["peak_rss"] = max(figures["peak_rss"] for figures in runs)
        imports = {module: import_time_ms(module) for module in ("app", "chalicelib.transform.run")}
        print()
        print("\n".join(report(figures, imports, len(raw_manifests(lake_root)))))


if __name__ == "__main__":
    main()
