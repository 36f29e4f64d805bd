"""A year in review (SPEC §10): a year's figures beside the year before's.

Every figure is a named query's, run through the query service with the year's dates and the
caller's parameters (what every query of the recap is asked besides): `listening_summary`
(minutes, streams, tracks and artists, the month, weekday and hour listened most),
`top_tracks` and `top_artists`, `listening_streaks` and `listening_sessions` (the longest of
each), `discovery` (the artists found each month, once over both years) and `new_artists` (the
most streamed of them). Nothing is counted here: the figures are the queries' rows, put into
words. For the year under way, both years stop at today's date, so the two compare alike.
"""

from __future__ import annotations

import re
import time
from calendar import monthrange
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from chalicelib.errors import ValidationError, shown
from chalicelib.lake import holds_lake
from chalicelib.query import service
from chalicelib.settings import Settings

FIRST_YEAR = 2006  # Spotify's founding: no history is older
TOP = 5
WAIT_SECONDS = 20.0
POLL_SECONDS = 2.0
YEAR = re.compile(r"^[+-]?[0-9]{1,9}$")
# Each year's queries and their parameters beyond its dates and the caller's.
YEARLY: dict[str, dict[str, Any]] = {
    "listening_summary": {},
    "top_tracks": {"limit": TOP},
    "top_artists": {"limit": TOP},
    "listening_streaks": {"limit": 1},
    "listening_sessions": {"limit": 1},
    "new_artists": {"limit": 1},
}
DISCOVERY = "discovery"  # once over both years, its months split between them
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")  # fmt: skip
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def check_year(value: Any, today: date) -> int:
    """The year asked for, as a number from FIRST_YEAR to this one, or a ValidationError
    saying which years there are."""
    text = str(value).strip() if isinstance(value, str | int) else ""
    year = int(text) if YEAR.match(text) and not isinstance(value, bool) else None
    if year is None:
        why = "not a year"
    elif year > today.year:
        why = "still to come"
    elif year < FIRST_YEAR:
        why = f"before Spotify's first ({FIRST_YEAR})"
    else:
        return year
    asked = shown(value) if year is None else year
    raise ValidationError(
        f"year {asked} is {why}; give one from {FIRST_YEAR} to {today.year}, like {today.year - 1}"
    )


@dataclass
class Year:
    """A year's dates (to today, in the year under way) and each query's rows over them."""

    year: int
    start: date
    end: date
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @classmethod
    def of(cls, year: int, until: date | None = None) -> Year:
        """The whole year, or its days up to `until`'s date (the 28th for 29 February)."""
        if until is None:
            return cls(year, date(year, 1, 1), date(year, 12, 31))
        day = min(until.day, monthrange(year, until.month)[1])
        return cls(year, date(year, 1, 1), date(year, until.month, day))

    def params(self) -> dict[str, str]:
        return {"start_date": self.start.isoformat(), "end_date": self.end.isoformat()}

    @property
    def span(self) -> str:
        """`1 Jan – 5 Dec 2026`."""
        return f"{_day(self.start)} – {_day(self.end)} {self.end.year}"

    def first(self, name: str) -> dict[str, Any] | None:
        """The query's first row, if it answered one."""
        return next(iter(self.rows.get(name, [])), None)

    @property
    def summary(self) -> dict[str, Any] | None:
        return self.first("listening_summary")

    @property
    def discovered(self) -> tuple[int, int]:
        """The artists first streamed this year and their streams: discovery's months summed
        (each artist is new in one month alone)."""
        months = self.rows.get(DISCOVERY, [])
        return sum(m["new_artists"] for m in months), sum(m["new_artist_streams"] for m in months)


@dataclass(frozen=True)
class Figure:
    """One line of the review: what it is, this year's and the year before's, as text, and
    the change between them where they are numbers."""

    label: str
    value: str
    before: str
    change: str = ""


@dataclass(frozen=True)
class Ranked:
    """A place in a top list: its name, who by (a track's artists), streams and minutes."""

    rank: int
    name: str
    by: str
    streams: int
    minutes: float


@dataclass
class Recap:
    """The year and the year before; `pending` names the queries still running."""

    year: Year
    before: Year
    pending: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.pending and self.year.summary is None and self.before.summary is None

    def figures(self) -> list[Figure]:
        """Every figure of the review, this year's beside the year before's."""
        return self.totals() + self.highlights()

    def totals(self) -> list[Figure]:
        """Minutes, streams, tracks and artists."""
        this, last = self.year, self.before
        return [
            _number("minutes listened", this, last, "minutes"),
            _number("streams", this, last, "streams"),
            _number("tracks streamed", this, last, "tracks"),
            _number("artists streamed", this, last, "artists"),
        ]

    def highlights(self) -> list[Figure]:
        """When most, how long at most, and who new."""
        this, last = self.year, self.before
        return [
            _most("month listened most", this, last, "top_month", _month),
            _most("weekday listened most", this, last, "top_weekday", lambda d: WEEKDAYS[d - 1]),
            _most("hour listened most (UTC)", this, last, "top_hour", _hour),
            Figure("longest streak", _streak(this), _streak(last)),
            Figure("longest session", _session(this), _session(last)),
            _count("artists discovered", this.discovered, last.discovered),
            Figure("most streamed discovery", _discovery(this), _discovery(last)),
        ]

    def top(self, name: str) -> list[tuple[Ranked | None, Ranked | None]]:
        """A top list (`top_tracks` or `top_artists`), each place beside the year before's."""
        this, last = _ranked(self.year, name), _ranked(self.before, name)
        return [
            (this[n] if n < len(this) else None, last[n] if n < len(last) else None)
            for n in range(max(len(this), len(last)))
        ]


def load(
    settings: Settings,
    year: int,
    given: Mapping[str, Any] | None = None,
    *,
    today: date | None = None,
    patient: bool = False,
    sleep: Callable[[float], None] = time.sleep,
) -> Recap:
    """The year's review and the year before's, every query asked with `given` besides its
    own parameters, run side by side, each waiting at most WAIT_SECONDS (`patient`: until it
    finished, polling); none on a local folder that holds no lake yet."""
    today = today or datetime.now(UTC).date()
    until = today if year == today.year else None
    this, last = Year.of(year, until), Year.of(year - 1, until)
    if settings.lake_is_local and not holds_lake(Path(settings.lake_uri)):
        return Recap(this, last)  # no lake yet: nothing to review
    asked = [
        (period, name, {**period.params(), **extra, **(given or {})})
        for period in (this, last)
        for name, extra in YEARLY.items()
    ]
    both = {"start_date": last.start.isoformat(), "end_date": this.end.isoformat()}
    with ThreadPoolExecutor(max_workers=len(asked) + 1) as pool:
        found = pool.submit(_rows, settings, DISCOVERY, {**both, **(given or {})}, patient, sleep)
        futures = [
            (period, name, pool.submit(_rows, settings, name, params, patient, sleep))
            for period, name, params in asked
        ]
        months = found.result()
        outcomes = [(period, name, future.result()) for period, name, future in futures]
    recap = Recap(this, last)
    for period, name, rows in outcomes:
        if rows is None:
            recap.pending.append(name)
        else:
            period.rows[name] = rows
    if months is None:
        recap.pending.append(DISCOVERY)
    for period in (this, last):
        period.rows[DISCOVERY] = [
            row for row in months or [] if row["month"].startswith(f"{period.year:04d}-")
        ]
    recap.pending = sorted(set(recap.pending))
    return recap


def _rows(
    settings: Settings,
    name: str,
    params: Mapping[str, Any],
    patient: bool,
    sleep: Callable[[float], None],
) -> list[dict[str, Any]] | None:
    """Every row of the query as a dict; None while it runs, unless `patient`."""
    result = service.run_named(settings, name, params, WAIT_SECONDS, page_size=1000)
    while patient and "rows" not in result:
        sleep(POLL_SECONDS)
        result = service.execution_page(settings, result["execution_id"], None, 1000)
    if "rows" not in result:
        return None
    names = [column["name"] for column in result["columns"]]
    return [dict(zip(names, row, strict=True)) for row in service.following_pages(settings, result)]


def _number(label: str, this: Year, last: Year, column: str) -> Figure:
    now, then = (None if y.summary is None else y.summary[column] for y in (this, last))
    return Figure(label, _amount(now), _amount(then), _change(now, then))


def _count(label: str, this: tuple[int, int], last: tuple[int, int]) -> Figure:
    def said(found: tuple[int, int]) -> str:
        return f"{found[0]:,} ({found[1]:,} streams)"

    return Figure(label, said(this), said(last), _change(this[0], last[0]))


def _most(
    label: str, this: Year, last: Year, column: str, named: Callable[[Any], str]
) -> Figure:
    def said(year: Year) -> str:
        if year.summary is None:
            return "–"
        return f"{named(year.summary[column])} ({year.summary[f'{column}_minutes']:,.0f} min)"

    return Figure(label, said(this), said(last))


def _streak(year: Year) -> str:
    streak = year.first("listening_streaks")
    if streak is None:
        return "–"
    first, last = (date.fromisoformat(str(streak[k])[:10]) for k in ("first_day", "last_day"))
    days = "1 day" if streak["days"] == 1 else f"{streak['days']:,} days"
    return f"{days}, {_day(first)} – {_day(last)}"


def _session(year: Year) -> str:
    session = year.first("listening_sessions")
    if session is None:
        return "–"
    began, ended = (_moment(session[k]) for k in ("session_start", "session_end"))
    plays = "1 play" if session["plays"] == 1 else f"{session['plays']:,} plays"
    until = f"{ended:%H:%M}" if ended.date() == began.date() else f"{_day(ended)} {ended:%H:%M}"
    return f"{_duration(session['minutes'])}, {_day(began)} {began:%H:%M} – {until} ({plays})"


def _discovery(year: Year) -> str:
    found = year.first("new_artists")
    if found is None:
        return "–"
    return f"{found['artist_name'] or found['artist_id']} ({found['streams']:,} streams)"


def _ranked(year: Year, name: str) -> list[Ranked]:
    rows = year.rows.get(name, [])
    if name == "top_tracks":
        return [
            Ranked(r["rank"], r["track_name"] or r["track_id"], r["artist_names"] or "",
                   r["plays"], r["minutes"] or 0.0)
            for r in rows
        ]  # fmt: skip
    return [
        Ranked(r["rank"], r["artist_name"] or r["artist_id"], "", r["plays"], r["minutes"] or 0.0)
        for r in rows
    ]


def _amount(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _change(now: float | None, then: float | None) -> str:
    """+12 % where the year before had some, else nothing to compare."""
    if now is None or not then:
        return ""
    change = round(100 * (now - then) / then)
    return f"{change:+,d} %".replace("-", "−") if change else "±0 %"


def _month(month: str) -> str:
    return MONTHS[int(month[5:7]) - 1]


def _hour(hour: int) -> str:
    return f"{hour:02d}:00–{(hour + 1) % 24:02d}:00"


def _duration(minutes: float) -> str:
    hours, rest = divmod(round(minutes), 60)
    return f"{hours} h {rest:02d} min" if hours else f"{rest} min"


def _moment(value: Any) -> datetime:
    """A timestamp as DuckDB (ISO) or Athena (`2026-01-02 10:00:00.000`) answers it."""
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _day(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1][:3]}"
