"""The dashboard's data: its named queries, run side by side within API Gateway's 29 s."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from chalicelib import accounts
from chalicelib.accounts import AccountLake
from chalicelib.errors import ValidationError
from chalicelib.lake import holds_lake, open_lake_to_read
from chalicelib.query import service
from chalicelib.query.named import get_query
from chalicelib.runs import RunRecord, RunStore
from chalicelib.settings import Settings

DEFAULT_DAYS = 30
SIZE_POINTS = 92  # of a playlist's size at most, over any period
WAIT_SECONDS = 20.0
MAX_ROWS = 20_000
TOP = 10
LONGEST = 5  # streaks and sessions
RUNS = 10
# The dashboard's queries and their parameters beyond the period; top_tracks is read whole
# (up to its limit): the totals count every track played.
QUERIES: dict[str, dict[str, Any]] = {
    "listening_by_hour": {},
    "top_artists": {"limit": TOP},
    "top_tracks": {"limit": 1000},
    "listening_streaks": {"limit": LONGEST},
    "listening_sessions": {"limit": LONGEST},
    "playlist_sizes": {},
    "playlist_changes": {},
}
# The whole history, whatever the period: minutes per month and which days each source saw,
# from before Spotify's first stream to the period's end.
HISTORY_START = date(2006, 1, 1)
WHOLE_HISTORY: dict[str, dict[str, Any]] = {
    "listening_time": {"monthly": 1},
    "history_coverage": {},
    "discovery": {},
}
# Looking back from the period's last day: the favourites streamed before the period and not
# in it.
FORGOTTEN_STREAMS = 10
AS_OF: dict[str, dict[str, Any]] = {
    "forgotten_favourites": {"limit": TOP, "min_streams": FORGOTTEN_STREAMS}
}


@dataclass(frozen=True)
class Period:
    """The dates the dashboard covers, both inclusive."""

    start: date
    end: date

    @classmethod
    def of(cls, start: date | None, end: date | None, today: date) -> Period:
        """The period asked for, however long, refused if it starts after it ends."""
        period = cls.asked(start, end, today)
        if period.start > period.end:
            raise ValidationError(
                f"start_date {period.start} is after end_date {period.end}; swap them"
            )
        return period

    @classmethod
    def asked(cls, start: date | None, end: date | None, today: date) -> Period:
        """The dates asked for, unchecked; by default the last DEFAULT_DAYS days up to today."""
        end = end or today
        return cls(start or end - timedelta(days=DEFAULT_DAYS - 1), end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def snapshot_step(self) -> int:
        """Every how many days a playlist's size is drawn: daily up to SIZE_POINTS days, a
        coarser grain beyond, so the page's size does not grow with the period."""
        [every] = (p for p in get_query("playlist_sizes").params if p.name == "every_days")
        return min(-(-self.days // SIZE_POINTS), every.maximum or 1)

    def params(self) -> dict[str, str]:
        return {"start_date": self.start.isoformat(), "end_date": self.end.isoformat()}

    def looking_back(self) -> dict[str, Any]:
        """From the period's last day over its days (a query's `as_of` and `quiet_days`)."""
        [quiet] = (p for p in get_query("forgotten_favourites").params if p.name == "quiet_days")
        return {"as_of": self.end.isoformat(), "quiet_days": min(self.days, quiet.maximum or 1)}


@dataclass
class DashboardData:
    """Each query's rows as dicts by column name; `pending` lists those still running; `runs`
    holds the newest run records."""

    period: Period
    account: str | None = None
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    runs: list[RunRecord] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.pending and not any(self.rows.values())


def listeners(settings: Settings) -> dict[str, str]:
    """The lake's accounts, each by its display name (its ID where it has none)."""
    held = accounts.registered(open_lake_to_read(settings.lake_uri))
    return {account: about.get("display_name") or account for account, about in held.items()}


def load_together(
    settings: Settings, period: Period
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The `together` query's rows for the period (every account of the lake), and the
    listeners by name."""
    named = listeners(settings)
    rows = _rows(settings, "together", {**period.params(), "limit": TOP * 2})
    return rows or [], named


def load(settings: Settings, period: Period, account: str | None = None) -> DashboardData:
    """Run the dashboard's queries for `account` (by default the lake's only one)
    concurrently, each waiting at most WAIT_SECONDS; none on a local folder that holds no
    lake yet (the page then says how to fill one)."""
    if settings.lake_is_local and not holds_lake(Path(settings.lake_uri)):
        return DashboardData(period)
    lake = open_lake_to_read(settings.lake_uri)
    account = accounts.choose(lake, account)
    whole = Period(HISTORY_START, period.end).params()
    grain = {"playlist_sizes": {"every_days": period.snapshot_step}}
    mine = {"account": account}
    asked = [
        (name, {**period.params(), **extra, **grain.get(name, {}), **mine})
        for name, extra in QUERIES.items()
    ]
    asked += [(name, {**whole, **extra, **mine}) for name, extra in WHOLE_HISTORY.items()]
    asked += [(name, {**period.looking_back(), **extra, **mine}) for name, extra in AS_OF.items()]
    with ThreadPoolExecutor(max_workers=len(asked) + 1) as pool:
        runs = pool.submit(RunStore(AccountLake(lake, account)).recent, RUNS)
        futures = {name: pool.submit(_rows, settings, name, params) for name, params in asked}
        outcomes = {name: future.result() for name, future in futures.items()}
    data = DashboardData(period, runs=runs.result(), account=account)
    for name, rows in outcomes.items():
        if rows is None:
            data.pending.append(name)
        else:
            data.rows[name] = rows
    return data


def _rows(settings: Settings, name: str, params: Mapping[str, Any]) -> list[dict] | None:
    """Every row of the query as a dict (None if it is still running)."""
    result = service.run_named(settings, name, params, WAIT_SECONDS, page_size=1000)
    if "rows" not in result:
        return None
    names = [column["name"] for column in result["columns"]]
    rows = service.following_pages(settings, result, MAX_ROWS)
    return [dict(zip(names, row, strict=True)) for row in rows]
