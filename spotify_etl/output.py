"""How the command line shows things: tables on a terminal, JSON or CSV for machines.

Whatever came from outside (a message, a parameter, a value in a row) is printed as text,
never read as Rich markup: `[/x]` in a playlist name or a prefix is shown as it is.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader stopped (`| head -1`): raise for the command line to stop as every Unix
        tool does (Rich's own way exits 1)."""
        self.quiet = True
        raise BrokenPipeError


# Into a pipe or a file, lines are not wrapped at 80 columns: a run ID stays whole.
console = _Console(width=None if sys.stdout.isatty() else 100_000)
errors = Console(stderr=True, width=None if sys.stderr.isatty() else 100_000)
FORMATS = ("table", "json", "csv")


def rows(
    title: str, columns: Sequence[str], data: Sequence[Sequence[Any]], fmt: str = "table"
) -> None:
    """Print rows in the chosen format."""
    if fmt == "json":
        documents([dict(zip(columns, row, strict=True)) for row in data])
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(columns)
        writer.writerows([[cell(value) for value in row] for row in data])
    else:
        table = Table(title=Text(title), title_justify="left", title_style="bold")
        for column in columns:
            table.add_column(Text(column), overflow="fold")
        for row in data:
            table.add_row(*(Text(cell(value)) for value in row))
        console.print(table)


def documents(values: Sequence[Any]) -> None:
    """JSON values as they are: text as text, lists as arrays, numbers as numbers."""
    print(json.dumps(values, default=str, ensure_ascii=False))


def cell(value: Any) -> str:
    """A value as table or CSV text: lists and objects as JSON, None as nothing."""
    if value is None:
        return ""
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def query_result(
    name: str, result: dict[str, Any], fmt: str = "table", *, why_empty: str = ""
) -> None:
    """A finished named query: its columns and rows; in a table, `no rows` and why where it
    has none."""
    columns = [column["name"] for column in result["columns"]]
    rows(name, columns, result["rows"], fmt)
    if fmt == "table" and not result["rows"]:
        line(f"no rows: {why_empty}" if why_empty else "no rows")


def counts(title: str, values: dict[str, Any], fmt: str = "table") -> None:
    rows(title, ["what", "count"], sorted(values.items()), fmt)


def error(message: str) -> None:
    """`error: MESSAGE` on one line of stderr."""
    errors.print(Text.assemble(("error:", "red"), " ", message), soft_wrap=True)


def note(message: str) -> None:
    """`note: MESSAGE` on stderr: something a run went past."""
    errors.print(Text.assemble(("note:", "yellow"), " ", message), soft_wrap=True)


def line(*parts: str | tuple[str, str]) -> None:
    """A line on stdout from text parts, each plain or (text, style)."""
    console.print(Text.assemble(*parts), soft_wrap=True)
