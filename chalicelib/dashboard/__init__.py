"""The dashboard: `GET /dashboard`, one HTML page drawn from the named queries, and the year in
review, `GET /recap/{year}`; each also through a signed link."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from chalice import Response

from chalicelib.api import date_param, query_params
from chalicelib.errors import ConfigError, ValidationError
from chalicelib.settings import Settings

PERIOD = {"start_date", "end_date"}


def respond(settings: Settings, query: Mapping[str, str] | None) -> Response:
    """The page for ?start_date=&end_date=; a period a person mistyped gets the page, with a
    400, saying what is wrong."""
    return _dashboard(settings, query_params(query, PERIOD), {})


def respond_signed(settings: Settings, query: Mapping[str, str] | None) -> Response:
    """The page through a signed link (?expires=&signature=, and the period); a 403 page
    saying how to get a new link when it is expired, altered or links are not set up."""
    from chalicelib import links
    from chalicelib.dashboard import page

    params = query_params(query, {*PERIOD, *links.SIGNED})
    try:
        links.check(links.key_of(settings), params)
    except (links.LinkRefused, ConfigError) as refused:
        return _html(page.link_refused(str(refused)), 403)
    carried = {name: params[name] for name in links.SIGNED}
    return _dashboard(settings, {k: v for k, v in params.items() if k in PERIOD}, carried)


def respond_recap(settings: Settings, year: str, query: Mapping[str, str] | None) -> Response:
    """The year in review's page; a year that cannot be reviewed gets a page saying why, with
    a 400."""
    query_params(query, set())
    return _recap(settings, year, {})


def respond_recap_signed(
    settings: Settings, year: str, query: Mapping[str, str] | None
) -> Response:
    """The year in review through a signed dashboard link, which opens it as it opens the
    dashboard; refused as the dashboard refuses one."""
    from chalicelib import links
    from chalicelib.dashboard import page

    params = query_params(query, set(links.SIGNED))
    try:
        links.check(links.key_of(settings), params)
    except (links.LinkRefused, ConfigError) as refused:
        return _html(page.link_refused(str(refused)), 403)
    return _recap(settings, year, {name: params[name] for name in links.SIGNED})


def _recap(settings: Settings, year: str, carried: dict[str, str]) -> Response:
    from chalicelib import recap
    from chalicelib.dashboard import review

    today = datetime.now(UTC).date()
    try:
        reviewed = recap.check_year(year, today)
    except ValidationError as problem:
        return _html(review.refused(str(problem), today, carried), 400)
    return _html(review.render(recap.load(settings, reviewed, today=today), today, carried), 200)


def _dashboard(settings: Settings, params: dict[str, str], carried: dict[str, str]) -> Response:
    from chalicelib.dashboard import data, page

    today = datetime.now(UTC).date()
    start = end = None
    try:
        start, end = date_param(params, "start_date", None), date_param(params, "end_date", None)
        period = data.Period.of(start, end, today)
    except ValidationError as problem:  # a date mistyped, or From after To
        asked = data.Period.asked(start, end, today)
        return _html(page.refused(str(problem), asked, today, carried), 400)
    return _html(page.render(data.load(settings, period), today, carried), 200)


def _html(html: str, status: int) -> Response:
    return Response(html, status_code=status, headers={"Content-Type": "text/html; charset=utf-8"})
