"""The dashboard's HTML: one self-contained page (inline CSS and SVG, system fonts)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import quote

from chalicelib.dashboard import bars, charts
from chalicelib.dashboard.data import TOP, DashboardData, Period
from chalicelib.runs import RunRecord, Status

QUICK_PERIODS = (7, 30, 90, 365)
FLAGGED = (Status.PARTIAL, Status.FAILED)
CSS = """
:root { color-scheme: light; --ink: #1f2328; --muted: #5f6670; --line: #e6e8eb;
  --card: #fff; --bg: #f5f6f8; --accent: #1db954; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
header { background: #121417; color: #fff; padding: 24px 32px; display: flex;
  flex-wrap: wrap; gap: 16px 32px; align-items: flex-end; justify-content: space-between; }
header h1 { margin: 0; font-size: 26px; font-weight: 650; letter-spacing: -0.01em; }
header p { margin: 4px 0 0; color: #b7bcc3; }
form { display: flex; gap: 10px; align-items: flex-end; flex-wrap: wrap; }
label { display: flex; flex-direction: column; font-size: 12px; color: #b7bcc3; gap: 4px; }
input[type=date] { font: inherit; padding: 6px 8px; border-radius: 6px; border: 1px solid #3a3f45;
  background: #1c1f23; color: #fff; color-scheme: dark; }
button { font: inherit; font-weight: 600; padding: 7px 16px; border-radius: 6px; border: 0;
  background: var(--accent); color: #06250f; cursor: pointer; }
nav.quick { display: flex; gap: 6px; font-size: 13px; }
nav.quick a { color: #d6dade; text-decoration: none; padding: 6px 10px; border-radius: 6px;
  border: 1px solid #3a3f45; }
nav.quick a:hover { border-color: var(--accent); }
main { padding: 24px 32px 48px; display: grid; gap: 20px;
  grid-template-columns: repeat(auto-fit, minmax(min(520px, 100%), 1fr)); max-width: 1440px;
  margin: 0 auto; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px;
  padding: 18px 20px 12px; min-width: 0; }
.card.wide { grid-column: 1 / -1; }
.card h2 { margin: 0; font-size: 16px; font-weight: 650; }
.card .note { margin: 2px 0 10px; color: var(--muted); font-size: 13px; }
.chart svg { width: 100%; height: auto; display: block; }
.chart.narrow-only { display: none; }
ol.bars { list-style: none; margin: 4px 0 8px; padding: 0; display: grid; gap: 8px 12px;
  grid-template-columns: minmax(0, 2fr) minmax(0, 3fr) auto; align-items: center; }
ol.bars li { display: contents; }
.name { overflow-wrap: anywhere; font-size: 14px; line-height: 1.3; }
.bar { display: flex; height: 16px; background: #f0f2f4; border-radius: 4px;
  overflow: hidden; }
.bar i, .key i { display: block; height: 100%; background: var(--accent); }
.bar i.removed, .key i.removed { background: #eb5757; }
.value { font-size: 13px; color: var(--muted); white-space: nowrap;
  font-variant-numeric: tabular-nums; text-align: right; }
.key { font-size: 12px; color: var(--muted); display: flex; gap: 6px; align-items: center; }
.key i { width: 12px; height: 12px; border-radius: 3px; margin-left: 8px; }
.spark svg { width: 100%; height: auto; display: block; }
.scroll { overflow-x: auto; }
table.runs th, table.runs td { overflow-wrap: normal; white-space: nowrap; }
table.runs .when { white-space: normal; }
.status-partial { color: #9a6700; font-weight: 600; }
.status-failed { color: #cf222e; font-weight: 600; }
.kpis { grid-column: 1 / -1; display: grid; gap: 20px;
  grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); }
.kpi { background: var(--card); border: 1px solid var(--line); border-radius: 12px;
  padding: 14px 20px; }
.kpi b { display: block; font-size: 28px; font-weight: 700; letter-spacing: -0.02em;
  font-variant-numeric: tabular-nums; }
.kpi span { color: var(--muted); font-size: 13px; }
.message { grid-column: 1 / -1; background: var(--card); border: 1px solid var(--line);
  border-left: 4px solid var(--accent); border-radius: 12px; padding: 20px 24px; }
.message h2 { margin: 0 0 6px; font-size: 18px; }
code { background: #eef0f2; padding: 1px 6px; border-radius: 4px; font-size: 13.5px; }
table { width: 100%; border-collapse: collapse; font-size: 14px;
  font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 7px 8px; border-bottom: 1px solid var(--line);
  overflow-wrap: anywhere; }
th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase;
  letter-spacing: .04em; }
td.num, th.num { text-align: right; white-space: nowrap; }
td .artists { color: var(--muted); font-size: 13px; }
footer { text-align: center; color: var(--muted); font-size: 12px; padding: 0 16px 32px; }
@media (max-width: 640px) {
  header { padding: 18px 16px; }
  header h1 { font-size: 22px; }
  main { padding: 16px 12px 32px; gap: 14px; }
  .card { padding: 14px 14px 10px; }
  .kpis { gap: 12px; grid-template-columns: repeat(2, minmax(0, 1fr)); }
  .kpi { padding: 12px 14px; }
  .kpi b { font-size: 22px; }
  .chart.wide-only { display: none; }
  .chart.narrow-only { display: block; }
  th, td { padding: 6px 4px; }
  table.runs .overall, table.runs .optional { display: none; }
}
"""


def render(data: DashboardData, today: date, carried: Mapping[str, str] | None = None) -> str:
    """The whole dashboard page for the data's period; `carried` query parameters (a signed
    link's) go along in its own links and form."""
    period = data.period
    if data.empty:
        body = _empty(period) + (_runs_card(data.runs) if data.runs else "")
    else:
        body = _pending(data) + _kpis(data) + _cards(data)
    refresh = '<meta http-equiv="refresh" content="10">' if data.pending else ""
    summary = f"{period.days:,} days · plays, top artists and tracks, playlists · UTC"
    return _page(period, today, body, refresh, carried or {}, summary)


def refused(
    problem: str, period: Period, today: date, carried: Mapping[str, str] | None = None
) -> str:
    """The page for a period that cannot be shown: what is wrong, and the form to fix it,
    holding the dates asked for."""
    body = f"""<section class="message" id="refused">
<h2>That period cannot be shown</h2><p>{escape(problem)}. Pick other dates above.</p>
</section>"""
    return _page(period, today, body, "", carried or {}, "pick dates in order · UTC")


def link_refused(reason: str) -> str:
    """The page for a dashboard link that cannot be used, and how to get a new one."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>This dashboard link cannot be opened</title>
<style>{CSS}</style>
</head>
<body>
<main>
<section class="message" id="link-refused">
<h2>This dashboard link cannot be opened</h2>
<p>{escape(reason)}.</p>
<p>Links last a short while and only as they were made. Get a new one: run
<code>spotify-etl dashboard-link --stage STAGE</code> in the project's folder (with the AWS
credentials that deployed it), or call <code>POST /dashboard/links</code> with your API
key.</p>
</section>
</main>
</body>
</html>
"""


def _page(
    period: Period,
    today: date,
    body: str,
    refresh: str,
    carried: Mapping[str, str],
    summary: str,
) -> str:
    """The page around its body: the period's header (the form holding its dates, and the
    summary beneath its heading) and the footer."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{refresh}<title>Spotify listening, {_day(period.start)} – {_day(period.end)}</title>
<style>{CSS}</style>
</head>
<body>
{_header(period, today, carried, summary)}
<main>
{body}
</main>
<footer>Times in UTC · drawn from the lake's named queries · spotify-etl</footer>
</body>
</html>
"""


def _header(period: Period, today: date, carried: Mapping[str, str], summary: str) -> str:
    along = "".join(f"&amp;{quote(k)}={quote(v)}" for k, v in carried.items())
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in carried.items()
    )
    quick = "".join(
        f'<a href="?start_date={today - timedelta(days=days - 1)}&amp;end_date={today}{along}">'
        f"{days} days</a>"
        for days in QUICK_PERIODS
    )
    return f"""<header>
<div>
<h1>Listening from {_day(period.start)} to {_day(period.end)}</h1>
<p>{escape(summary)}</p>
</div>
<form method="get" action="">
<label>From <input type="date" name="start_date" value="{period.start}" required></label>
<label>To <input type="date" name="end_date" value="{period.end}" required></label>
{hidden}<button type="submit">Show</button>
<nav class="quick">{quick}</nav>
</form>
</header>"""


def _empty(period: Period) -> str:
    return f"""<section class="message" id="empty">
<h2>Nothing to show from {_day(period.start)} to {_day(period.end)}</h2>
<p>The lake has no plays or playlist snapshots in this period. Pick a wider period above, or
fill the lake: run <code>spotify-etl extract</code> on this machine, call
<code>POST /runs</code> on this API (in AWS the schedules do it), or try
<code>spotify-etl demo</code> for a few days of sample data.</p>
</section>"""


def _pending(data: DashboardData) -> str:
    if not data.pending:
        return ""
    names = ", ".join(f"<code>{escape(name)}</code>" for name in data.pending)
    return f"""<section class="message" id="pending">
<h2>Still running</h2><p>The engine is still working on {names}; this page reloads by itself
in a few seconds.</p></section>"""


def _kpis(data: DashboardData) -> str:
    plays = sum(row["plays"] for row in data.rows.get("listening_by_hour", []))
    tracks = data.rows.get("top_tracks", [])
    minutes = sum(row["minutes"] or 0 for row in tracks)
    capped = "+" if len(tracks) >= 1000 else ""
    changes = data.rows.get("playlist_changes", [])
    added = sum(row["added"] for row in changes)
    removed = sum(row["removed"] for row in changes)
    sizes = data.rows.get("playlist_sizes", [])
    playlists = len({row["playlist_id"] for row in sizes})
    figures = (
        (f"{plays:,}", "plays"),
        (f"{minutes / 60:,.1f} h", "listened"),
        (f"{len(tracks):,}{capped}", "different tracks"),
        (f"{playlists:,}", "playlists tracked"),
        (f"+{added:,} / −{removed:,}", "playlist entries added / removed"),
    )
    items = "".join(
        f'<div class="kpi"><b>{value}</b><span>{escape(label)}</span></div>'
        for value, label in figures
    )
    return f'<section class="kpis" id="kpis">{items}</section>'


def _cards(data: DashboardData) -> str:
    rows = data.rows
    artists = rows.get("top_artists", [])[:TOP]  # as the queries rank them
    tracks = rows.get("top_tracks", [])[:TOP]
    cards = [
        _history_card(rows.get("listening_time", []), rows.get("history_coverage", [])),
        _card(
            "heatmap",
            "When you listen",
            "plays by weekday and hour of day (UTC); bigger is more",
            charts.heatmap(rows["listening_by_hour"]) if rows.get("listening_by_hour") else "",
            wide=True,
        ),
        _card(
            "top-artists",
            f"Top {TOP} artists",
            "by plays in the period, then minutes listened; a play counts for its track's "
            "first credited artist",
            bars.ranking(_distinct_names(artists), [row["plays"] for row in artists], "plays")
            if artists
            else "",
        ),
        _card(
            "top-tracks",
            f"Top {TOP} tracks",
            "by plays in the period, then minutes listened",
            bars.ranking(
                [row["track_name"] or row["track_id"] for row in tracks],
                [row["plays"] for row in tracks],
                "plays",
            )
            if tracks
            else "",
        ),
        _card(
            "playlist-sizes",
            "Playlist sizes",
            f"the {charts.PLAYLISTS} largest playlists, {_grain(data.period)} (each line on "
            "its own scale), first → last",
            charts.playlist_sizes(rows["playlist_sizes"]) if rows.get("playlist_sizes") else "",
        ),
        _card(
            "playlist-churn",
            "Playlist churn",
            "entries added and removed between the first and last snapshot of the period",
            bars.churn(rows.get("playlist_changes", []), charts.PLAYLISTS),
        ),
        _card("track-table", f"Top {TOP} tracks in detail", "", _track_table(tracks), wide=True),
        _runs_card(data.runs),
    ]
    return "\n".join(cards)


def _history_card(months: list[dict[str, Any]], days: list[dict[str, Any]]) -> str:
    """The whole history, whatever the period: minutes per month, and the days each source
    covers (an imported export, the API's polls)."""
    if not months:
        return _card("history", "Your whole history", "", "")
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
    return _card("history", "Your whole history", note, charts.monthly(months), wide=True)


def _grain(period: Period) -> str:
    step = period.snapshot_step
    return "entries per daily snapshot" if step == 1 else f"entries every {step} days"


def _date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _distinct_names(artists: list[dict[str, Any]]) -> list[str]:
    """Each artist's name; two artists of one name are told apart by their IDs."""
    names = [row["artist_name"] or row["artist_id"] for row in artists]
    return [
        f"{name} ({row['artist_id'][:6]})" if names.count(name) > 1 else name
        for name, row in zip(names, artists, strict=True)
    ]


def _card(anchor: str, title: str, note: str, content: str, wide: bool = False) -> str:
    content = content or '<p class="note">No data in this period.</p>'
    css = "card wide" if wide else "card"
    return f"""<section class="{css}" id="{anchor}">
<h2>{escape(title)}</h2><p class="note">{escape(note)}</p>
{content}
</section>"""


def _track_table(tracks: list[dict[str, Any]]) -> str:
    return _table(
        "<th class=num>#</th><th>Track</th><th class=num>Plays</th><th class=num>Listened</th>",
        (
            f"<tr><td class=num>{row['rank']}</td>"
            f"<td>{escape(row['track_name'] or row['track_id'])}"
            f"<div class=artists>{escape(row['artist_names'] or '')}</div></td>"
            f"<td class=num>{row['plays']:,} plays</td>"
            f"<td class=num>{row['minutes'] or 0:,.1f} min</td></tr>"
            for row in tracks
        ),
    )


def _runs_card(runs: list[RunRecord]) -> str:
    table = _table(
        "<th class=when>Started (UTC)</th><th>Kind</th><th class=overall>Status</th>"
        "<th>Extract</th><th>Transform</th><th class='num optional'>Requests</th>",
        (
            f"<tr><td class=when>{escape(_when(run.started_at or run.queued_at))}"
            f"</td><td>{escape(run.kind or '')}</td>"
            f"{_status(run.status, run.errors, 'overall')}"
            f"{_status(run.extract)}{_status(run.transform_status)}"
            f"<td class='num optional'>{(run.counts or {}).get('requests', '')}</td></tr>"
            for run in runs
        ),
        ' class="runs"',
    )
    return _card(
        "runs",
        "Recent runs",
        "each run's extract and transform; what a partial run missed, the next run fetches",
        f'<div class="scroll">{table}</div>' if table else "",
        wide=True,
    )


def _table(head: str, rows: Iterable[str], attributes: str = "") -> str:
    """A table of these header cells and rows; nothing when there are no rows."""
    body = "".join(rows)
    if not body:
        return ""
    return f"<table{attributes}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _status(status: str | None, errors: list[str] | None = None, column: str = "") -> str:
    """A status cell, partial and failed marked; a run's errors in its tooltip."""
    classes = " ".join(filter(None, (column, f"status-{status}" if status in FLAGGED else "")))
    css = f' class="{classes}"' if classes else ""
    why = f' title="{escape("; ".join(errors))}"' if errors else ""
    return f"<td{css}{why}>{escape(status or '–')}</td>"


def _when(stamp: str | None) -> str:
    """2026-12-02T03:15:09Z as 2 Dec 03:15."""
    if not stamp:
        return ""
    moment = datetime.fromisoformat(stamp)
    return f"{moment.day} {moment:%b %H:%M}"


def _day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"
