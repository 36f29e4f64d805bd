"""The scan model of benchmarks/scan_bytes.py: what it counts as read is what Athena reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from benchmarks.scan_bytes import Scan, bound_sql, parquet_bytes, scans
from chalicelib.query.named import load_queries
from chalicelib.schema import TABLES, arrow_schema, month_of
from chalicelib.transform.write import month_bytes
from tests.query.conftest import over

pytestmark = pytest.mark.integration  # a benchmark in a subprocess

ROOT = Path(__file__).resolve().parent.parent


MONTHS = ["2026-09", "2026-10", "2026-11", "2026-12"]
RANGE = {"start_date": "2026-11-10", "end_date": "2026-11-12", "account": "listener"}


def test_the_plays_queries_read_the_played_rows_from_the_month_before_the_range_on():
    for name in ("top_tracks", "top_artists"):
        tables = scans(load_queries()[name], RANGE, MONTHS)
        assert tables["plays"].partitions == {"2026-11"}, name
        assert not tables["plays"].required, name
        for catalog in ("tracks", "track_artists", "artists"):
            assert tables[catalog].partitions == {"2026-11", "2026-12"}, name
            assert tables[catalog].required == {"played"}, name
    early = {**RANGE, "start_date": "2026-11-01", "end_date": "2026-11-01"}
    catalog = scans(load_queries()["top_tracks"], early, MONTHS)["tracks"]
    assert catalog.partitions == {"2026-10", "2026-11", "2026-12"}


@pytest.mark.parametrize("name", sorted(load_queries()))
def test_every_table_every_query_reads_is_kept_to_the_months_its_reads_declare(name):
    query = load_queries()[name]
    params = over(query, RANGE["start_date"], RANGE["end_date"])
    declared = query.partitions(query.bind(params))
    for table, scan in scans(query, params, MONTHS).items():
        first, last = (month_of(day) if day else None for day in declared[table])
        kept = {month for month in MONTHS if first <= month and (last is None or month <= last)}
        assert scan.partitions <= kept, table


def test_the_whole_history_queries_read_every_month_up_to_their_last_day_and_none_after():
    for name in ("discovery", "new_artists", "forgotten_favourites"):
        query = load_queries()[name]
        tables = scans(query, over(query, RANGE["start_date"], RANGE["end_date"]), MONTHS)
        assert tables["plays"].partitions == {"2026-09", "2026-10", "2026-11"}, name
        assert tables["track_artists"].partitions == set(MONTHS), name
        assert tables["track_artists"].required == {"played"}, name


def test_placeholders_are_bound_in_the_order_they_appear():
    sql = bound_sql(load_queries()["top_tracks"], {**RANGE, "limit": 7})
    assert "BETWEEN '2026-11-10' AND '2026-11-12'" in sql
    assert "date(?)" not in sql and "date('2026-11-10')" in sql
    assert sql.rstrip().endswith("WHERE rank <= 7\nORDER BY rank")


def test_row_groups_the_statistics_rule_out_are_not_counted(tmp_path):
    table = TABLES["tracks"]
    rows = [
        {"track_id": f"t{index}", "name": f"Track {index}", "played": index < 3}
        for index in range(50)
    ]
    path = tmp_path / table.partition_key("2026-11-26")
    path.parent.mkdir(parents=True)
    data = pa.Table.from_pylist(rows, schema=arrow_schema(table))
    path.write_bytes(month_bytes("tracks", None, {"2026-11-26": data}))
    metadata = pq.ParquetFile(path).metadata
    played_group = metadata.row_group(0)
    columns = {"track_id", "name", "played"}
    played_bytes = sum(
        played_group.column(i).total_compressed_size
        for i in range(played_group.num_columns)
        if played_group.column(i).path_in_schema in columns
    )
    month = {"2026-11"}
    everything, footer = parquet_bytes(tmp_path, table, Scan(columns, month, set()))
    played, same_footer = parquet_bytes(tmp_path, table, Scan(columns, month, {"played"}))
    assert played == played_bytes < everything
    assert footer == same_footer == metadata.serialized_size + 8
    assert parquet_bytes(tmp_path, table, Scan(columns, {"2026-10"}, set())) == (0, 0)


def test_the_benchmark_prints_every_named_query():
    result = subprocess.run(
        [sys.executable, "benchmarks/scan_bytes.py", "--days", "3", "--range", "2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    printed = {line.split()[0] for line in result.stdout.splitlines()[2:]}
    assert printed == set(load_queries())
