"""The year in review's page (`templates/recap.html`): chalicelib.recap's figures for a phone,
a desktop or paper, escaped by the templates as the dashboard's are.

Its links are relative to the page (`/recap/2026` or, through a signed link,
`/view/recap/2026`): the other years beside it, and the dashboard over the year, a signed
link's parameters carried along.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from urllib.parse import quote, urlencode

from chalicelib.dashboard.page import _templates
from chalicelib.recap import FIRST_YEAR, TOP, Recap


def render(review: Recap, today: date, carried: Mapping[str, str] | None = None) -> str:
    """The whole page: the year's figures beside the year before's."""
    this, before = review.year, review.before
    return _templates().get_template("recap.html").render(
        year=this.year,
        span=this.span,
        span_before=before.span,
        nav=_nav(this.year, today, carried or {}, this.start, this.end),
        empty=review.empty,
        pending=review.pending,
        totals=review.totals(),
        moments=review.highlights(),
        tops=[
            ("top-tracks", f"Top {TOP} tracks", review.top("top_tracks")),
            ("top-artists", f"Top {TOP} artists", review.top("top_artists")),
        ],
    )


def refused(problem: str, today: date, carried: Mapping[str, str] | None = None) -> str:
    """The page for a year that cannot be reviewed: why, and links to the years that can."""
    return _templates().get_template("recap_refused.html").render(
        problem=problem,
        today=today,
        latest=_with(str(today.year), carried or {}),
        latest_before=_with(str(today.year - 1), carried or {}),
    )


def _nav(
    year: int, today: date, carried: Mapping[str, str], start: date, end: date
) -> list[tuple[str, str]]:
    """The year before, the dashboard over this one, and the year after (while there is one)."""
    dashboard = {"start_date": start.isoformat(), "end_date": end.isoformat(), **carried}
    nav = [] if year - 1 < FIRST_YEAR else [(f"← {year - 1}", _with(str(year - 1), carried))]
    nav.append(("dashboard", f"../dashboard?{urlencode(dashboard, quote_via=quote)}"))
    if year < today.year:
        nav.append((f"{year + 1} →", _with(str(year + 1), carried)))
    return nav


def _with(path: str, carried: Mapping[str, str]) -> str:
    return f"{path}?{urlencode(carried, quote_via=quote)}" if carried else path
