"""An account's plays in figures, kept as the transform writes them: per month, how many
plays and the first and last `played_at`, in `state/plays-summary.json`
(`{"months": {"2026-11": {"plays", "first", "last"}}}`), so that `spotify-etl accounts` and
`GET /accounts` read one small object per account, not the history.

Each transform that writes a month of plays sets that month's figures from the month as it
wrote it, over what the document held (merged with a writer who saved since: the months it
wrote are its own). Two transforms writing one month at once write it in turn (the month
object's commit is conditional); should the earlier one save its figures last, the month's
stay one run behind until a transform writes that month again (the next plays poll, for
the current month).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import orjson

from chalicelib.errors import NotFoundError
from chalicelib.lake import Lake, put_merging

if TYPE_CHECKING:
    import pyarrow as pa

SUMMARY = "state/plays-summary.json"


def month_figures(days: Iterable[pa.Table]) -> dict[str, Any] | None:
    """The plays, first and last play (ISO, UTC) of a month's rows by day; None if none."""
    import pyarrow as pa  # the transform's alone: GET /accounts reads `totals` without it
    import pyarrow.compute as pc

    tables = [table for table in days if table.num_rows]
    if not tables:
        return None
    played = pa.chunked_array([table.column("played_at") for table in tables])
    bounds = pc.min_max(played).as_py()
    return {
        "plays": sum(table.num_rows for table in tables),
        "first": _iso(bounds["min"]),
        "last": _iso(bounds["max"]),
    }


def save(lake: Lake, figures: dict[str, dict[str, Any] | None]) -> None:
    """Set the figures of the months written (None: the month holds no plays now)."""
    if not figures:
        return
    try:
        data, version = lake.get_versioned(SUMMARY)
        months: dict[str, Any] = orjson.loads(data)["months"]
    except NotFoundError:
        months, version = {}, None

    def apply(held: dict[str, Any]) -> None:
        for month, value in figures.items():
            if value is None:
                held.pop(month, None)
            else:
                held[month] = value

    def merge(theirs: bytes | None) -> None:
        months.clear()
        months.update(orjson.loads(theirs)["months"] if theirs else {})
        apply(months)

    before = dict(months)
    apply(months)
    if months == before and version is not None:
        return
    document = lambda: orjson.dumps({"months": dict(sorted(months.items()))})  # noqa: E731
    put_merging(lake, SUMMARY, version, document, merge)


def recount(lake: Lake) -> None:
    """The summary made anew from every month of the account's plays (after a migration,
    which moved months the transform did not write)."""
    from chalicelib.schema import TABLES
    from chalicelib.transform.write import from_parquet, split_days

    table = TABLES["plays"]
    figures: dict[str, dict[str, Any] | None] = {}
    for key in lake.list(f"{table.prefix()}{table.partition}="):
        month = key.split("=", 1)[1].split("/", 1)[0]
        figures[month] = month_figures(split_days("plays", from_parquet(lake.get(key))).values())
    save(lake, figures)


def totals(lake: Lake) -> dict[str, Any]:
    """An account's plays, first and last play over every month (zero and None for none)."""
    try:
        months = orjson.loads(lake.get(SUMMARY))["months"]
    except NotFoundError:
        months = {}
    held = list(months.values())
    return {
        "plays": sum(month["plays"] for month in held),
        "first_play": min((month["first"] for month in held), default=None),
        "last_play": max((month["last"] for month in held), default=None),
    }


def _iso(moment: Any) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
