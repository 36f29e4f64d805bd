"""The dashboard: `GET /dashboard`, one HTML page drawn from the named queries, and the year in
review, `GET /recap/{year}`; each also through a signed link."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from chalice import Response

from chalicelib.accounts import AccountRequiredError
from chalicelib.api import date_param, query_params
from chalicelib.errors import ConfigError, ValidationError
from chalicelib.settings import Settings

PERIOD = {"start_date", "end_date"}
ACCOUNT = "account"
TOGETHER = "dashboard/together"  # relative to /dashboard


def respond(settings: Settings, query: Mapping[str, str] | None) -> Response:
    """The page for ?account=&start_date=&end_date= (the account required where the lake
    holds several); a period a person mistyped gets the page, with a 400, saying what is
    wrong."""
    params = query_params(query, {*PERIOD, ACCOUNT})
    account = params.pop(ACCOUNT, None)
    carried = {ACCOUNT: account} if account else {}
    return _dashboard(settings, params, carried, account)


def respond_signed(settings: Settings, query: Mapping[str, str] | None) -> Response:
    """The page through a signed link (?expires=&signature=, and the period); a 403 page
    saying how to get a new link when it is expired, altered or links are not set up."""
    from chalicelib import links
    from chalicelib.dashboard import page

    params = query_params(query, {*PERIOD, *links.SIGNED})
    try:
        account = links.check(links.key_of(settings), params)
    except (links.LinkRefused, ConfigError) as refused:
        return _html(page.link_refused(str(refused)), 403)
    carried = {name: params[name] for name in links.SIGNED}
    period = {k: v for k, v in params.items() if k in PERIOD}
    return _dashboard(settings, period, carried, account)


def respond_together(settings: Settings, query: Mapping[str, str] | None) -> Response:
    """What the lake's listeners share, for ?start_date=&end_date= (`together`)."""
    from chalicelib.dashboard import data, page

    today = datetime.now(UTC).date()
    params = query_params(query, PERIOD)
    period = _period(params, today, {})
    if isinstance(period, Response):
        return period
    rows, listeners = data.load_together(settings, period)
    return _html(page.together(rows, listeners, period, today), 200)


def respond_recap(settings: Settings, year: str, query: Mapping[str, str] | None) -> Response:
    """The year in review's page of ?account= (the lake's only one by default); a year that
    cannot be reviewed gets a page saying why, with a 400."""
    params = query_params(query, {ACCOUNT})
    account = params.get(ACCOUNT)
    return _recap(settings, year, {ACCOUNT: account} if account else {}, account)


def respond_recap_signed(
    settings: Settings, year: str, query: Mapping[str, str] | None
) -> Response:
    """The year in review through a signed dashboard link, which opens it as it opens the
    dashboard: its account's only; refused as the dashboard refuses one."""
    from chalicelib import links
    from chalicelib.dashboard import page

    params = query_params(query, set(links.SIGNED))
    try:
        account = links.check(links.key_of(settings), params)
    except (links.LinkRefused, ConfigError) as refused:
        return _html(page.link_refused(str(refused)), 403)
    return _recap(settings, year, {name: params[name] for name in links.SIGNED}, account)


def _recap(
    settings: Settings, year: str, carried: dict[str, str], account: str | None
) -> Response:
    from chalicelib import recap
    from chalicelib.dashboard import review

    today = datetime.now(UTC).date()
    try:
        reviewed = recap.check_year(year, today)
    except ValidationError as problem:
        return _html(review.refused(str(problem), today, carried), 400)
    given = {ACCOUNT: account} if account else {}
    loaded = recap.load(settings, reviewed, given, today=today)
    return _html(review.render(loaded, today, carried), 200)


def _dashboard(
    settings: Settings, params: dict[str, str], carried: dict[str, str], account: str | None
) -> Response:
    from chalicelib.dashboard import data, page

    today = datetime.now(UTC).date()
    period = _period(params, today, carried)
    if isinstance(period, Response):
        return period
    try:
        loaded = data.load(settings, period, account)
    except AccountRequiredError:  # several listeners, none named: whose is it to be?
        listeners = data.listeners(settings)
        return _html(page.accounts(listeners, period, today, TOGETHER), 200)
    return _html(page.render(loaded, today, carried), 200)


def _period(params: dict[str, str], today: date, carried: dict[str, str]) -> Any:
    """The period asked for, or the page saying what is wrong with it (a 400)."""
    from chalicelib.dashboard import data, page

    start = end = None
    try:
        start, end = date_param(params, "start_date", None), date_param(params, "end_date", None)
        return data.Period.of(start, end, today)
    except ValidationError as problem:  # a date mistyped, or From after To
        asked = data.Period.asked(start, end, today)
        return _html(page.refused(str(problem), asked, today, carried), 400)


def _html(html: str, status: int) -> Response:
    return Response(html, status_code=status, headers={"Content-Type": "text/html; charset=utf-8"})
