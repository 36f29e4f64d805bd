"""The dashboard's charts, drawn by pygal as inline SVG (no script, no web font).

Each chart with text is drawn twice, for a wide card and for a phone, and the page's CSS shows
the one that fits: an SVG scales as a picture, so a desktop-sized chart on a 390 px screen
would have unreadable 6 px text. Charts carry no free text that could be cut off: names are in
the HTML beside them (the playlists' rows) or in HTML charts (`bars`).

pygal builds each SVG as an element tree, whose serialiser escapes every name in it: the
templates take the SVG as markup (`Markup`), the one piece of the page they do not escape.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

import pygal
from markupsafe import Markup
from pygal.etree import etree
from pygal.style import Style

FONTS = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
GREEN = "#1db954"
PALE_GREEN = "#9ad8b0"  # estimated minutes, beside the measured ones
PLAYLISTS = 8  # the largest, one row each
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _style(colors: tuple[str, ...]) -> Style:
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
        title_font_size=14,
        tooltip_font_size=12,
        opacity=".9",
        opacity_hover="1",
        colors=colors,
        value_colors=("#ffffff",),
    )


def _options(**extra: Any) -> dict[str, Any]:
    """What every chart shares: offline (no pygal.js), no legend (it is HTML where there is
    one), labels whole (they are short by construction)."""
    return {
        "js": [],
        "disable_xml_declaration": True,
        "show_legend": False,
        "margin": 8,
        "truncate_label": -1,
        **extra,
    }


@dataclass(frozen=True)
class Both:
    """A chart drawn for a wide card and for a phone."""

    wide: Markup
    narrow: Markup


@dataclass(frozen=True)
class SizeRow:
    """One playlist's row: its name, its sizes as a line, and its first and last size."""

    name: str
    line: Markup
    sizes: str


def _render(chart: pygal.graph.graph.Graph, title: str) -> Markup:
    """The chart's SVG with its own title, which a browser shows on hover and a screen reader
    reads (pygal's `title` option would also draw it, so its placeholder takes the text), and
    without pygal's config script, which only its JavaScript tooltips (off here) read."""
    svg = chart.render_tree()
    svg.find("title").text = title
    defs = svg.find("defs")
    for script in defs.findall("script"):
        defs.remove(script)
    return Markup(etree.tostring(svg, encoding="unicode"))


def heatmap(rows: list[dict[str, Any]]) -> Both:
    """Plays by weekday and UTC hour as a punch card (bigger is more): hours across on a wide
    card, down on a phone."""
    counts = {(row["weekday"], row["hour"]): row["plays"] for row in rows}
    hours = [f"{hour:02d}" for hour in range(24)]
    plays = {"value_formatter": lambda plays: f"{plays:.0f} plays"}
    wide = pygal.Dot(
        **_options(
            width=1200,
            height=340,
            style=_style((GREEN,) * len(WEEKDAYS)),
            x_labels=hours,
            x_title="hour of day (UTC)",
            **plays,
        )
    )
    for day, name in enumerate(WEEKDAYS, start=1):
        wide.add(name, [counts.get((day, hour)) or None for hour in range(24)])
    narrow = pygal.Dot(
        **_options(
            width=360,
            height=720,
            style=_style((GREEN,) * 24),
            x_labels=list(WEEKDAYS),
            y_title="hour of day (UTC)",
            **plays,
        )
    )
    for hour, name in enumerate(hours):
        narrow.add(name, [counts.get((day, hour)) or None for day in range(1, 8)])
    title = "Plays by weekday and hour of day (UTC)"
    return Both(_render(wide, title), _render(narrow, title))


def playlist_sizes(rows: list[dict[str, Any]]) -> list[SizeRow]:
    """The largest playlists, one row each: the name, the size at each snapshot date on the
    playlist's own scale (so a change of a few entries shows, whatever the size), and the first
    and last size."""
    sizes: dict[str, dict[str, int]] = defaultdict(dict)
    names: dict[str, str] = {}
    for row in rows:
        size = row["item_count"] if row["item_count"] is not None else row["stored_items"]
        sizes[row["playlist_id"]][row["snapshot_date"]] = size
        names[row["playlist_id"]] = row["playlist_name"] or row["playlist_id"]
    dates = sorted({row["snapshot_date"] for row in rows})
    largest = sorted(sizes, key=lambda p: (-sizes[p][max(sizes[p])], names[p], p))[:PLAYLISTS]
    return [_size_row(names[playlist], sizes[playlist], dates) for playlist in largest]


def _size_row(name: str, sizes: dict[str, int], dates: list[str]) -> SizeRow:
    """One playlist's row: its name, its sizes over the dates (a gap where it was not seen),
    and its size at its first and last snapshot."""
    first, last = min(sizes), max(sizes)
    chart = pygal.Line(
        **_options(
            width=240,
            height=36,
            margin=3,
            spacing=0,
            style=_style((GREEN,)),
            show_x_labels=False,
            show_y_labels=False,
            show_y_guides=False,
            dots_size=2,
        )
    )
    chart.add(name, [sizes.get(day) for day in dates], stroke_style={"width": 2})
    grown = sizes[last] - sizes[first]
    change = f" ({grown:+,})".replace("-", "−") if grown else ""
    title = (
        f"{name}: {sizes[first]:,} entries on {_day(first)}, "
        f"{sizes[last]:,} on {_day(last)}"
    )
    return SizeRow(name, _render(chart, title), f"{sizes[first]:,} → {sizes[last]:,}{change}")


def monthly(rows: list[dict[str, Any]]) -> Both:
    """Minutes listened per month over the whole history, measured (an export's ms_played)
    and estimated (the track's length, where only the API saw a play) stacked, every month
    from the first to the last shown, empty ones too."""
    minutes = {row["period"]: row for row in rows}
    months = _months(min(minutes), max(minutes))
    title = (
        f"Minutes listened per month from {_short_month(months[0])} to "
        f"{_short_month(months[-1])}, measured and estimated"
    )

    def draw(width: int, height: int, labels: int) -> Markup:
        chart = pygal.StackedBar(
            **_options(
                width=width,
                height=height,
                style=_style((GREEN, PALE_GREEN)),
                margin_right=28,  # room for the last month's label
                x_labels=[_short_month(month) for month in months],
                x_labels_major_count=labels,
                show_minor_x_labels=len(months) <= labels,
                value_formatter=lambda value: f"{value:,.0f} min",
                y_title="minutes",
            )
        )
        for column in ("measured_minutes", "estimated_minutes"):
            chart.add(column, [(minutes.get(month) or {}).get(column) for month in months])
        return _render(chart, title)

    return Both(draw(1200, 340, 16), draw(360, 300, 4))


def discovery(rows: list[dict[str, Any]]) -> Both:
    """The artists streamed for the first time each month over the whole history, every month
    from the first to the last shown, those without one too."""
    found = {row["month"]: row["new_artists"] for row in rows}
    months = _months(min(found), max(found))
    title = (
        f"Artists streamed for the first time per month from {_short_month(months[0])} to "
        f"{_short_month(months[-1])}"
    )

    def draw(width: int, height: int, labels: int) -> Markup:
        chart = pygal.Bar(
            **_options(
                width=width,
                height=height,
                style=_style((GREEN,)),
                margin_right=28,  # room for the last month's label
                x_labels=[_short_month(month) for month in months],
                x_labels_major_count=labels,
                show_minor_x_labels=len(months) <= labels,
                value_formatter=lambda value: f"{value:,.0f}",
                y_title="new artists",
            )
        )
        chart.add("new_artists", [found.get(month) or None for month in months])
        return _render(chart, title)

    return Both(draw(1200, 300, 16), draw(360, 280, 4))


def _months(first: str, last: str) -> list[str]:
    """Every YYYY-MM from first to last."""
    year, month = map(int, first.split("-"))
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _short_month(month: str) -> str:
    """2026-11 as Nov 2026."""
    return f"{date.fromisoformat(month + '-01'):%b %Y}"


def _day(iso_day: str) -> str:
    """2026-11-19 as 19 Nov 2026."""
    day = date.fromisoformat(iso_day)
    return f"{day.day} {day:%b %Y}"
