"""Bytes Athena would scan per named query: our partitioned Parquet against the tutorial's CSV.

    .venv/bin/python benchmarks/scan_bytes.py [--days 90] [--range 30] [--keep DIR]

The data is synthesized with pyarrow at a realistic size for one active account, the one
each query names (not
extracted from the emulator: 90 simulated days of real runs take minutes; the shapes and
value distributions below follow what the emulator's default account produces): 40
playlists of ~75 entries, a catalogue of ~3,000 tracks, ~60 plays a day, 6 top lists of 50,
~1,500 saved tracks. Snapshot and catalogue tables hold one full copy per day, written by
the transform's own writer (chalicelib.transform.write) into each month's object: same
schemas, zstd, the rows the days' plays reference (`played`) in a row group of their own.

Athena reads, for each table a query references, each kept partition's footer and, in the
row groups the footer's min/max statistics do not rule out, the referenced columns' chunks.
The query's parameters are bound (the last `--range` days), and a partition (a month) is
kept when the conditions on the partition column of a SELECT reading the table hold for it
(all are kept if one SELECT has none); a row group is ruled out when every such SELECT
requires a boolean column (`AND played`) that is false throughout it. (Athena also skips a
row group whose dates lie outside the range; this model does not, so it counts high.) The
tutorial's layout is one unpartitioned CSV per table with the same rows and SPEC's columns
(no `played`), which Athena reads whole. Tables, columns and conditions come from the SQL,
parsed with sqlglot; partition conditions are evaluated by DuckDB.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from chalicelib.query.named import NamedQuery, load_queries  # noqa: E402
from chalicelib.schema import PLAYED, TABLES, Table, arrow_schema, month_of  # noqa: E402
from chalicelib.transform.write import month_bytes  # noqa: E402

ACCOUNT = "listener"  # the one account of the lake: the folders hold its view of it
WORDS = [
    "blue",
    "love",
    "night",
    "light",
    "dream",
    "fire",
    "heart",
    "city",
    "summer",
    "rain",
    "gold",
    "wild",
    "river",
    "echo",
    "stars",
    "young",
    "ghost",
    "paper",
    "neon",
    "velvet",
]


def spotify_id(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits, k=22))


def title(rng: random.Random, words: int = 3) -> str:
    return " ".join(rng.choice(WORDS).capitalize() for _ in range(rng.randint(1, words)))


class Account:
    """A stable catalogue the daily snapshots are drawn from."""

    def __init__(self, seed: int = 7):
        rng = self.rng = random.Random(seed)
        self.artists = [spotify_id(rng) for _ in range(1200)]
        self.albums = [spotify_id(rng) for _ in range(1800)]
        self.tracks = [(spotify_id(rng), rng.choice(self.albums)) for _ in range(3000)]
        self.playlists = [spotify_id(rng) for _ in range(40)]
        self.names = {
            key: title(rng)
            for key in [*self.artists, *self.albums, *(t for t, _ in self.tracks), *self.playlists]
        }

    def day(self, day: date) -> dict[str, list[dict]]:
        rng = random.Random(day.toordinal())
        stamp = datetime.combine(day, datetime.min.time(), UTC)
        tracks = self.tracks
        rows: dict[str, list[dict]] = {name: [] for name in TABLES}
        for minute in sorted(rng.sample(range(24 * 60), 60)):
            rows["plays"].append(
                {
                    "played_at": stamp + timedelta(minutes=minute),
                    "track_id": rng.choice(tracks)[0],
                    "context_type": "playlist",
                    "context_uri": f"spotify:playlist:{rng.choice(self.playlists)}",
                }
            )
        played = {play["track_id"] for play in rows["plays"]}
        played_albums: set[str] = set()
        played_artists: set[str] = set()
        for playlist in self.playlists:
            rows["playlists"].append(
                {
                    "playlist_id": playlist,
                    "name": self.names[playlist],
                    "description": title(rng, 8),
                    "owner_id": "owner",
                    "owner_name": "Owner",
                    "public": True,
                    "collaborative": False,
                    "snapshot_id": spotify_id(rng) * 2,
                    "item_count": 75,
                    "items_extracted": True,
                }
            )
            start = self.playlists.index(playlist) * 70 + day.toordinal() % 3
            for position in range(75):
                track, _ = tracks[(start + position) % len(tracks)]
                rows["playlist_items"].append(
                    {
                        "playlist_id": playlist,
                        "position": position,
                        "item_type": "track",
                        "item_id": track,
                        "item_uri": f"spotify:track:{track}",
                        "item_name": self.names[track],
                        "added_at": stamp - timedelta(days=position),
                        "added_by_id": "owner",
                    }
                )
        for index, (track, album) in enumerate(tracks):
            if track in played:
                played_albums.add(album)
                played_artists.update(
                    self.artists[(index + position) % 1200] for position in range(1 + index % 2)
                )
            rows["tracks"].append(
                {
                    "track_id": track,
                    "name": self.names[track],
                    "album_id": album,
                    "duration_ms": 150_000 + index % 120_000,
                    "explicit": index % 7 == 0,
                    "disc_number": 1,
                    "track_number": index % 14 + 1,
                    "isrc": f"USRC1{index:07d}",
                    "popularity": None,
                    "played": track in played,
                }
            )
            for position in range(1 + index % 2):
                rows["track_artists"].append(
                    {
                        "track_id": track,
                        "artist_id": self.artists[(index + position) % 1200],
                        "artist_position": position,
                        "played": track in played,
                    }
                )
        for album in self.albums:
            rows["albums"].append(
                {
                    "album_id": album,
                    "name": self.names[album],
                    "album_type": "album",
                    "release_date": "2019-05-17",
                    "release_date_precision": "day",
                    "release_year": 2019,
                    "total_tracks": 12,
                    "label": None,
                    "popularity": None,
                    "played": album in played_albums,
                }
            )
        for artist in self.artists:
            rows["artists"].append(
                {
                    "artist_id": artist,
                    "name": self.names[artist],
                    "genres": [],
                    "followers": None,
                    "popularity": None,
                    "image_url": f"https://i.scdn.co/image/{spotify_id(rng)}",
                    "played": artist in played_artists,
                }
            )
        for item_type, pool in (("track", [t for t, _ in tracks]), ("artist", self.artists)):
            for time_range in ("short_term", "medium_term", "long_term"):
                for rank, item in enumerate(rng.sample(pool, 50), start=1):
                    rows["top_items"].append(
                        {
                            "item_type": item_type,
                            "time_range": time_range,
                            "rank": rank,
                            "item_id": item,
                        }
                    )
        for index, (track, _) in enumerate(tracks[:1500]):
            rows["saved_tracks"].append(
                {"track_id": track, "added_at": stamp - timedelta(hours=index)}
            )
        return rows


def build(root: Path, days: list[date]) -> None:
    """Parquet partitions as the transform writes them, and one CSV per table."""
    account = Account()
    everything: dict[str, list[pa.Table]] = {name: [] for name in TABLES}
    for day in days:
        for name, rows in account.day(day).items():
            table = TABLES[name]
            data = pa.Table.from_pylist(rows, schema=arrow_schema(table))
            path = root / table.partition_key(day.isoformat())
            path.parent.mkdir(parents=True, exist_ok=True)
            current = path.read_bytes() if path.exists() else None
            path.write_bytes(month_bytes(name, current, {day.isoformat(): data}))
            if PLAYED in data.column_names:  # ours, not the tutorial's
                data = data.drop_columns([PLAYED])
            everything[name].append(
                data.append_column(table.date_column, pa.array([day.isoformat()] * len(data)))
            )
    for name, parts in everything.items():
        combined = pa.concat_tables(parts)
        if "genres" in combined.column_names:  # CSV has no lists: the tutorial joins them
            genres = [";".join(value or []) for value in combined["genres"].to_pylist()]
            combined = combined.set_column(
                combined.column_names.index("genres"), "genres", pa.array(genres)
            )
        (root / "csv").mkdir(exist_ok=True)
        pacsv.write_csv(combined, root / "csv" / f"{name}.csv")


@dataclass
class Scan:
    """How a query reads one table: its columns, and the filters every read of it applies."""

    columns: set[str]
    partitions: set[str]  # those the partition conditions keep
    required: set[str]  # boolean columns that must be true


def scans(query: NamedQuery, params: dict[str, str], partitions: list[str]) -> dict[str, Scan]:
    """Per table the query reads, with `params` bound: the columns it names, the partitions
    (of those given) its conditions keep, and the boolean columns it requires."""
    tree = sqlglot.parse_one(bound_sql(query, params), read="athena")
    ctes = {cte.alias for cte in tree.find_all(exp.CTE)}
    names = {column.name for column in tree.find_all(exp.Column)}
    found: dict[str, Scan] = {}
    for source in tree.find_all(exp.Table):
        if source.name not in TABLES or source.name in ctes:
            continue
        table = TABLES[source.name]
        types = {column.name: column.type for column in table.columns}
        conditions = _conditions(source)
        bounds = [c for c in conditions if _column_of(c).name == table.partition]
        kept = _holding(table.partition, bounds, partitions)
        required = {
            c.name
            for c in conditions
            if isinstance(c, exp.Column) and types.get(c.name) == "boolean"
        }
        scan = found.get(table.name)
        if scan is None:
            columns = names & {c.name for c in table.stored_columns}
            found[table.name] = Scan(columns, kept, required)
        else:
            scan.partitions |= kept
            scan.required &= required
    return found


def bound_sql(query: NamedQuery, params: dict[str, str]) -> str:
    """The query's SQL with each placeholder replaced by its bound value, as a literal."""
    values = query.bind(params)
    sql = query.sql
    places = [
        token.start
        for token in sqlglot.tokenize(sql, read="athena")
        if token.token_type == TokenType.PLACEHOLDER
    ]
    for place, value in reversed(list(zip(places, values, strict=True))):
        literal = exp.Literal.string(value) if isinstance(value, str) else exp.Literal.number(value)
        sql = sql[:place] + literal.sql("athena") + sql[place + 1 :]
    return sql


def _holding(column: str, conditions: list[exp.Expression], values: list[str]) -> set[str]:
    """The values for which every condition on `column` holds (DuckDB evaluates them)."""
    if not conditions:
        return set(values)
    where = " AND ".join(_unqualified(c).sql("duckdb") for c in conditions)
    rows = duckdb.execute(
        f"SELECT {column} FROM (SELECT unnest(?::VARCHAR[]) AS {column}) WHERE {where}", [values]
    ).fetchall()
    return {row[0] for row in rows}


def _unqualified(condition: exp.Expression) -> exp.Expression:
    return condition.transform(
        lambda node: exp.column(node.name) if isinstance(node, exp.Column) else node
    )


def _column_of(condition: exp.Expression) -> exp.Expression:
    """The column a comparison or range is on (its left side), or the condition itself."""
    if isinstance(condition, exp.Between | exp.GT | exp.GTE | exp.LT | exp.LTE | exp.EQ):
        return condition.this
    return condition


def _conditions(source: exp.Table) -> list[exp.Expression]:
    """The AND-ed conditions of the WHERE of the SELECT reading `source` that are on it."""
    select = source.find_ancestor(exp.Select)
    where = select.args.get("where") if select else None
    if where is None:
        return []
    alone = not select.args.get("joins")
    conditions = where.this.flatten() if isinstance(where.this, exp.And) else [where.this]
    kept = []
    for condition in conditions:
        column = _column_of(condition)
        if isinstance(column, exp.Column) and (
            column.table == source.alias_or_name or (alone and not column.table)
        ):
            kept.append(condition)
    return kept


def parquet_bytes(
    root: Path, table: Table, scan: Scan, account: str | None = None
) -> tuple[int, int]:
    """The scanned columns' chunks in the kept partitions' row groups not ruled out (of one
    account's files, where given), and those partitions' footers (which the issue's
    measure leaves out)."""
    chunks_total = footers = 0
    folder = root / table.prefix() / (f"account_id={account}" if account else "")
    for path in sorted(folder.glob("*/data.parquet")):
        if path.parent.name.split("=", 1)[1] not in scan.partitions:
            continue
        metadata = pq.ParquetFile(path).metadata
        footers += metadata.serialized_size + 8  # the footer, its length and the magic bytes
        for group in range(metadata.num_row_groups):
            row_group = metadata.row_group(group)
            chunks = {
                row_group.column(index).path_in_schema.split(".", 1)[0]: row_group.column(index)
                for index in range(row_group.num_columns)
            }
            if any(_all_false(chunks[name]) for name in scan.required):
                continue
            chunks_total += sum(
                chunk.total_compressed_size for n, chunk in chunks.items() if n in scan.columns
            )
    return chunks_total, footers


def _all_false(chunk: pq.ColumnChunkMetaData) -> bool:
    stats = chunk.statistics
    return stats is not None and stats.has_min_max and stats.max is False


def measure(root: Path, days: list[date], range_days: int) -> list[tuple[str, int, int, int]]:
    """Per named query over the last `range_days` days: Parquet chunks scanned, Parquet
    footers read, CSV bytes scanned."""
    last = days[-1].isoformat()
    dates = {
        "start_date": days[-range_days].isoformat(),
        "end_date": last,
        "as_of": last,
        "account": ACCOUNT,
        "accounts": ACCOUNT,
    }
    partitions = sorted({month_of(day.isoformat()) for day in days})
    rows = []
    for name, query in load_queries().items():
        params = {p.name: dates[p.name] for p in query.params if p.name in dates}
        tables = scans(query, params, partitions)
        read = [parquet_bytes(root, TABLES[table], scan) for table, scan in tables.items()]
        csv = sum((root / "csv" / f"{table}.csv").stat().st_size for table in tables)
        rows.append((name, sum(c for c, _ in read), sum(f for _, f in read), csv))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=90, help="simulated days of snapshots")
    parser.add_argument("--range", type=int, default=30, help="days the date params cover")
    parser.add_argument("--keep", help="write the data here instead of a temporary folder")
    args = parser.parse_args(argv)
    end = date(2026, 11, 26)
    days = [end - timedelta(days=offset) for offset in reversed(range(args.days))]
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(args.keep or scratch)
        build(root, days)
        results = measure(root, days, args.range)
    print(f"{args.days} days of snapshots; date parameters cover the last {args.range} days")
    print(
        f"{'query':<20} {'Parquet scanned':>16} {'CSV scanned':>14} {'ratio':>8}"
        f" {'+ footers':>10} {'ratio':>8}"
    )
    for name, scanned, footers, csv in results:
        print(
            f"{name:<20} {scanned:>16,} {csv:>14,} {scanned / csv:>8.2%}"
            f" {footers:>10,} {(scanned + footers) / csv:>8.2%}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
