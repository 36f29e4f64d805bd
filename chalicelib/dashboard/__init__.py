"""The dashboard: `GET /dashboard`, one HTML page drawn from the named queries."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from chalice import Response

from chalicelib.api import date_param, query_params
from chalicelib.errors import ValidationError
from chalicelib.settings import Settings


def respond(settings: Settings, query: Mapping[str, str] | None) -> Response:
    """The page for ?start_date=&end_date=; a period a person mistyped gets the page, with a
    400, saying what is wrong."""
    from chalicelib.dashboard import data, page

    params = query_params(query, {"start_date", "end_date"})
    today = datetime.now(UTC).date()
    start, end = date_param(params, "start_date", None), date_param(params, "end_date", None)
    try:
        period = data.Period.of(start, end, today)
    except ValidationError as problem:
        return _html(page.refused(str(problem), data.Period.of(None, None, today), today), 400)
    return _html(page.render(data.load(settings, period), today), 200)


def _html(html: str, status: int) -> Response:
    return Response(html, status_code=status, headers={"Content-Type": "text/html; charset=utf-8"})
