"""Named queries: `.sql` files in Athena's dialect with a header declaring typed parameters.

A file's header is its leading `--` comment lines:

    -- description: The tracks played most often between two dates (UTC).
    -- param: start_date date default=today-30 "first played date, inclusive"
    -- param: limit integer default=10 min=1 max=1000 "how many tracks"

Parameters are declared in the order of the `?` placeholders, each used once, unless a
`-- bind: start_date, end_date, start_date, end_date, limit` line names the parameter of
each placeholder in order (so a value can filter several tables' partitions). Date
defaults are `today` or `today-N` (N days before today, in UTC).

An `account` parameter (type `account`) is the Spotify user ID whose rows the query reads;
every table it reads filters `account_id = ?` with it, which Athena's injected partition
projection requires. The query service fills it in where the lake holds one account. An
`accounts` parameter (type `accounts`, at most MAX_ACCOUNTS IDs) is bound one ID per
placeholder, `accounts[1]` to `accounts[5]` in the bind line, each missing one repeating the
first: `account_id IN (?, ?, ?, ?, ?)` stays a static list, as injected projection needs.

A `-- reads: plays from start_date to end_date` line says which partitions of a table the
query's filters keep (`from start_date-1` with no end: from the day before to the newest;
`from the first`: from the oldest, for a query over the whole history), so the local engine
opens only those files; a table without one is read whole. Athena prunes
by the same filters itself. This module stays free of sqlglot and duckdb so that listing and
validating queries is cheap.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from chalicelib.accounts import check_account_id
from chalicelib.errors import NotFoundError, ValidationError, shown

QUERIES_DIR = Path(__file__).resolve().parent.parent / "queries"
TYPES = ("date", "integer", "account", "accounts")
MAX_ACCOUNTS = 5  # a Development Mode app's users
ACCOUNT_PARAM, ACCOUNTS_PARAM = "account", "accounts"
INDEXED = re.compile(r"^(\w+)\[([1-9])\]$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INTEGER = re.compile(r"^[+-]?[0-9]{1,18}$")
DIGITS = re.compile(r"^[+-]?[0-9]+$")
RELATIVE_DAY = re.compile(r"^today(?:-(\d{1,4}))?$")
HEADER_LINE = re.compile(r"^--\s*(description|param|bind|reads):\s*(.*)$")
READS = re.compile(r"^(\w+) from (?:the first|(\w+)(?:-(\d+))?)(?: to (\w+))?$")


@dataclass(frozen=True)
class Param:
    """One typed parameter of a named query."""

    name: str
    type: str
    default: str | int | None = None
    minimum: int | None = None
    maximum: int | None = None
    description: str = ""

    @property
    def required(self) -> bool:
        """Whether a caller must give it: an account is filled in by the query service where
        the lake holds one (accounts: all of the lake's)."""
        return self.default is None and self.type not in ("account", "accounts")

    def value(self, raw: Any, today: date) -> str | int | tuple[str, ...]:
        """The validated value (ISO date string or int) for a raw value or the default."""
        if raw is None:
            if self.default is None:
                raise ValidationError(f"parameter {self.name!r} is required ({self._expected()})")
            raw = self.default
            if self.type == "date":
                return _relative_day(str(raw), today).isoformat()
        if self.type == "account":
            return check_account_id(raw)
        if self.type == "accounts":
            return _accounts(raw)
        return self._parse_date(raw) if self.type == "date" else self._parse_integer(raw)

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly description for `GET /queries`."""
        described: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "default": self.default,
            "description": self.description,
        }
        if self.minimum is not None:
            described["min"] = self.minimum
        if self.maximum is not None:
            described["max"] = self.maximum
        return described

    def from_text(self, text: str) -> str | int:
        """A value given as text (on the command line): an integer's digits become a number,
        a date stays as it is; `value` then checks it."""
        if self.type != "integer":
            return text
        if INTEGER.match(text.strip()):
            return int(text.strip())
        if DIGITS.match(text.strip()):  # more digits than any bound allows
            raise self._refused(text, f", out of range: {self._expected()}")
        raise self._refused(text)

    def _parse_date(self, raw: Any) -> str:
        if not isinstance(raw, str):
            raise self._refused(raw, f", not text; expected {self._expected()}")
        if ISO_DATE.match(raw.strip()):
            try:
                return date.fromisoformat(raw.strip()).isoformat()
            except ValueError:
                raise self._refused(raw, ", which is not a date") from None
        raise self._refused(raw)

    def _parse_integer(self, raw: Any) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            kind = {str: "a string", float: "a decimal number"}.get(type(raw), "not a number")
            raise self._refused(raw, f", {kind}; expected {self._expected()}")
        too_small = self.minimum is not None and raw < self.minimum
        too_large = self.maximum is not None and raw > self.maximum
        if too_small or too_large:
            raise self._refused(raw, f", out of range: {self._expected()}")
        return raw

    def _refused(self, raw: Any, why: str | None = None) -> ValidationError:
        """`parameter 'limit' is 'lots'; expected a whole number from 1 to 100`, or what
        `why` says instead of what is expected."""
        tail = f"; expected {self._expected()}" if why is None else why
        return ValidationError(f"parameter {self.name!r} is {shown(raw)}{tail}")

    def _expected(self) -> str:
        if self.type in ("account", "accounts"):
            return "a Spotify user ID (`spotify-etl accounts` lists them)"
        if self.type == "date":
            return "a date as YYYY-MM-DD, like 2026-01-31"
        low = "" if self.minimum is None else f" from {self.minimum}"
        high = "" if self.maximum is None else f" to {self.maximum}"
        return f"a whole number{low}{high}"


@dataclass(frozen=True)
class Reads:
    """The partitions of one table a query's filters keep: from a date parameter's day (less
    `days_before`), or from the oldest when `first` is None, to another's, or to the newest
    when `last` is None."""

    table: str
    first: str | None
    days_before: int = 0
    last: str | None = None

    def dates(self, values: Mapping[str, Any]) -> tuple[str, str | None]:
        """The first and last partition dates (ISO) for the query's bound values."""
        day = date.min if self.first is None else date.fromisoformat(values[self.first])
        first = day - timedelta(days=min(self.days_before, (day - date.min).days))
        return first.isoformat(), None if self.last is None else values[self.last]


@dataclass(frozen=True)
class NamedQuery:
    """A query in Athena's dialect with its typed, positional parameters."""

    name: str
    description: str
    params: tuple[Param, ...]
    sql: str
    binds: tuple[str, ...] = ()  # the parameter of each placeholder; default: params in order
    reads: tuple[Reads, ...] = ()

    def from_text(self, given: Mapping[str, str]) -> dict[str, Any]:
        """Parameters given as text (on the command line) as the values `bind` takes."""
        params = {param.name: param for param in self.params}
        return {
            name: params[name].from_text(text) if name in params else text
            for name, text in given.items()
        }

    def bind(self, raw: Mapping[str, Any], today: date | None = None) -> list[Any]:
        """Validated values in placeholder order; raise ValidationError on any bad input."""
        if not isinstance(raw, Mapping):
            raise ValidationError("params must be an object of parameter names to values")
        known = {param.name for param in self.params}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValidationError(
                f"{self.name} has no parameter {', '.join(map(shown, unknown))}; "
                f"it takes {', '.join(p.name for p in self.params) or 'none'}"
            )
        today = today or datetime.now(UTC).date()
        values = {param.name: param.value(raw.get(param.name), today) for param in self.params}
        start, end = values.get("start_date"), values.get("end_date")
        if isinstance(start, str) and isinstance(end, str) and start > end:  # ISO dates
            raise ValidationError(f"start_date {start} is after end_date {end}; swap them")
        return [_placeholder_value(values, name) for name in self.placeholders]

    def params_value(self, name: str, raw: Any) -> Any:
        """One parameter's validated value."""
        param = next(param for param in self.params if param.name == name)
        return param.value(raw, datetime.now(UTC).date())

    @property
    def takes_account(self) -> bool:
        return any(param.type == "account" for param in self.params)

    @property
    def takes_accounts(self) -> bool:
        return any(param.type == "accounts" for param in self.params)

    def accounts(self, bound: list[Any]) -> tuple[str, ...]:
        """The accounts whose rows the query reads, for values as `bind` returned them."""
        read = (
            value
            for name, value in zip(self.placeholders, bound, strict=True)
            if name == ACCOUNT_PARAM or INDEXED.match(name)
        )
        return tuple(dict.fromkeys(read))

    def partitions(self, bound: list[Any]) -> dict[str, tuple[str, str | None]]:
        """The partition dates each declared table is read from and to, for values as `bind`
        returned them."""
        values = dict(zip(self.placeholders, bound, strict=True))
        return {read.table: read.dates(values) for read in self.reads}


    @property
    def placeholders(self) -> tuple[str, ...]:
        """The parameter each `?` takes, in order."""
        return self.binds or tuple(param.name for param in self.params)

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly description for `GET /queries`."""
        return {
            "name": self.name,
            "description": self.description,
            "params": [param.describe() for param in self.params],
        }


def get_query(name: str) -> NamedQuery:
    """The named query, or a NotFoundError listing the ones there are."""
    queries = load_queries()
    if name not in queries:
        raise NotFoundError(
            f"no named query {shown(name)}; there are: {', '.join(sorted(queries))}"
        )
    return queries[name]


def describe() -> list[dict[str, Any]]:
    """Every named query with its parameters, for `GET /queries`."""
    return [query.describe() for query in load_queries().values()]


@cache
def load_queries() -> dict[str, NamedQuery]:
    """The named queries shipped in chalicelib/queries, read once, by name."""
    paths = sorted(QUERIES_DIR.glob("*.sql"))
    return {path.stem: parse_query(path.stem, path.read_text(encoding="utf-8")) for path in paths}


def parse_query(name: str, text: str) -> NamedQuery:
    """A NamedQuery from a `.sql` file's text; ValueError if its header is malformed."""
    description = ""
    params: list[Param] = []
    binds: tuple[str, ...] = ()
    reads: list[Reads] = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        match = HEADER_LINE.match(line)
        if match and match.group(1) == "description":
            description = match.group(2).strip()
        elif match and match.group(1) == "bind":
            binds = tuple(word.strip() for word in match.group(2).split(","))
        elif match and match.group(1) == "reads":
            reads.append(_parse_reads(name, match.group(2).strip()))
        elif match:
            params.append(_parse_param(name, match.group(2)))
    placeholders = _count_placeholders(text)
    query = NamedQuery(name, description, tuple(params), text, binds, tuple(reads))
    bound = query.placeholders
    if not description or placeholders != len(bound):
        raise ValueError(
            f"{name}.sql needs a '-- description:' line and one '-- param:' (or '-- bind:' "
            f"name) per '?' (found {len(bound)} for {placeholders} placeholders)"
        )
    if not {_bound_param(name) for name in bound} <= {param.name for param in params}:
        raise ValueError(f"{name}.sql binds {sorted(set(bound))}, not all declared as params")
    dates = {param.name for param in params if param.type == "date"} & set(bound)
    for read in reads:
        if not {read.first, read.last} - {None} <= dates:
            raise ValueError(f"{name}.sql reads {read.table} between no bound date parameters")
    return query


def _parse_reads(query: str, declaration: str) -> Reads:
    match = READS.match(declaration)
    if not match:
        raise ValueError(
            f"{query}.sql: cannot read '-- reads: {declaration}' "
            "(like 'plays from start_date to end_date', 'tracks from start_date-1' or "
            "'plays from the first to end_date')"
        )
    table, first, days_before, last = match.groups()
    return Reads(table, first, int(days_before or 0), last)


def _parse_param(query: str, declaration: str) -> Param:
    words = shlex.split(declaration)
    if len(words) < 2 or words[1] not in TYPES:
        raise ValueError(f"{query}.sql: '-- param: {declaration}' needs a name and a type {TYPES}")
    options = dict(word.split("=", 1) for word in words[2:] if "=" in word)
    notes = [word for word in words[2:] if "=" not in word]
    unknown = set(options) - {"default", "min", "max"}
    if unknown or len(notes) > 1:
        raise ValueError(f"{query}.sql: cannot read '-- param: {declaration}'")
    default: str | int | None = options.get("default")
    if default is not None and words[1] == "integer":
        default = int(default)
    if default is not None and words[1] == "date" and not RELATIVE_DAY.match(str(default)):
        raise ValueError(f"{query}.sql: date default {default!r} must be today or today-N")
    return Param(
        name=words[0],
        type=words[1],
        default=default,
        minimum=int(options["min"]) if "min" in options else None,
        maximum=int(options["max"]) if "max" in options else None,
        description=notes[0] if notes else "",
    )


def _bound_param(placeholder: str) -> str:
    indexed = INDEXED.match(placeholder)
    return indexed.group(1) if indexed else placeholder


def _placeholder_value(values: Mapping[str, Any], placeholder: str) -> Any:
    """A placeholder's value: a parameter's, or the n-th of a list (its first where the list
    is shorter)."""
    indexed = INDEXED.match(placeholder)
    if not indexed:
        return values[placeholder]
    listed = values[indexed.group(1)]
    position = int(indexed.group(2)) - 1
    return listed[position] if position < len(listed) else listed[0]


def _accounts(raw: Any) -> tuple[str, ...]:
    """Account IDs given as a list or a comma list: one to MAX_ACCOUNTS, each checked."""
    listed = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(listed, list | tuple) or not 1 <= len(listed) <= MAX_ACCOUNTS:
        raise ValidationError(
            f"parameter 'accounts' is {shown(raw)}; expected 1 to {MAX_ACCOUNTS} Spotify user "
            "IDs, as a list or separated by commas"
        )
    return tuple(dict.fromkeys(check_account_id(str(item).strip()) for item in listed))


def _relative_day(default: str, today: date) -> date:
    match = RELATIVE_DAY.match(default)
    assert match, default  # checked when the file was parsed
    return today - timedelta(days=int(match.group(1) or 0))


def _count_placeholders(text: str) -> int:
    """'?' outside comments and string literals (the queries quote no '?')."""
    code = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    return re.sub(r"'[^']*'", "''", code).count("?")
