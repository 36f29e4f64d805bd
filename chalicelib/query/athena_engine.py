"""The AWS query engine: named queries on Athena, over the Glue catalog, in one workgroup.

A small wrapper over boto3's Athena client rather than awswrangler: the REST API needs only
three calls (start, get state, get one page), awswrangler's `athena.read_sql_query` waits
for the whole result and loads it into pandas (the API Lambda would then import pandas and
pyarrow, seconds of cold start, for a page of JSON), and it offers no call that returns one
page with Athena's NextToken. Waiting stays in `service.run_query`, with its injected sleep.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from chalicelib.accounts import ACCOUNT_ID
from chalicelib.errors import ConfigError, NotFoundError, QueryError, ValidationError
from chalicelib.query.engine import (
    Execution,
    QueryState,
    ResultPage,
    check_execution_id,
    check_page_size,
)
from chalicelib.query.named import ISO_DATE, NamedQuery

MAX_RESULTS = 1000  # GetQueryResults' own limit
INTEGERS = ("tinyint", "smallint", "integer", "int", "bigint")
FLOATS = ("double", "float", "real")
NOT_FOUND = re.compile(r"was not found|does not exist", re.IGNORECASE)
MISSING_TABLE = re.compile(r"TABLE_NOT_FOUND|SCHEMA_NOT_FOUND|Table .* does not exist", re.I)
SETUP_HINT = "create the workgroup and tables with `python glue/setup.py --stage STAGE`"
# Each call answers in well under a second; these bound a hung one inside the 30 s API Lambda.
CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 10
MAX_ATTEMPTS = 2


class AthenaEngine:
    """Starts, polls and pages Athena query executions in a workgroup, over a Glue database."""

    def __init__(self, workgroup: str, database: str, client: Any = None, lake: Any = None):
        self._workgroup = workgroup
        self._database = database
        self._client = client
        self.lake = lake  # the S3 lake, whose register of accounts fills a query's account

    def start(self, query: NamedQuery, params: list[Any]) -> str:
        """StartQueryExecution with the values bound as execution parameters."""
        request: dict[str, Any] = {
            "QueryString": query.sql,
            "QueryExecutionContext": {"Database": self._database, "Catalog": "AwsDataCatalog"},
            "WorkGroup": self._workgroup,
        }
        if params:
            request["ExecutionParameters"] = [execution_parameter(value) for value in params]
        response = self._call("start_query_execution", query.name, **request)
        return response["QueryExecutionId"]

    def status(self, execution_id: str) -> Execution:
        """The execution's state, with Athena's reason when it failed or was cancelled."""
        check_execution_id(execution_id)
        response = self._call("get_query_execution", execution_id, QueryExecutionId=execution_id)
        status = response["QueryExecution"]["Status"]
        state = status["State"]
        error = None
        if state not in (QueryState.SUCCEEDED, QueryState.QUEUED, QueryState.RUNNING):
            error = status.get("AthenaError", {}).get("ErrorMessage") or status.get(
                "StateChangeReason"
            )
        if error and MISSING_TABLE.search(error):
            error += f"; {SETUP_HINT}"
        return Execution(execution_id, state, error)

    def results(self, execution_id: str, next_token: str | None, page_size: int) -> ResultPage:
        """One page of rows, typed by the result metadata; next_token is Athena's NextToken."""
        check_execution_id(execution_id)
        page_size = check_page_size(page_size)
        first = next_token is None
        request: dict[str, Any] = {
            "QueryExecutionId": execution_id,
            # The first page starts with the header row: ask for one more to fill the page.
            "MaxResults": min(page_size + 1 if first else page_size, MAX_RESULTS),
        }
        if not first:
            request["NextToken"] = next_token
        response = self._call("get_query_results", execution_id, **request)
        result = response["ResultSet"]
        info = result.get("ResultSetMetadata", {}).get("ColumnInfo", [])
        columns = [{"name": column["Name"], "type": column["Type"].lower()} for column in info]
        rows = result.get("Rows", [])
        if first and rows and _is_header(rows[0], columns):
            rows = rows[1:]
        types = [column["type"] for column in columns]
        values = [
            [
                athena_value(cell.get("VarCharValue"), kind)
                for cell, kind in zip(row["Data"], types, strict=False)
            ]
            for row in rows
        ]
        return ResultPage(columns, values, response.get("NextToken"))

    def _call(self, operation: str, subject: str, **kwargs: Any) -> Any:
        """One Athena call, its errors translated into ours."""
        from botocore import exceptions

        try:
            return getattr(self._athena(), operation)(**kwargs)
        except (exceptions.ConnectionError, exceptions.HTTPClientError) as error:
            raise QueryError(
                f"Athena {operation} for {subject} failed: Athena could not be reached "
                f"or did not answer in time ({error}); try again"
            ) from None
        except exceptions.BotoCoreError as error:  # no credentials, say
            raise QueryError(f"Athena {operation} for {subject} failed: {error}") from None
        except exceptions.ClientError as error:
            detail = error.response.get("Error", {})
            message = detail.get("Message") or str(error)
            invalid = detail.get("Code") == "InvalidRequestException"
            if invalid and NOT_FOUND.search(message) and operation == "start_query_execution":
                raise ConfigError(f"Athena cannot run {subject}: {message}; {SETUP_HINT}") from None
            if invalid and NOT_FOUND.search(message):
                raise NotFoundError(
                    f"no Athena execution {subject}; start one with POST /queries/NAME"
                ) from None
            if invalid and "NextToken" in kwargs:
                raise ValidationError(
                    "next_token is not one this execution gave out; omit it to read from the start"
                ) from None
            raise QueryError(f"Athena {operation} for {subject} failed: {message}") from None

    def _athena(self) -> Any:
        if self._client is None:
            from botocore.config import Config

            from chalicelib.aws import client

            config = Config(
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                read_timeout=READ_TIMEOUT_SECONDS,
                retries={"total_max_attempts": MAX_ATTEMPTS, "mode": "standard"},
            )
            self._client = client("athena", config=config)
        return self._client


def execution_parameter(value: Any) -> str:
    """A bound value as Athena's ExecutionParameters take it: dates and account IDs quoted
    (an ID holds no quote: chalicelib.accounts), integers bare."""
    if isinstance(value, bool):
        raise ValidationError(f"{value!r} is not a date, an account or an integer")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and ISO_DATE.match(value):
        try:
            return f"'{date.fromisoformat(value).isoformat()}'"
        except ValueError:
            pass
    elif isinstance(value, str) and ACCOUNT_ID.match(value) and ".." not in value:
        return f"'{value}'"
    raise ValidationError(
        f"{value!r} is not a date (YYYY-MM-DD), a Spotify user ID or an integer"
    )


def athena_value(text: str | None, kind: str) -> Any:
    """A result cell (Athena returns text) as the JSON value DuckDB's engine gives."""
    if text is None:
        return None
    base = kind.split("(", 1)[0].strip()
    if base in INTEGERS:
        return int(text)
    if base in FLOATS:
        return float(text)
    if base == "decimal":
        number = Decimal(text)
        return int(number) if number == number.to_integral_value() else float(number)
    if base == "boolean":
        return text.lower() == "true"
    if base.startswith("timestamp"):
        return datetime.fromisoformat(text.replace(" UTC", "")).isoformat()
    if base == "array" and text.startswith("[") and text.endswith("]"):
        inner = text[1:-1]
        return inner.split(", ") if inner else []
    return text


def _is_header(row: dict[str, Any], columns: list[dict[str, str]]) -> bool:
    cells = [cell.get("VarCharValue") for cell in row.get("Data", [])]
    return cells == [column["name"] for column in columns]
