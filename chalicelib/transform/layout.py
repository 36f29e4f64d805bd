"""Moving a lake's daily partitions, as versions before the monthly layout wrote them, into
their months (chalicelib.schema): `spotify-etl migrate`.

Each daily object (`processed/plays/played_date=2026-11-26/data.parquet`) goes into its
month's object by the transform's own conditional commit, and is removed only once its
month holds it, so a migration stopped anywhere loses nothing and can run again; one that
finds no daily object changes nothing. Transforms may run meanwhile: a day the new version
wrote already is newer than its daily object (the whole day's catalog and snapshot, merged
again from the day's runs), except for plays, which a transform merges only with what its
month held: a daily object's plays are merged into the month's, one row per play as ever.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import groupby

import pyarrow as pa

from chalicelib.lake import Lake
from chalicelib.schema import TABLES, Table, arrow_schema, month_of
from chalicelib.transform.commit import commit
from chalicelib.transform.merge import merge_plays
from chalicelib.transform.write import from_parquet, month_bytes, split_days


@dataclass
class Migrated:
    """What a migration moved: daily objects per table, and the months they went into."""

    days: dict[str, int] = field(default_factory=dict)
    months: dict[str, int] = field(default_factory=dict)


def daily_keys(lake: Lake, table: Table) -> list[str]:
    """The table's daily objects an earlier version wrote, in date order."""
    prefix = f"{table.prefix()}{table.date_column}="
    return sorted(key for key in lake.list(prefix) if key.endswith(".parquet"))


def migrate_layout(
    lake: Lake, *, progress: Callable[[int, int], None] | None = None
) -> Migrated:
    """Move every daily partition into its month's object, month by month; what it moved."""
    found = {name: daily_keys(lake, table) for name, table in TABLES.items()}
    total, done = sum(map(len, found.values())), 0
    migrated = Migrated()
    for name, keys in found.items():
        for _, grouped in groupby(keys, key=lambda key: month_of(_day(key))):
            month_keys = list(grouped)
            _migrate_month(lake, name, month_keys)
            for key in month_keys:
                lake.delete(key)
            migrated.days[name] = migrated.days.get(name, 0) + len(month_keys)
            migrated.months[name] = migrated.months.get(name, 0) + 1
            done += len(month_keys)
            if progress:
                progress(done, total)
    return migrated


def _migrate_month(lake: Lake, name: str, keys: list[str]) -> None:
    """One month's daily objects into the month's object, in one conditional commit."""
    daily = {_day(key): _conformed(name, from_parquet(lake.get(key))) for key in keys}
    month_key = TABLES[name].partition_key(next(iter(daily)))

    def build(current: dict[str, bytes | None]) -> dict[str, bytes]:
        data = current[month_key]
        held = split_days(name, from_parquet(data)) if data is not None else {}
        if name == "plays":
            days = {
                day: merge_plays([rows, held[day]] if day in held else [rows])
                for day, rows in daily.items()
            }
        else:
            days = {day: rows for day, rows in daily.items() if day not in held}
        written = month_bytes(name, data, days)
        return {month_key: written} if written is not None else {}

    commit(lake, [month_key], build)


def _day(key: str) -> str:
    """The ISO date of a daily object's key (`…/played_date=2026-11-26/data.parquet`)."""
    return key.rsplit("/", 2)[-2].split("=", 1)[1]


def _conformed(name: str, table: pa.Table) -> pa.Table:
    """A daily object's rows in the table's schema: a column an older version did not
    write yet is null."""
    schema = arrow_schema(TABLES[name])
    for column in schema:
        if column.name not in table.column_names:
            table = table.append_column(column, pa.nulls(table.num_rows, column.type))
    return table.select(schema.names).cast(schema)
