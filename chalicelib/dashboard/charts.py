"""The dashboard's charts, drawn by pygal as inline SVG (no script, no web font)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pygal
from pygal.style import Style

FONTS = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
GREEN = "#1db954"
PALETTE = (
    "#1db954",
    "#2f80ed",
    "#f2994a",
    "#9b51e0",
    "#eb5757",
    "#00a3a3",
    "#f2c94c",
    "#6d4c41",
    "#e84393",
    "#607d8b",
)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
LABEL_CHARS = 28
LINES = 8


def _style(colors: tuple[str, ...] = PALETTE) -> Style:
    return Style(
        background="transparent",
        plot_background="transparent",
        foreground="#4a4f55",
        foreground_strong="#1f2328",
        foreground_subtle="#e6e8eb",
        font_family=FONTS,
        label_font_size=12,
        major_label_font_size=12,
        value_font_size=11,
        value_label_font_size=11,
        legend_font_size=12,
        title_font_size=14,
        tooltip_font_size=12,
        opacity=".9",
        opacity_hover="1",
        colors=colors,
        value_colors=("#ffffff",),
    )


def _options(**extra: Any) -> dict[str, Any]:
    """What every chart shares: offline (no pygal.js), sized for a half-width card."""
    return {
        "js": [],
        "disable_xml_declaration": True,
        "width": 640,
        "height": 360,
        "margin": 8,
        "style": _style(),
        "truncate_label": LABEL_CHARS,
        "truncate_legend": LABEL_CHARS,
        **extra,
    }


def _render(chart: pygal.graph.graph.Graph) -> str:
    return chart.render(is_unicode=True)


def heatmap(rows: list[dict[str, Any]]) -> str:
    """Plays by weekday (rows) and UTC hour (columns), as a punch card: bigger is more."""
    counts = {(row["weekday"], row["hour"]): row["plays"] for row in rows}
    chart = pygal.Dot(
        **_options(
            width=1200,
            height=340,
            style=_style((GREEN,) * len(WEEKDAYS)),
            show_legend=False,
            x_labels=[f"{hour:02d}" for hour in range(24)],
            x_title="hour of day (UTC)",
            value_formatter=lambda plays: f"{plays:.0f} plays",
        )
    )
    for day, name in enumerate(WEEKDAYS, start=1):
        chart.add(name, [counts.get((day, hour)) or None for hour in range(24)])
    return _render(chart)


def ranking(labels: list[str], values: list[float], unit: str) -> str:
    """A horizontal bar per label, the first on top, on an axis in the unit."""
    chart = pygal.HorizontalBar(
        **_options(
            show_legend=False,
            value_formatter=lambda value: f"{value:,.0f} {unit}",
            x_labels=list(reversed(labels)),
            show_x_guides=False,
            show_y_guides=True,
        )
    )
    chart.add(unit, list(reversed(values)))
    return _render(chart)


def playlist_sizes(rows: list[dict[str, Any]]) -> str:
    """Entries per playlist over the snapshot dates, for the largest playlists."""
    sizes: dict[str, dict[str, int]] = defaultdict(dict)
    names: dict[str, str] = {}
    for row in rows:
        size = row["item_count"] if row["item_count"] is not None else row["stored_items"]
        sizes[row["playlist_id"]][row["snapshot_date"]] = size
        names[row["playlist_id"]] = row["playlist_name"] or row["playlist_id"]
    dates = sorted({row["snapshot_date"] for row in rows})
    largest = sorted(sizes, key=lambda p: (-sizes[p][max(sizes[p])], names[p]))[:LINES]
    chart = pygal.Line(
        **_options(
            x_labels=[_short_day(day) for day in dates],
            x_labels_major_count=8,
            show_minor_x_labels=False,
            x_label_rotation=0,
            legend_at_bottom=True,
            legend_at_bottom_columns=2,
            height=420,
            dots_size=3,
            value_formatter=lambda value: f"{value:,.0f}",
            y_title="entries",
        )
    )
    for playlist in largest:
        chart.add(names[playlist], [sizes[playlist].get(day) for day in dates])
    return _render(chart)


def churn(rows: list[dict[str, Any]]) -> str:
    """Entries added and removed per playlist over the period, the busiest first."""
    changed = [row for row in rows if row["added"] or row["removed"]]
    busiest = sorted(changed, key=lambda row: -(row["added"] + row["removed"]))[:LINES]
    chart = pygal.Bar(
        **_options(
            style=_style((GREEN, "#eb5757")),
            x_labels=[row["playlist_name"] or row["playlist_id"] for row in busiest],
            x_label_rotation=20,
            truncate_label=18,
            legend_at_bottom=True,
            print_values=True,
            value_formatter=lambda value: f"{value:,.0f}",
            y_title="entries",
            height=420,
        )
    )
    chart.add("added", [row["added"] for row in busiest])
    chart.add("removed", [row["removed"] for row in busiest])
    return _render(chart)


def _short_day(iso_day: str) -> str:
    """2026-11-19 as 19 Nov."""
    from datetime import date

    day = date.fromisoformat(iso_day)
    return f"{day.day} {day:%b}"
