"""What every query engine offers: start a named query, poll it, page its results.

The interface is asynchronous (Athena's shape); a synchronous engine such as DuckDB
simply finishes inside `start`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from chalicelib.errors import ValidationError, shown
from chalicelib.query.named import NamedQuery


class QueryState(StrEnum):
    """Where a query execution stands, in Athena's words (DuckDB's are finished at once)."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


FINISHED = (QueryState.SUCCEEDED, QueryState.FAILED, QueryState.CANCELLED)

EXECUTION_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Execution:
    """Where a started query stands; `error` is set when it FAILED or was CANCELLED."""

    execution_id: str
    state: str  # a QueryState
    error: str | None = None

    @property
    def finished(self) -> bool:
        return self.state in FINISHED


@dataclass(frozen=True)
class ResultPage:
    """One page of a finished query: columns as {name, type}; rows as JSON-friendly lists,
    their values in column order."""

    columns: list[dict[str, str]]
    rows: list[list[Any]]
    next_token: str | None = None


class QueryEngine(Protocol):
    """Runs named queries; DuckDB locally, Athena in AWS. `lake` is the lake whose register
    of accounts fills in a query's account (None: the caller names it)."""

    @property
    def lake(self) -> Any: ...

    def start(self, query: NamedQuery, params: list[Any]) -> str:
        """Start the query with bound parameters; return its execution ID."""
        ...

    def status(self, execution_id: str) -> Execution:
        """The execution's state, with the engine's message if it failed."""
        ...

    def results(self, execution_id: str, next_token: str | None, page_size: int) -> ResultPage:
        """A page of a succeeded execution's rows, from next_token (None: the first page)."""
        ...


def check_execution_id(execution_id: str) -> str:
    """An execution ID as the engines make them (a UUID), or a ValidationError."""
    if not isinstance(execution_id, str) or not EXECUTION_ID.match(execution_id):
        raise ValidationError(
            f"{shown(execution_id)} is not an execution ID "
            "(like 0f8fad5b-d9cb-469f-a165-70867728950e)"
        )
    return execution_id


def check_page_size(page_size: Any) -> int:
    """A page size from 1 to MAX_PAGE_SIZE (an int or its digits), or a ValidationError."""
    if isinstance(page_size, str) and re.fullmatch(r"\d{1,6}", page_size.strip()):
        page_size = int(page_size)
    valid = isinstance(page_size, int) and not isinstance(page_size, bool)
    if not valid or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValidationError(f"page_size is {shown(page_size)}; expected 1 to {MAX_PAGE_SIZE}")
    return page_size
