"""What the REST routes share: reading requests and turning our errors into Chalice's."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from chalice import BadRequestError, ChaliceViewError, NotFoundError

from chalicelib import errors

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


def json_body(raw_body: bytes | None, allowed: set[str]) -> dict[str, Any]:
    """The request's JSON object body (empty when absent), with only the allowed keys."""
    if not raw_body:
        return {}
    try:
        body = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        raise errors.ValidationError("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise errors.ValidationError("the request body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise errors.ValidationError(
            f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    return body


def int_param(params: dict[str, str] | None, name: str, default: int, low: int, high: int) -> int:
    """An integer query-string parameter within bounds."""
    value = (params or {}).get(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise errors.ValidationError(f"{name} must be an integer, not {value!r}") from None
    if not low <= number <= high:
        raise errors.ValidationError(f"{name} must be between {low} and {high}")
    return number
