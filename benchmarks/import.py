"""The history import's speed and memory against the floor, on a synthetic export.

    .venv/bin/python benchmarks/import.py [--entries 500000] [--tracks 5000]

1. A synthetic Extended Streaming History export: `--entries` entries (500,000 is about ten
   years of a heavy listener) over `--tracks` tracks, spread evenly over ten years, in files
   of 12,500 entries (Spotify splits at about 12 MB), zipped, personal fields included.
2. Each measure runs in a fresh interpreter (chalicelib's imports excluded from its time),
   its peak RSS from the kernel:
   - ours: `pipeline.import_history` into an empty local lake, the transform included;
   - floor: the same files parsed with orjson and the same plays rows written with pyarrow,
     one Parquet file per played date, and nothing else.

Goals: ours <= 2 x the floor, peak RSS <= 1 GiB, and well within one Lambda invocation
(15 minutes).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.peak import run_python  # noqa: E402

PER_FILE = 12_500
YEARS = 10
MEASURES = ("ours", "floor")


def write_export(path: Path, entries: int, tracks: int) -> None:
    """A zip of history files, entries in time order, about a tenth skipped."""
    rng = random.Random(7)
    start = datetime(2016, 1, 1, tzinfo=UTC)
    step = timedelta(days=365 * YEARS) / entries
    ids = [f"{index:022d}" for index in range(tracks)]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for first in range(0, entries, PER_FILE):
            batch = []
            for index in range(first, min(first + PER_FILE, entries)):
                played = rng.randint(5_000, 300_000)
                batch.append(_entry(start + step * index, rng.choice(ids), played, index))
            name = f"Spotify Extended Streaming History/Streaming_History_Audio_{first}.json"
            archive.writestr(name, json.dumps(batch))


def _entry(ended: datetime, track_id: str, ms_played: int, index: int) -> dict:
    return {
        "ts": ended.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "platform": "Android OS 14 API 34 (Google, Pixel 8)",
        "ms_played": ms_played,
        "conn_country": "NL",
        "ip_addr": f"10.0.{index % 250}.{index % 199}",
        "master_metadata_track_name": f"Track {track_id[-4:]}",
        "master_metadata_album_artist_name": f"Artist {track_id[-3:]}",
        "master_metadata_album_album_name": f"Album {track_id[-3:]}",
        "spotify_track_uri": f"spotify:track:{track_id}",
        "episode_name": None,
        "episode_show_name": None,
        "spotify_episode_uri": None,
        "reason_start": "trackdone",
        "reason_end": "trackdone" if ms_played > 30_000 else "fwdbtn",
        "shuffle": index % 3 == 0,
        "skipped": ms_played < 30_000,
        "offline": False,
        "offline_timestamp": 0,
        "incognito_mode": False,
        "username": "someone",
    }


def measure_ours(export: Path, lake: Path) -> dict:
    from chalicelib import pipeline
    from chalicelib.settings import Settings

    settings = Settings.from_env({"LAKE_URI": str(lake)})
    started = time.perf_counter()
    record = pipeline.import_history(settings, export)
    seconds = time.perf_counter() - started
    rows = (record.transform or {}).get("rows", {}).get("plays", 0)
    return {"seconds": seconds, "rows": rows, "status": str(record.status)}


def measure_floor(export: Path, lake: Path) -> dict:
    import orjson
    import pyarrow as pa
    import pyarrow.parquet as pq

    from chalicelib.schema import TABLES, arrow_schema

    schema = arrow_schema(TABLES["plays"])
    started = time.perf_counter()
    by_date: dict[str, list[dict]] = {}
    with zipfile.ZipFile(export) as archive:
        for name in sorted(archive.namelist()):
            for entry in orjson.loads(archive.read(name)):
                moment = datetime.fromisoformat(entry["ts"].replace("Z", "+00:00"))
                row = {
                    "played_at": moment,
                    "track_id": entry["spotify_track_uri"].rsplit(":", 1)[1],
                    "source": "export",
                    "ms_played": entry["ms_played"],
                    "reason_start": entry["reason_start"],
                    "reason_end": entry["reason_end"],
                    "shuffle": entry["shuffle"],
                    "skipped": entry["skipped"],
                    "offline": entry["offline"],
                    "platform": entry["platform"],
                    "track_name": entry["master_metadata_track_name"],
                    "artist_name": entry["master_metadata_album_artist_name"],
                    "album_name": entry["master_metadata_album_album_name"],
                    "ended_at": moment,
                }
                by_date.setdefault(entry["ts"][:10], []).append(row)
    rows = 0
    for day, plays in by_date.items():
        folder = lake / "processed" / "plays" / f"played_date={day}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(plays, schema=schema), folder / "data.parquet")
        rows += len(plays)
    return {"seconds": time.perf_counter() - started, "rows": rows, "status": "written"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=500_000)
    parser.add_argument("--tracks", type=int, default=5_000)
    parser.add_argument("--measure", choices=MEASURES, help=argparse.SUPPRESS)
    parser.add_argument("--export", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--lake", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure = measure_ours if args.measure == "ours" else measure_floor
        print(json.dumps(measure(args.export, args.lake)))
        return
    with tempfile.TemporaryDirectory() as scratch:
        export = Path(scratch) / "my_spotify_data.zip"
        print(f"writing a synthetic export of {args.entries:,} entries ...")
        write_export(export, args.entries, args.tracks)
        print(f"  {export.stat().st_size / 2**20:.0f} MiB zipped")
        figures = {}
        for name in MEASURES:
            print(f"measuring {name} ...")
            lake = Path(scratch) / f"lake-{name}"
            command = [__file__, "--measure", name, "--export", str(export), "--lake", str(lake)]
            figures[name] = run_python(command, ROOT)
    print()
    print(" measure  seconds     rows  entries/s  peak RSS MiB")
    for name, found in figures.items():
        rate = args.entries / found["seconds"]
        print(
            f"{name:>8}  {found['seconds']:7.1f}  {found['rows']:>7,}  {rate:>9,.0f}"
            f"  {found['peak_rss'] / 2**20:>12.0f}"
        )
    ratio = figures["ours"]["seconds"] / figures["floor"]["seconds"]
    peak = figures["ours"]["peak_rss"] / 2**30
    print()
    print(f"    time / floor  {ratio:5.2f}   <= 2.0  {'ok' if ratio <= 2 else 'OVER'}")
    print(f"    peak RSS GiB  {peak:5.2f}   <= 1    {'ok' if peak <= 1 else 'OVER'}")
    print(f"ours: {figures['ours']['status']}")


if __name__ == "__main__":
    main()
