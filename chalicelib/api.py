"""What the REST routes share: reading requests and turning our errors into Chalice's."""

from __future__ import annotations

import json
from typing import Any

from chalice import Response

from chalicelib.errors import ConfigError, NotFoundError, PipelineError, ValidationError

STATUS = {ValidationError: 400, NotFoundError: 404, ConfigError: 500}
CODES = {400: "BadRequestError", 404: "NotFoundError", 500: "ChaliceViewError"}


def error_response(error: PipelineError) -> Response:
    """Chalice's error shape, `{"Code": ..., "Message": ...}`, with our message."""
    status = next((code for kind, code in STATUS.items() if isinstance(error, kind)), 500)
    body = {"Code": CODES.get(status, "ChaliceViewError"), "Message": str(error)}
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


def json_body(raw_body: bytes | None, allowed: set[str]) -> dict[str, Any]:
    """The request's JSON object body (empty when absent), with only the allowed keys."""
    if not raw_body:
        return {}
    try:
        body = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ValidationError("the request body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValidationError(
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
        raise ValidationError(f"{name} must be an integer, not {value!r}") from None
    if not low <= number <= high:
        raise ValidationError(f"{name} must be between {low} and {high}")
    return number
