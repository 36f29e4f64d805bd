"""The dashboard: `GET /dashboard`, one HTML page drawn from the named queries."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from chalice import Blueprint, Response

from chalicelib.api import date_param, http_errors, query_params
from chalicelib.errors import ValidationError
from chalicelib.settings import Settings

dashboard = Blueprint(__name__)


@dashboard.route("/dashboard", api_key_required=True)
@http_errors
def show_dashboard() -> Response:
    """The dashboard for ?start_date=&end_date= (YYYY-MM-DD; the last 30 days by default)."""
    from chalicelib.dashboard import data, page

    params = query_params(dashboard.current_request.query_params, {"start_date", "end_date"})
    today = datetime.now(UTC).date()
    start, end = date_param(params, "start_date", None), date_param(params, "end_date", None)
    try:
        period = data.Period.of(start, end, today)
    except ValidationError as problem:  # a person picked the dates: answer with the page
        return _html(page.refused(str(problem), data.Period.of(None, None, today), today), 400)
    return _html(page.render(data.load(Settings.from_env(os.environ), period), today), 200)


def _html(html: str, status: int) -> Response:
    return Response(html, status_code=status, headers={"Content-Type": "text/html; charset=utf-8"})
