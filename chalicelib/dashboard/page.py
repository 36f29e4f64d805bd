"""The dashboard's HTML: one self-contained page (inline CSS and SVG, system fonts), drawn by
the Jinja templates beside this file, which escape every value they are given; what this
module computes for them is text and numbers, never markup."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import quote, urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined

from chalicelib.dashboard import bars, charts
from chalicelib.dashboard.data import FORGOTTEN_STREAMS, TOP, DashboardData, Period
from chalicelib.runs import RunRecord, Status

QUICK_PERIODS = (7, 30, 90, 365)
FLAGGED = (Status.PARTIAL, Status.FAILED)


@dataclass(frozen=True)
class Cell:
    """A status cell: its text, its CSS classes and its tooltip."""

    text: str
    css: str = ""
    title: str = ""


def render(data: DashboardData, today: date, carried: Mapping[str, str] | None = None) -> str:
    """The whole dashboard page for the data's period; `carried` query parameters (a signed
    link's) go along in its own links and form."""
    summary = f"{data.period.days:,} days · plays, top artists and tracks, playlists · UTC"
    if data.account:
        summary = f"{data.account} · {summary}"
    figures = {} if data.empty else _figures(data)
    return _templates().get_template("dashboard.html").render(
        _header(data.period, today, carried or {}, summary),
        empty=data.empty,
        pending=data.pending,
        runs=[_run(run) for run in data.runs],
        **figures,
    )


def refused(
    problem: str, period: Period, today: date, carried: Mapping[str, str] | None = None
) -> str:
    """The page for a period that cannot be shown: what is wrong, and the form to fix it,
    holding the dates asked for."""
    return _templates().get_template("refused.html").render(
        _header(period, today, carried or {}, "pick dates in order · UTC"), problem=problem
    )


def accounts(
    listeners: Mapping[str, str], period: Period, today: date, together: str
) -> str:
    """The page of a lake of several listeners asked for no one's dashboard: one link each
    (the period kept), and one to what they share."""
    return _templates().get_template("accounts.html").render(
        _header(period, today, {}, "several listeners · UTC"),
        listeners=_listeners(listeners, period, ""),
        together=together,
    )


def together(
    rows: list[dict[str, Any]], listeners: Mapping[str, str], period: Period, today: date
) -> str:
    """The page of what the listeners share: one entry per artist, each listener's share of
    their own streams as a bar (its width the share of the largest one shown)."""
    widest = max((row["share"] for row in rows), default=0) or 1
    shown = _listeners(listeners, period, "../dashboard")
    css = {listener["account"]: listener["css"] for listener in shown}
    artists: dict[int, dict[str, Any]] = {}
    for row in rows:
        artist = artists.setdefault(
            row["rank"],
            {
                "rank": row["rank"],
                "name": row["artist_name"] or row["artist_id"],
                "score": f"{row['shared_score']:.1%}",
                "shares": [],
            },
        )
        artist["shares"].append(
            {
                "css": css.get(row["account"], ""),
                "width": 100 * row["share"] / widest,
                "percent": f"{listeners.get(row['account'], row['account'])}: {row['share']:.1%}",
                "streams": f"{row['streams']:,}",
            }
        )
    summary = f"{len(listeners)} listeners · the artists you share · UTC"
    return _templates().get_template("together.html").render(
        _header(period, today, {}, summary), artists=list(artists.values()), listeners=shown
    )


def _listeners(
    listeners: Mapping[str, str], period: Period, page: str
) -> list[dict[str, str]]:
    """Each listener: ID, name, colour and the link to their dashboard (on `page`, relative
    to the page linking to it) for the same period."""
    return [
        {
            "account": account,
            "name": name,
            "css": f"listener-{index}",
            "link": f"{page}?{_query(period.start, period.end, {'account': account})}",
        }
        for index, (account, name) in enumerate(listeners.items(), 1)
    ]


def link_refused(reason: str) -> str:
    """The page for a dashboard link that cannot be used, and how to get a new one."""
    return _templates().get_template("link_refused.html").render(reason=reason)


@cache
def _templates() -> Environment:
    templates = Environment(
        loader=PackageLoader("chalicelib.dashboard"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    templates.filters["day"] = _day
    return templates


def _header(
    period: Period, today: date, carried: Mapping[str, str], summary: str
) -> dict[str, Any]:
    """What the page's header shows: the period, the summary beneath its heading, the signed
    link's parameters carried in the form, the quick periods' query strings, and the link to
    the year in review of the period's last year (this one at the latest)."""
    quick = [
        (days, _query(today - timedelta(days=days - 1), today, carried)) for days in QUICK_PERIODS
    ]
    year = min(period.end.year, today.year)
    signed = f"?{urlencode(carried, quote_via=quote)}" if carried else ""
    return {
        "period": period,
        "summary": summary,
        "carried": carried,
        "quick": quick,
        "recap": (year, f"recap/{year}{signed}"),
    }


def _query(start: date, end: date, carried: Mapping[str, str]) -> str:
    dates = {"start_date": start.isoformat(), "end_date": end.isoformat()}
    return urlencode({**dates, **carried}, quote_via=quote)


def _figures(data: DashboardData) -> dict[str, Any]:
    """Every card's content: figures, bars, charts and rows, as text and numbers."""
    rows = data.rows
    artists = rows.get("top_artists", [])[:TOP]  # as the queries rank them
    tracks = rows.get("top_tracks", [])[:TOP]
    months = rows.get("listening_time", [])
    return {
        "top": TOP,
        "kpis": _kpis(rows),
        "history": charts.monthly(months) if months else None,
        "history_note": _history_note(months, rows.get("history_coverage", [])),
        "colours": {"measured": charts.GREEN, "estimated": charts.PALE_GREEN},
        "heatmap": charts.heatmap(rows["listening_by_hour"])
        if rows.get("listening_by_hour")
        else None,
        "top_artists": bars.ranking(
            _distinct_names(artists), [row["plays"] for row in artists], "plays"
        ),
        "top_tracks": bars.ranking(
            [row["track_name"] or row["track_id"] for row in tracks],
            [row["plays"] for row in tracks],
            "plays",
        ),
        "sizes_note": f"the {charts.PLAYLISTS} largest playlists, {_grain(data.period)} (each "
        "line on its own scale), first → last",
        "playlist_sizes": charts.playlist_sizes(rows["playlist_sizes"])
        if rows.get("playlist_sizes")
        else [],
        "streaks": bars.ranking(
            [_streak(row) for row in rows.get("listening_streaks", [])],
            [row["days"] for row in rows.get("listening_streaks", [])],
            "days",
        ),
        "sessions": bars.ranking(
            [_session(row) for row in rows.get("listening_sessions", [])],
            [row["minutes"] for row in rows.get("listening_sessions", [])],
            "min",
        ),
        "discovery": charts.discovery(rows["discovery"]) if rows.get("discovery") else None,
        "discovery_note": _discovery_note(rows.get("discovery", [])),
        "forgotten": rows.get("forgotten_favourites", []),
        "forgotten_note": _forgotten_note(data.period),
        "changes": rows.get("playlist_changes", []),
        "churn": bars.churn(rows.get("playlist_changes", []), charts.PLAYLISTS),
        "tracks": [_track(row) for row in tracks],
    }


def _kpis(rows: dict[str, list[dict[str, Any]]]) -> list[tuple[str, str]]:
    plays = sum(row["plays"] for row in rows.get("listening_by_hour", []))
    tracks = rows.get("top_tracks", [])
    minutes = sum(row["minutes"] or 0 for row in tracks)
    capped = "+" if len(tracks) >= 1000 else ""
    changes = rows.get("playlist_changes", [])
    added = sum(row["added"] for row in changes)
    removed = sum(row["removed"] for row in changes)
    playlists = len({row["playlist_id"] for row in rows.get("playlist_sizes", [])})
    return [
        (f"{plays:,}", "plays"),
        (f"{minutes / 60:,.1f} h", "listened"),
        (f"{len(tracks):,}{capped}", "different tracks"),
        (f"{playlists:,}", "playlists tracked"),
        (f"+{added:,} / −{removed:,}", "playlist entries added / removed"),
    ]


def _history_note(months: list[dict[str, Any]], days: list[dict[str, Any]]) -> str:
    """The whole history, whatever the period: its plays, and the days each source covers
    (an imported export, the API's polls)."""
    if not months:
        return ""
    plays = sum(row["plays"] for row in months)
    sources = []
    for label, columns in (("an export", ("export_only", "both_sources")),
                           ("the API", ("api_only", "both_sources"))):  # fmt: skip
        seen = [row["played_date"] for row in days if any(row[c] for c in columns)]
        if seen:
            sources.append(f"{label} from {_day(_date(min(seen)))} to {_day(_date(max(seen)))}")
    note = f"{plays:,} plays, minutes per month (UTC); seen by " + " and by ".join(sources)
    if not any(row["export_only"] or row["both_sources"] for row in days):
        note += "; import your privacy export (spotify-etl import) for the years before"
    return note


def _streak(row: dict[str, Any]) -> str:
    """A streak's days and streams: `3 Mar – 14 Mar 2026 · 123 streams`."""
    first, last = _date(row["first_day"]), _date(row["last_day"])
    days = _day(first) if first == last else f"{_day(first)} – {_day(last)}"
    return f"{days} · {row['streams']:,} streams"


def _session(row: dict[str, Any]) -> str:
    """A session's day and hours: `17 Jul 2026, 19:08 – 21:40 · 9 plays`."""
    began, ended = (datetime.fromisoformat(str(row[k])) for k in ("session_start", "session_end"))
    plays = "1 play" if row["plays"] == 1 else f"{row['plays']:,} plays"
    return f"{_day(began.date())}, {began:%H:%M} – {ended:%H:%M} · {plays}"


def _discovery_note(months: list[dict[str, Any]]) -> str:
    """How many artists the whole history found, and the month that found the most."""
    if not months:
        return ""
    found = sum(row["new_artists"] for row in months)
    most = min(months, key=lambda row: (-row["new_artists"], row["month"]))
    when = date.fromisoformat(most["month"] + "-01")
    return (
        f"{found:,} artists streamed for the first time over the whole history, the most in "
        f"{when:%b %Y} ({most['new_artists']:,}); a stream counts for its track's first "
        "credited artist"
    )


def _forgotten_note(period: Period) -> str:
    return (
        f"tracks streamed {FORGOTTEN_STREAMS} times or more before {_day(period.start)} and "
        "not once since, up to the period's end"
    )


def _grain(period: Period) -> str:
    step = period.snapshot_step
    return "entries per daily snapshot" if step == 1 else f"entries every {step} days"


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _distinct_names(artists: list[dict[str, Any]]) -> list[str]:
    """Each artist's name; two artists of one name are told apart by their IDs (one the
    catalog does not know yet, known by an export's name alone, has none)."""
    names = [row["artist_name"] or row["artist_id"] for row in artists]
    return [
        f"{name} ({row['artist_id'][:6]})" if names.count(name) > 1 and row["artist_id"] else name
        for name, row in zip(names, artists, strict=True)
    ]


def _track(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "rank": row["rank"],
        "name": row["track_name"] or row["track_id"],
        "artists": row["artist_names"] or "",
        "plays": f"{row['plays']:,} plays",
        "minutes": f"{row['minutes'] or 0:,.1f} min",
    }


def _run(run: RunRecord) -> dict[str, Any]:
    return {
        "when": _when(run.started_at or run.queued_at),
        "kind": run.kind or "",
        "overall": _status(run.status, run.errors, "overall"),
        "extract": _status(run.extract),
        "transform": _status(run.transform_status),
        "requests": (run.counts or {}).get("requests", ""),
    }


def _status(status: str | None, errors: list[str] | None = None, column: str = "") -> Cell:
    """A status cell, partial and failed marked; a run's errors in its tooltip."""
    classes = " ".join(filter(None, (column, f"status-{status}" if status in FLAGGED else "")))
    return Cell(status or "–", classes, "; ".join(errors or ()))


def _when(stamp: str | None) -> str:
    """2026-12-02T03:15:09Z as 2 Dec 03:15."""
    if not stamp:
        return ""
    moment = datetime.fromisoformat(stamp)
    return f"{moment.day} {moment:%b %H:%M}"


def _day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"
