"""What the REST routes share: reading requests and turning our errors into Chalice's."""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from chalice import BadRequestError, ChaliceViewError, NotFoundError

from chalicelib import errors
from chalicelib.errors import shown

INTEGER = re.compile(r"[+-]?[0-9]{1,18}")
DIGITS = re.compile(r"[+-]?[0-9]+")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
CHALICE_ERRORS: dict[type[errors.PipelineError], type[ChaliceViewError]] = {
    errors.ValidationError: BadRequestError,
    errors.NotFoundError: NotFoundError,
}


def http_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """Raise our errors as Chalice's, so they answer `{"Code": ..., "Message": ...}`."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except errors.PipelineError as error:
            kind = next((c for e, c in CHALICE_ERRORS.items() if isinstance(error, e)), None)
            raise (kind or ChaliceViewError)(str(error)) from None

    return wrapper


def number_field(body: Mapping[str, Any], name: str, default: float) -> float:
    """A body field that must be a number (not a boolean) when given."""
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise errors.ValidationError(f"{name} must be a number, not {shown(value)}")
    return value


def recap_field(body: Mapping[str, Any]) -> int | None:
    """A body's `recap`: a year to review, as a whole number (none when absent)."""
    from chalicelib.recap import check_year

    value = body.get("recap")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise errors.ValidationError(
            f"recap must be a year as a number, like 2025, not {shown(value)}"
        )
    return check_year(value, datetime.now(UTC).date())


def api_base_url(request: Any) -> str:
    """The URL the API was called at, up to its routes: scheme and host from the request's
    headers, and API Gateway's stage path (`/api`), which precedes the route's own path."""
    headers = request.headers or {}
    scheme = headers.get("x-forwarded-proto", "http")
    context = request.context or {}
    path, route = str(context.get("path", "")), str(context.get("resourcePath", ""))
    prefix = path[: len(path) - len(route)] if route and path.endswith(route) else ""
    return f"{scheme}://{headers.get('host', 'localhost')}{prefix}"


def json_body(raw_body: bytes | None, allowed: set[str]) -> dict[str, Any]:
    """The request's JSON object body (empty when absent), with only the allowed keys."""
    if not raw_body:
        return {}
    try:
        body = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise errors.ValidationError("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise errors.ValidationError("the request body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown and not allowed:
        raise errors.ValidationError("this request takes no body; send none, or {}")
    if unknown:
        raise errors.ValidationError(
            f"unknown field(s) {', '.join(map(shown, unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    return body


def query_params(params: Any, allowed: set[str]) -> dict[str, str]:
    """The query string as one value per name; unknown or repeated names are a 400."""
    if not params:
        return {}
    unknown = sorted(set(params) - allowed)
    if unknown and not allowed:
        raise errors.ValidationError(
            f"this request takes no query parameters, not {', '.join(map(shown, unknown))}"
        )
    if unknown:
        raise errors.ValidationError(
            f"unknown query parameter(s) {', '.join(map(shown, unknown))}; "
            f"allowed: {', '.join(sorted(allowed))}"
        )
    values: dict[str, str] = {}
    for name in params:
        given = params.getlist(name) if hasattr(params, "getlist") else [params[name]]
        if len(given) > 1:
            raise errors.ValidationError(
                f"query parameter {shown(name)} is given {len(given)} times; give it once"
            )
        values[name] = given[0]
    return values


def int_param(
    params: Mapping[str, str] | None, name: str, default: int, low: int, high: int
) -> int:
    """An integer query-string parameter within bounds."""
    value = (params or {}).get(name)
    if value is None:
        return default
    text = value.strip()
    if not INTEGER.fullmatch(text):
        why = "out of range" if DIGITS.fullmatch(text) else "not a whole number"
        raise errors.ValidationError(f"{name} is {shown(value)}, {why}: from {low} to {high}")
    number = int(text)
    if not low <= number <= high:
        raise errors.ValidationError(f"{name} is {number}, out of range: from {low} to {high}")
    return number


def date_param(params: Mapping[str, str] | None, name: str, default: date | None) -> date | None:
    """A date query-string parameter as YYYY-MM-DD."""
    value = (params or {}).get(name)
    if value is None:
        return default
    text = value.strip()
    if not ISO_DATE.fullmatch(text):
        raise errors.ValidationError(f"{name} is {shown(value)}; expected a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise errors.ValidationError(f"{name} is {shown(value)}, which is not a date") from None


def wait_seconds(body: Mapping[str, Any], default: float = 10.0, ceiling: float = 25.0) -> float:
    """The body's wait_seconds: a number from 0, capped at the ceiling (API Gateway's 29 s)."""
    value = body.get("wait_seconds")
    if value is None:
        return default
    number = value if isinstance(value, int | float) and not isinstance(value, bool) else None
    if number is None or not number >= 0:
        raise errors.ValidationError(
            f"wait_seconds is {shown(value)}; expected a number of seconds from 0 to {ceiling:g}"
        )
    return float(min(number, ceiling))


MAX_PAGE_BYTES = 5_000_000
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


def result_page(
    fetch: Callable[[str | None, int], dict[str, Any]], next_token: str | None, page_size: int
) -> dict[str, Any]:
    """The page next_token points to, fetched from the engine by (engine token, page size)."""
    engine_token, skip, fetch_size = page_token(next_token, page_size)
    return capped_page(fetch(engine_token, fetch_size), engine_token, skip, fetch_size, page_size)


def page_token(token: str | None, page_size: int) -> tuple[str | None, int, int]:
    """From our next_token: the engine's page token, the page size it was read with and how
    many of that page's rows were served already."""
    if token is None:
        return None, 0, page_size
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        engine_token, skip, size = decoded["t"], decoded["s"], decoded["p"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeError, RecursionError):
        engine_token, skip, size = None, -1, 0
    numbers = [n for n in (skip, size) if isinstance(n, int) and not isinstance(n, bool)]
    valid = engine_token is None or isinstance(engine_token, str)
    if not valid or len(numbers) != 2 or not 0 <= skip < size <= MAX_PAGE_SIZE:
        raise errors.ValidationError(
            "next_token is not one this API gave out; omit it to read from the start"
        )
    return engine_token, skip, size


def capped_page(
    result: dict[str, Any],
    engine_token: str | None = None,
    skip: int = 0,
    fetch_size: int = DEFAULT_PAGE_SIZE,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> dict[str, Any]:
    """A page of results: the engine's page (read with fetch_size) without its first `skip`
    rows, at most page_size rows and under MAX_PAGE_BYTES of JSON (Lambda answers at most
    6 MB); its next_token resumes right after the last row kept."""
    if "rows" not in result:
        return result
    rows = result["rows"][skip:]
    size = len(json.dumps(dict(result, rows=[], next_token="x" * 300)))
    kept = 0
    for row in rows[:page_size]:
        size += len(json.dumps(row)) + 1
        if kept and size > MAX_PAGE_BYTES:
            break
        kept += 1
    if kept < len(rows):
        next_token = _token(engine_token, skip + kept, fetch_size)
    elif result.get("next_token"):
        next_token = _token(result["next_token"], 0, page_size)
    else:
        next_token = None
    return dict(result, rows=rows[:kept], next_token=next_token)


def _token(engine_token: str | None, skip: int, fetch_size: int) -> str:
    payload = json.dumps({"t": engine_token, "s": skip, "p": fetch_size}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode()
