"""How the command line shows things: tables on a terminal, JSON or CSV for machines."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()
errors = Console(stderr=True)
FORMATS = ("table", "json", "csv")


def rows(
    title: str, columns: Sequence[str], data: Sequence[Sequence[Any]], fmt: str = "table"
) -> None:
    """Print rows in the chosen format."""
    if fmt == "json":
        print(json.dumps([dict(zip(columns, row, strict=True)) for row in data], default=str))
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows(data)
    else:
        table = Table(title=title, title_justify="left", title_style="bold")
        for column in columns:
            table.add_column(column, overflow="fold")
        for row in data:
            table.add_row(*("" if value is None else str(value) for value in row))
        console.print(table)


def query_result(name: str, result: dict[str, Any], fmt: str = "table") -> None:
    """A finished named query: its columns and rows."""
    columns = [column["name"] for column in result["columns"]]
    rows(name, columns, result["rows"], fmt)


def counts(title: str, values: dict[str, Any]) -> None:
    rows(title, ["what", "count"], sorted(values.items()))
