"""The dashboard's ranked lists as HTML bars (`templates/cards.html` draws them): a name wraps
instead of being cut off, whatever its script or length, and a row fits a phone as well as a
wide card."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Bar:
    """One row: the name, the bar's parts (a CSS class and a width, in % of the longest bar)
    and the value as shown."""

    name: str
    parts: tuple[tuple[str, float], ...]
    value: str


def ranking(labels: Sequence[str], values: Sequence[float], unit: str) -> list[Bar]:
    """One row per label, top first: the name, a bar as long as its share of the largest
    value, and the value in the unit."""
    top = max(values, default=0) or 1
    return [
        Bar(label, (("", 100 * value / top),), f"{value:,.0f} {unit}")
        for label, value in zip(labels, values, strict=True)
    ]


def churn(rows: list[dict[str, Any]], limit: int) -> list[Bar]:
    """Entries added and removed per playlist, the busiest first: one bar per playlist, its
    added part green and its removed part red."""
    changed = [row for row in rows if row["added"] or row["removed"]]
    busiest = sorted(
        changed,
        key=lambda row: (-(row["added"] + row["removed"]), row["playlist_name"] or ""),
    )[:limit]
    top = max((row["added"] + row["removed"] for row in busiest), default=0) or 1
    return [
        Bar(
            row["playlist_name"] or row["playlist_id"],
            (("added", 100 * row["added"] / top), ("removed", 100 * row["removed"] / top)),
            f"+{row['added']:,} / −{row['removed']:,}",
        )
        for row in busiest
    ]
