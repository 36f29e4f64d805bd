"""The local query engine: DuckDB over the local lake's Parquet files.

Queries run synchronously inside `start`; the outcome is kept as JSON in the lake under
`state/executions/`, so any process (a second `chalice local` request) can page it. Only
the newest KEPT_EXECUTIONS are kept: every query and dashboard load adds one.

A query sees views of the tables it names alone, each over the accounts it binds and the
months its `reads` declare (chalicelib/query/named.py), found by their folder names before
any file is opened: its cost follows the dates it asks for, not the lake's age nor the other
accounts' rows. The queries of one process share
one in-memory database, each on a cursor of its own with its own temporary views.
duckdb and sqlglot are imported only when a query runs or is transpiled.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from chalicelib.accounts import ACCOUNT
from chalicelib.errors import NotFoundError, ValidationError
from chalicelib.lake import LocalLake, get_json, put_json
from chalicelib.query.engine import (
    Execution,
    QueryState,
    ResultPage,
    check_execution_id,
    check_page_size,
)
from chalicelib.query.named import NamedQuery
from chalicelib.schema import TABLES, Column, Table, month_of

EXECUTIONS = "state/executions/"
KEPT_EXECUTIONS = 100  # twenty dashboard loads' worth


class DuckDBEngine:
    """Runs named queries on an in-process DuckDB, one fresh connection per query."""

    def __init__(self, lake: LocalLake):
        self._lake = lake

    @property
    def lake(self) -> LocalLake:
        return self._lake

    def start(self, query: NamedQuery, params: list[Any]) -> str:
        """Run the query to the end and keep its outcome; return the execution ID."""
        import duckdb

        execution_id = str(uuid.uuid4())
        record: dict[str, Any] = {
            "execution_id": execution_id,
            "query": query.name,
            "params": params,
            "submitted_at": _now(),
        }
        try:
            record.update(state=QueryState.SUCCEEDED, **self._run(query, params))
        except duckdb.Error as error:
            record.update(state=QueryState.FAILED, error=f"{query.name} failed on DuckDB: {error}")
        record["completed_at"] = _now()
        put_json(self._lake, _key(execution_id), record)
        self._prune()
        return execution_id

    def status(self, execution_id: str) -> Execution:
        """The stored execution's state (DuckDB executions are always finished)."""
        record = self._record(execution_id)
        return Execution(execution_id, record["state"], record.get("error"))

    def results(self, execution_id: str, next_token: str | None, page_size: int) -> ResultPage:
        """A page of a succeeded execution's rows, starting where next_token points."""
        record = self._record(execution_id)
        rows = record.get("rows", [])
        offset = _decode_token(next_token, len(rows))
        end = offset + check_page_size(page_size)
        token = _encode_token(end) if end < len(rows) else None
        return ResultPage(record.get("columns", []), rows[offset:end], token)

    def _run(self, query: NamedQuery, params: list[Any]) -> dict[str, Any]:
        import duckdb

        partitions = query.partitions(params)
        accounts = query.accounts(params)
        with _cursor() as connection:
            connection.execute("SET TimeZone = 'UTC'")
            for name in tables_named(query.sql):
                table = TABLES[name]
                try:
                    connection.execute(self._view_sql(table, partitions.get(name), accounts))
                except duckdb.BinderException as error:
                    if "Referenced column" not in str(error):
                        raise
                    raise duckdb.BinderException(
                        f"{table.prefix()} holds files an earlier version wrote, without a "
                        f"column this one reads ({str(error).splitlines()[0]}); rebuild the "
                        "tables from raw/ with `spotify-etl transform --all`"
                    ) from error
            cursor = connection.execute(duckdb_sql(query.sql), params)
            names = [column[0] for column in cursor.description]
            types = [_athena_type(str(column[1])) for column in cursor.description]
            rows = [[_json_value(value) for value in row] for row in cursor.fetchall()]
        columns = [{"name": n, "type": t} for n, t in zip(names, types, strict=True)]
        return {"columns": columns, "rows": rows}

    def _view_sql(
        self, table: Table, dates: tuple[str, str | None] | None, accounts: tuple[str, ...]
    ) -> str:
        """A temporary view over the accounts' months of the table holding the dates from
        and to `dates` (all of them when None), or an empty one of the same shape."""
        folder = self._lake.root / table.prefix()
        files = [
            file
            for account in accounts
            for file in _partition_files(folder / f"{ACCOUNT}={account}", table, dates)
        ]
        columns = [
            *table.stored_columns,
            Column(ACCOUNT, "string"),
            Column(table.partition, "string"),
        ]
        if not files:
            typed = [
                f"CAST(NULL AS {_duckdb_type(c.type)}) AS {_identifier(c.name)}" for c in columns
            ]
            return (
                f"CREATE TEMP VIEW {_identifier(table.name)} AS "
                f"SELECT {', '.join(typed)} WHERE false"
            )
        names = ", ".join(_identifier(c.name) for c in columns)
        listed = ", ".join(_literal(str(file)) for file in files)
        return (
            f"CREATE TEMP VIEW {_identifier(table.name)} AS SELECT {names} FROM read_parquet("
            f"[{listed}], hive_partitioning = true, union_by_name = true, "
            f"hive_types = {{{_literal(ACCOUNT)}: 'VARCHAR', "
            f"{_literal(table.partition)}: 'VARCHAR'}})"
        )

    def _prune(self) -> None:
        """Remove all but the newest KEPT_EXECUTIONS executions."""
        stored = [self._lake.root / key for key in self._lake.list(EXECUTIONS)]
        for path in sorted(stored, key=_age)[:-KEPT_EXECUTIONS]:
            path.unlink(missing_ok=True)

    def _record(self, execution_id: str) -> dict[str, Any]:
        key = _key(check_execution_id(execution_id))
        if not self._lake.exists(key):
            raise NotFoundError(f"no execution {execution_id}; start one with POST /queries/NAME")
        return get_json(self._lake, key)


def _age(path: Path) -> int:
    """When the file was written; 0 once gone (queries side by side prune at once)."""
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return 0


def _partition_files(folder: Path, table: Table, dates: tuple[str, str | None] | None) -> list:
    """The Parquet files of the table's months (`played_month=YYYY-MM` folders) that hold
    the dates from and to `dates`, found by the folder's names (one a month: a listing that
    stays small however long the lake runs); no file is opened."""
    names = [entry.name for entry in _entries(folder)]
    earlier = (name for name in names if name.startswith(f"{table.date_column}="))
    if any(any((folder / name).glob("*.parquet")) for name in earlier):
        import duckdb

        raise duckdb.InvalidInputException(
            f"{table.prefix()} holds daily partitions an earlier version wrote "
            f"({table.date_column}=...); move them into monthly ones with "
            "`spotify-etl migrate` (nothing is lost, and it can run again)"
        )
    first, last = (dates[0], dates[1]) if dates else ("", None)
    low = f"{table.partition}={month_of(first)}"
    high = f"{table.partition}={month_of(last)}" if last else None
    held = (name for name in names if low <= name and (high is None or name <= high))
    return sorted(file for name in held for file in (folder / name).glob("*.parquet"))


def _entries(folder: Path) -> list:
    return list(folder.iterdir()) if folder.is_dir() else []


_DATABASE: dict[str, Any] = {}
_DATABASE_LOCK = threading.Lock()


def _cursor() -> Any:
    """A connection of its own to the process's in-memory database (made on first use)."""
    import duckdb

    with _DATABASE_LOCK:
        if "database" not in _DATABASE:
            _DATABASE["database"] = duckdb.connect()
        return _DATABASE["database"].cursor()


@cache
def tables_named(athena_sql: str) -> tuple[str, ...]:
    """The lake's tables a query reads (its own CTEs aside)."""
    import sqlglot
    from sqlglot import exp

    parsed = sqlglot.parse_one(athena_sql, read="athena")
    return tuple(sorted({table.name for table in parsed.find_all(exp.Table)} & TABLES.keys()))


@lru_cache(maxsize=64)
def duckdb_sql(athena_sql: str) -> str:
    """A named query's Athena SQL, transpiled to DuckDB's dialect."""
    import sqlglot

    return sqlglot.transpile(athena_sql, read="athena", write="duckdb")[0]


def _duckdb_type(athena_type: str) -> str:
    from sqlglot import exp

    return exp.DataType.build(athena_type, dialect="athena").sql("duckdb")


def _athena_type(duckdb_type: str) -> str:
    """The Athena spelling of a result column's DuckDB type, so both engines agree (DuckDB
    widens a sum or count_if of bigints to HUGEINT, where Athena's stays a bigint)."""
    from sqlglot import exp
    from sqlglot.errors import ParseError

    if duckdb_type == "HUGEINT":
        return "bigint"
    try:
        return exp.DataType.build(duckdb_type, dialect="duckdb").sql("athena").lower()
    except ParseError:
        return duckdb_type.lower()


def _json_value(value: Any) -> Any:
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_value(item) for key, item in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str | None, total: int) -> int:
    if token is None:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (binascii.Error, ValueError, TypeError, KeyError, AttributeError):
        offset = None
    if not isinstance(offset, int) or isinstance(offset, bool) or not 0 < offset < total:
        raise ValidationError(
            "next_token is not one this execution gave out; omit it to read from the start"
        )
    return offset


def _key(execution_id: str) -> str:
    return f"{EXECUTIONS}{execution_id}.json"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
