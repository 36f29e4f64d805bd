"""One row per play, whether the API saw it, an export did, or both.

Rows are plays-table rows as dicts (times in epoch milliseconds). The API's rows have
`source` "api", an export's "export" (`played_at` and `ended_at` both its `ts`), and a
play both saw "api+export": the API's `played_at` and context, with the export's fields
added, `ended_at` among them, so the entry is known again when an export is imported again.

When is an API play the export entry's playback? The export's `ts` is when playback
ended. The API's `played_at` is documented only as "the date and time the track was
played", and has been observed at the end of playback and, on some clients and days, at
its start, shifted further by a pause before a skip (spotify/web-api issues #613 and
#1083; multi-scrobbler #709 met the same gap of about a track's length). So an API play
is an entry's when it is of the same track and its `played_at` falls within the entry's
playback, from `ts - ms_played` to `ts`, widened by SLACK_MS either side for the clocks
of the client and of Spotify's servers. A fixed tolerance of seconds would double every
play whose `played_at` is its start; one of minutes would merge a short track played twice
in a row. Within one track, entries and plays are paired in time order, each with at most
one other, so a track played twice back to back stays two plays even where the windows
touch.

`combine` is idempotent and does not depend on the order rows arrive in: combining its
own result changes nothing, and export-then-API equals API-then-export.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

API = "api"
EXPORT = "export"
BOTH = "api+export"
SLACK_MS = 15_000
# The columns only the API gives (kept from its row) and those an export adds.
API_COLUMNS = ("played_at", "context_type", "context_uri")

Row = dict[str, Any]


def combine(rows: Iterable[Row]) -> list[Row]:
    """The plays the rows describe, one row each, sorted by played_at then item."""
    api, export, both = _deduplicated(rows)
    merged_entries = {_entry(row) for row in both}
    export = [entry for entry in export if _entry(entry) not in merged_entries]
    api = [play for play in api if play["played_at"] not in {row["played_at"] for row in both}]
    merged, api_left, export_left = _paired(api, export)
    return sorted([*both, *merged, *api_left, *export_left], key=_order)


def item_of(row: Row) -> tuple[str, str | None]:
    """What was played: a track or an episode, by ID."""
    if row.get("episode_id"):
        return ("episode", row["episode_id"])
    return ("track", row.get("track_id"))


def window(entry: Row) -> tuple[int, int]:
    """The moments an API play of this export entry's playback may carry."""
    ended = entry["ended_at"]
    return ended - (entry.get("ms_played") or 0) - SLACK_MS, ended + SLACK_MS


def _entry(row: Row) -> tuple:
    """What identifies an export entry: its end, its item and how long it played."""
    return (row["ended_at"], item_of(row), row.get("ms_played"))


def _deduplicated(rows: Iterable[Row]) -> tuple[list[Row], list[Row], list[Row]]:
    """The API plays (one per played_at, as polls overlap), the export entries (one per
    end time, item and length, as exports overlap) and the plays already merged."""
    api: dict[int, Row] = {}
    export: dict[tuple, Row] = {}
    both: dict[tuple, Row] = {}
    for row in rows:
        if row["source"] == API:
            kept = api.get(row["played_at"])
            api[row["played_at"]] = row if kept is None else min(kept, row, key=_api_order)
        elif row["source"] == EXPORT:
            export.setdefault(_entry(row), row)
        else:
            both.setdefault((row["played_at"], item_of(row)), row)
    return list(api.values()), list(export.values()), list(both.values())


def _paired(api: list[Row], export: list[Row]) -> tuple[list[Row], list[Row], list[Row]]:
    """Each entry with the earliest unpaired API play of its item within its window."""
    plays: dict[tuple, list[Row]] = defaultdict(list)
    for play in sorted(api, key=_order):
        plays[item_of(play)].append(play)
    merged: list[Row] = []
    unpaired: list[Row] = []
    taken: set[int] = set()
    for entry in sorted(export, key=_order):
        low, high = window(entry)
        candidates = (
            play
            for play in plays.get(item_of(entry), [])
            if id(play) not in taken and low <= play["played_at"] <= high
        )
        paired = next(candidates, None)
        if paired is None:
            unpaired.append(entry)
            continue
        taken.add(id(paired))
        merged.append({**entry, **{name: paired.get(name) for name in API_COLUMNS}, "source": BOTH})
    return merged, [play for play in api if id(play) not in taken], unpaired


def _api_order(row: Row) -> tuple:
    """Of two API rows sharing a played_at, the one kept: as the plays merge always did."""
    return tuple((row.get(c) is None, row.get(c) or "") for c in ("track_id", *API_COLUMNS[1:]))


def _order(row: Row) -> tuple:
    """A total order over rows whose values may be None (None sorts last)."""
    kind, item = item_of(row)
    return (row["played_at"], kind, item or "", row.get("ms_played") or 0, row["source"])
