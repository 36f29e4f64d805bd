"""How the command line shows things: tables on a terminal, JSON or CSV for machines.

Whatever came from outside (a message, a parameter, a value in a row) is printed as text,
never read as Rich markup: `[/x]` in a playlist name or a prefix is shown as it is.

A table takes the terminal's width, however narrow: a value without a space (an ID, a date,
a number, a status) is never broken, so it can be copied whole; a column's name breaks after
an underscore, and columns of text wrap between words, down to NARROWEST_TEXT. Where even
that does not fit, each row prints as a record, a line per column (as psql's expanded
display does). Into a pipe or a file nothing is wrapped.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.cells import cell_len
from rich.console import Console, ConsoleDimensions
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from chalicelib.recap import Ranked, Recap

UNWRAPPED = 100_000  # the width of a pipe or a file: a line is never wrapped
GAP = 3  # between two columns of a table: a space, the rule, a space
EDGES = 2  # a space at either end of a table's lines
NARROWEST_TEXT = 12  # narrower, wrapped text reads a word a line: the rows print as records
SPACE = re.compile(r"\s")
NAME_PARTS = re.compile(r"[^_]*_+|[^_]+")  # a column's name, broken after each underscore


class _Console(Console):
    """Rich's console, as wide as the terminal it writes to, measured at each print (Rich
    reads COLUMNS once, when the console is made); unbounded into a pipe or a file."""

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        if not self.is_terminal:
            return ConsoleDimensions(UNWRAPPED, size.height)
        columns = os.environ.get("COLUMNS", "")
        return ConsoleDimensions(int(columns), size.height) if columns.isdigit() else size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self.width, self.height = new_size


class _Stdout(_Console):
    def on_broken_pipe(self) -> None:
        """The reader stopped (`| head -1`): raise for the command line to stop as every Unix
        tool does (Rich's own way exits 1)."""
        self.quiet = True
        raise BrokenPipeError


console = _Stdout()
errors = _Console(stderr=True)
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
        texts = [[cell(value) for value in row] for row in data]
        _table(title, [_Column(name, [row[i] for row in texts]) for i, name in enumerate(columns)])


def documents(values: Sequence[Any]) -> None:
    """JSON values as they are: text as text, lists as arrays, numbers as numbers."""
    print(json.dumps(values, default=str, ensure_ascii=False))


@dataclass(frozen=True)
class _Column:
    name: str
    cells: list[str]

    @property
    def whole(self) -> bool:
        """Whether every value is one word (an ID, a date, a number), never to be broken."""
        return not any(SPACE.search(text) for text in self.cells)

    @property
    def widest(self) -> int:
        """The width of its values, and of its name."""
        return max(self.values, cell_len(self.name))

    @property
    def values(self) -> int:
        return max((cell_len(line) for text in self.cells for line in text.splitlines()), default=0)

    @property
    def narrowest(self) -> int:
        """A column of words at its narrowest: its values whole, its name broken."""
        return max(self.values, *(cell_len(part) for part in NAME_PARTS.findall(self.name)))

    def text(self, value: str) -> Text:
        """A value of the column: one of words wraps, a word is never broken nor cut."""
        return Text(value, no_wrap=True, overflow="ignore") if self.whole else Text(value)

    def header(self, width: int) -> Text:
        """Its name, broken after underscores onto as many lines as `width` needs."""
        lines = [""]
        for part in NAME_PARTS.findall(self.name):
            if lines[-1] and cell_len(lines[-1] + part) > width:
                lines.append("")
            lines[-1] += part
        return Text("\n".join(lines), overflow="fold")


def _table(title: str, columns: list[_Column]) -> None:
    """The title, then the rows as a table as wide as the console, or as records where no
    table fits."""
    console.print(Text(title, style="bold"), soft_wrap=True)
    widths = _widths(columns, console.width - EDGES - GAP * (len(columns) - 1))
    if widths is None:
        _records(columns)
        return
    table = Table(show_edge=False)
    for column, width in zip(columns, widths, strict=True):
        table.add_column(column.header(width), width=width, overflow="fold")
    for values in zip(*(column.cells for column in columns), strict=True):
        table.add_row(*(column.text(value) for column, value in zip(columns, values, strict=True)))
    console.print(table, crop=False)


def _widths(columns: list[_Column], room: int) -> list[int] | None:
    """Each column's width within `room`: all at their widest where they fit; else text
    columns share what the others leave, the widest cut first, and a name wraps unless
    what is left lets it stay whole. None where text would be narrower than NARROWEST_TEXT."""
    if sum(column.widest for column in columns) <= room:
        return [column.widest for column in columns]
    left = room - sum(column.narrowest for column in columns if column.whole)
    texts = [column.widest for column in columns if not column.whole]
    cut = _level(texts, left)
    if left < 0 or (cut < NARROWEST_TEXT and any(width > cut for width in texts)):
        return None
    left -= sum(min(width, cut) for width in texts)
    widths = []
    for column in columns:
        if not column.whole:
            widths.append(min(column.widest, cut))
        elif column.widest - column.narrowest <= left:  # its name whole, with what is left
            left -= column.widest - column.narrowest
            widths.append(column.widest)
        else:
            widths.append(column.narrowest)
    return widths


def _level(wants: list[int], room: int) -> int:
    """The widest W such that the wants, each cut to W, take no more than room."""
    for taken, want in enumerate(sorted(wants)):
        if want * (len(wants) - taken) > room:
            return room // (len(wants) - taken)
        room -= want
    return max(wants, default=0)


def _records(columns: list[_Column]) -> None:
    """Each row as a record: a line per column, its name then its value. A value of words
    wraps beside the names; one of a single word is never cut, however narrow the terminal."""
    names = max(cell_len(column.name) for column in columns)
    for number, values in enumerate(zip(*(column.cells for column in columns), strict=True), 1):
        console.print(Rule(Text(str(number)), align="left", style="dim"))
        for column, value in zip(columns, values, strict=True):
            if column.whole:
                console.print(Text(f"{column.name:<{names}}  {value}"), soft_wrap=True)
                continue
            field = Table.grid(padding=(0, 2))
            field.add_column(width=names)
            field.add_column(overflow="fold")
            field.add_row(Text(column.name), Text(value))
            console.print(field)


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


def recap(review: Recap) -> None:
    """A year in review: its figures, then its top tracks and artists, each beside the year
    before's."""
    this, before = review.year, review.before
    line(
        (f"{this.year} in review", "bold"),
        f": {this.span}, beside {before.span} (UTC)",
    )
    years = [str(this.year), str(before.year)]
    figures = [(f.label, f.value, f.before, f.change) for f in review.figures()]
    rows("figures", ["figure", *years, "change"], figures)
    for name, title in (("top_tracks", "top tracks"), ("top_artists", "top artists")):
        places = [(n, _place(a), _place(b)) for n, (a, b) in enumerate(review.top(name), 1)]
        rows(f"{title} by streams", ["#", *years], places)
    if review.empty:
        note(
            f"no plays in {this.year} or {before.year}: import your privacy export "
            "(spotify-etl import) for the years before the pipeline started"
        )


def _place(place: Ranked | None) -> str:
    """A top list's place: `Song — Artist · 22 streams, 52.3 min`, or nothing."""
    if place is None:
        return ""
    by = f" — {place.by}" if place.by else ""
    return f"{place.name}{by} · {place.streams:,} streams, {place.minutes:,.1f} min"
