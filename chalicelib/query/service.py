"""Running named queries for the REST routes and the command line, on any engine."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from chalicelib import accounts
from chalicelib.errors import ConfigError, QueryError, ValidationError
from chalicelib.lake import Lake, LocalLake, open_lake_to_read
from chalicelib.query.engine import (
    Execution,
    QueryEngine,
    QueryState,
    check_execution_id,
    check_page_size,
)
from chalicelib.query.named import ACCOUNT_PARAM, ACCOUNTS_PARAM, get_query
from chalicelib.settings import Settings

DEFAULT_WAIT_SECONDS = 10.0
MAX_WAIT_SECONDS = 25.0
POLL_SECONDS = (0.2, 0.5, 1.0)


def engine_for(settings: Settings, lake: Lake | None) -> QueryEngine:
    """The engine settings.query_engine names, over this lake."""
    if settings.query_engine == "athena":
        from chalicelib.query.athena_engine import AthenaEngine

        return AthenaEngine(settings.athena_workgroup, settings.glue_database, lake=lake)
    if not isinstance(lake, LocalLake):
        raise ConfigError(
            f"QUERY_ENGINE=duckdb reads a local lake, but LAKE_URI is {settings.lake_uri}"
        )
    from chalicelib.query.duckdb_engine import DuckDBEngine

    return DuckDBEngine(lake)


def configured_engine(settings: Settings) -> QueryEngine:
    """The configured engine over the lake, which must exist (Athena reads Glue's tables, and
    the lake's register of accounts)."""
    return engine_for(settings, open_lake_to_read(settings.lake_uri))


def run_named(
    settings: Settings,
    name: str,
    params: Mapping[str, Any] | None,
    wait_seconds: float | None = None,
    *,
    page_size: int = 100,
) -> dict[str, Any]:
    """run_query on the configured engine and lake, for the routes and the command line.

    The request is checked before the lake is opened: a bad one is refused as such.
    """
    wait = DEFAULT_WAIT_SECONDS if wait_seconds is None else wait_seconds
    values = {} if params is None else params
    query = get_query(name)
    query.bind(_placeholder_accounts(query, values))
    _check_wait(wait)
    check_page_size(page_size)
    engine = configured_engine(settings)
    return run_query(engine, name, values, wait_seconds=wait, page_size=page_size)


def with_accounts(lake: Lake, name: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters with the account(s) a query reads filled in from the lake's register:
    `account` where the lake holds one (an AccountRequiredError listing them where it holds
    several; a NotFoundError for one it does not hold); `accounts`, all of them."""
    query = get_query(name)
    values = dict(params)
    if query.takes_account:
        values[ACCOUNT_PARAM] = accounts.choose(lake, values.get(ACCOUNT_PARAM))
    if query.takes_accounts:
        given = values.get(ACCOUNTS_PARAM)
        held = accounts.registered(lake)
        if given is None:
            values[ACCOUNTS_PARAM] = list(held) or [accounts.choose(lake, None)]
        else:
            for account in query.params_value(ACCOUNTS_PARAM, given):
                accounts.choose(lake, account)
    return values


def _placeholder_accounts(query: Any, values: Any) -> Any:
    """The parameters with stand-ins for the accounts the lake fills in, so that the rest of
    a request is checked before the lake is opened (what is no object stays as it is, for
    `bind` to refuse)."""
    if not isinstance(values, Mapping):
        return values
    filled = dict(values)
    if query.takes_account and values.get(ACCOUNT_PARAM) is None:
        filled[ACCOUNT_PARAM] = "unchecked"
    if query.takes_accounts and values.get(ACCOUNTS_PARAM) is None:
        filled[ACCOUNTS_PARAM] = ["unchecked"]
    return filled


def execution_page(
    settings: Settings, execution_id: str, next_token: str | None = None, page_size: int = 100
) -> dict[str, Any]:
    """get_execution on the configured engine and lake, the request checked first."""
    check_execution_id(execution_id)
    check_page_size(page_size)
    return get_execution(configured_engine(settings), execution_id, next_token, page_size)


def following_pages(
    settings: Settings, result: dict[str, Any], limit: int | None = None
) -> list[list[Any]]:
    """A finished result's rows and those of every page after it, as many as `limit` (all
    where None)."""
    rows = list(result["rows"])
    while result.get("next_token") and (limit is None or len(rows) < limit):
        result = execution_page(settings, result["execution_id"], result["next_token"], 1000)
        rows.extend(result["rows"])
    return rows[:limit]


def run_query(
    engine: QueryEngine,
    name: str,
    params: Mapping[str, Any],
    *,
    wait_seconds: float = DEFAULT_WAIT_SECONDS,
    page_size: int = 100,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Start a named query and wait up to wait_seconds (at most 25) for its first page; the
    account(s) it reads filled in from the engine's lake where not given."""
    query = get_query(name)
    query.bind(_placeholder_accounts(query, params))
    wait = _check_wait(wait_seconds)
    page_size = check_page_size(page_size)
    if engine.lake is not None:
        params = with_accounts(engine.lake, name, params)
    values = query.bind(params)
    execution_id = engine.start(query, values)
    deadline = clock() + wait
    execution = engine.status(execution_id)
    polls = 0
    while not execution.finished and (remaining := deadline - clock()) > 0:
        sleep(min(POLL_SECONDS[min(polls, len(POLL_SECONDS) - 1)], remaining))
        polls += 1
        execution = engine.status(execution_id)
    return _outcome(engine, execution, None, page_size)


def get_execution(
    engine: QueryEngine, execution_id: str, next_token: str | None = None, page_size: int = 100
) -> dict[str, Any]:
    """An execution's state and, once it succeeded, the page of rows next_token points to."""
    page_size = check_page_size(page_size)
    return _outcome(engine, engine.status(execution_id), next_token, page_size)


def _outcome(
    engine: QueryEngine, execution: Execution, next_token: str | None, page_size: int
) -> dict[str, Any]:
    outcome: dict[str, Any] = {"execution_id": execution.execution_id, "state": execution.state}
    if not execution.finished:
        return outcome
    if execution.state != QueryState.SUCCEEDED:
        reason = execution.error or "the engine gave no reason"
        raise QueryError(f"execution {execution.execution_id} {execution.state}: {reason}")
    page = engine.results(execution.execution_id, next_token, page_size)
    outcome.update(columns=page.columns, rows=page.rows, next_token=page.next_token)
    return outcome


def _check_wait(wait_seconds: Any) -> float:
    valid = isinstance(wait_seconds, int | float) and not isinstance(wait_seconds, bool)
    if not valid or not wait_seconds >= 0:
        raise ValidationError(f"wait_seconds is {wait_seconds!r}; expected a number from 0 to 25")
    return min(float(wait_seconds), MAX_WAIT_SECONDS)
