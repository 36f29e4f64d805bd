"""The dashboard's ranked lists as HTML bars: a name wraps instead of being cut off, whatever
its script or length, and a row fits a phone as well as a wide card."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any


def ranking(labels: Sequence[str], values: Sequence[float], unit: str) -> str:
    """One row per label, top first: the name, a bar as long as its share of the largest
    value, and the value in the unit."""
    top = max(values, default=0) or 1
    rows = "".join(
        f'<li><span class="name">{escape(label)}</span>'
        f'<span class="bar"><i style="width:{100 * value / top:.1f}%"></i></span>'
        f'<span class="value">{value:,.0f} {escape(unit)}</span></li>'
        for label, value in zip(labels, values, strict=True)
    )
    return f'<ol class="bars">{rows}</ol>'


def churn(rows: list[dict[str, Any]], limit: int) -> str:
    """Entries added and removed per playlist, the busiest first: one bar per playlist, its
    added part green and its removed part red."""
    changed = [row for row in rows if row["added"] or row["removed"]]
    busiest = sorted(
        changed,
        key=lambda row: (-(row["added"] + row["removed"]), row["playlist_name"] or ""),
    )[:limit]
    top = max((row["added"] + row["removed"] for row in busiest), default=0) or 1
    items = "".join(
        f'<li><span class="name">{escape(row["playlist_name"] or row["playlist_id"])}</span>'
        f'<span class="bar"><i class="added" style="width:{100 * row["added"] / top:.1f}%"></i>'
        f'<i class="removed" style="width:{100 * row["removed"] / top:.1f}%"></i></span>'
        f'<span class="value">+{row["added"]:,} / −{row["removed"]:,}</span></li>'
        for row in busiest
    )
    if not busiest:
        return '<p class="note">No entries added or removed in this period.</p>' if rows else ""
    return (
        f'<ol class="bars">{items}</ol><p class="key"><i class="added"></i>added '
        '<i class="removed"></i>removed</p>'
    )
