"""The dashboard's page through chalice.test.Client: what it ranks and says, from a lake
with known plays (the query fixtures' history)."""

import re
from datetime import date
from html import unescape

import pytest
from chalice_stage import stage_client

from chalicelib.dashboard import page
from chalicelib.dashboard.data import TOP, DashboardData, Period, load
from chalicelib.lake import LocalLake
from chalicelib.query.duckdb_engine import DuckDBEngine
from chalicelib.query.service import run_query
from chalicelib.runs import RunRecord
from chalicelib.settings import Settings
from tests.query.histories import History

DAY = Period.of(None, None, date(2026, 1, 2))


@pytest.fixture
def client(tmp_path, env):
    from app import app

    with stage_client(app, tmp_path / "project", env) as running:
        yield running


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("start_date=2026-03-02&end_date=2026-03-01", "2026-03-02 is after end_date 2026-03-01"),
        ("start_date=2026-02-30", "which is not a date"),
        ("end_date=yesterday", "expected a date as YYYY-MM-DD"),
        ("start_date=", "start_date is"),
    ],
)
def test_a_period_that_cannot_be_shown_gets_the_page_saying_why_not_json(client, query, said):
    response = client.http.get(f"/dashboard?{query}")
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/html")
    text = response.body.decode()
    assert 'id="refused"' in text and said in text and "<form" in text


def test_a_period_that_cannot_be_shown_keeps_the_dates_entered_in_the_form(client):
    text = client.http.get("/dashboard?start_date=2026-03-02&end_date=2026-03-01").body.decode()
    assert 'name="start_date" value="2026-03-02"' in text
    assert 'name="end_date" value="2026-03-01"' in text
    assert "Listening from 2 Mar 2026 to 1 Mar 2026" in text and " days ·" not in text


def test_any_period_is_shown_a_long_one_drawing_playlist_sizes_at_a_coarser_grain():
    decade = Period.of(date(2016, 1, 1), date(2026, 1, 1), date(2026, 1, 2))
    assert (decade.days, decade.snapshot_step) == (3654, 40)
    assert DAY.snapshot_step == 1
    sizes = [
        {"snapshot_date": f"2016-01-{day:02d}", "playlist_id": "p1", "playlist_name": "Road",
         "item_count": 10 + day, "stored_items": 10 + day, "unavailable_items": 0}
        for day in (1, 11)
    ]  # fmt: skip
    html = page.render(DashboardData(decade, rows={"playlist_sizes": sizes}), decade.end)
    assert "the 8 largest playlists, entries every 40 days" in between(
        html, "playlist-sizes", "playlist-churn"
    )
    daily = page.render(DashboardData(DAY, rows={"playlist_sizes": sizes}), DAY.end)
    assert "entries per daily snapshot" in daily


def between(html, anchor, following):
    """The HTML of one card, up to the next one."""
    return html[html.index(f'id="{anchor}"') : html.index(f'id="{following}"')]


def names(card):
    return [unescape(name) for name in re.findall(r'<span class="name">([^<]*)</span>', card)]


def artist(artist_id, name, plays, minutes):
    return {"artist_id": artist_id, "artist_name": name, "plays": plays, "minutes": minutes}


def test_top_artists_keep_the_order_top_artists_ranks_them_in_and_same_names_are_told_apart():
    rows = [artist("twinY2", "Twin", 40, 10.0), artist("longA1", "Long", 35, 90.0)]
    rows += [artist("twinX1", "Twin", 30, 50.0), artist(None, "Twin", 25, 5.0)]
    rows += [artist(f"a{n:02d}zzzz", f"Artist {n}", 20 - n, 1.0 + n) for n in range(12)]
    data = DashboardData(DAY, rows={"top_artists": rows})
    card = between(page.render(data, DAY.end), "top-artists", "top-tracks")
    assert names(card) == ["Twin (twinY2)", "Long", "Twin (twinX1)", "Twin"] + [
        f"Artist {n}" for n in range(6)
    ]
    assert "by plays in the period, then minutes listened" in card
    assert re.findall(r'<span class="value">([^<]*)</span>', card)[:2] == ["40 plays", "35 plays"]


@pytest.mark.integration  # the demo's lake, a week of runs and a year of history
def test_the_pages_top_artists_are_the_top_artists_query_in_its_order(demo_lake, demo_listeners):
    settings = Settings.from_env({"LAKE_URI": str(demo_lake), "QUERY_ENGINE": "duckdb"})
    period = Period.of(None, None, date.today())
    account = demo_listeners[1]
    html = page.render(load(settings, period, account), period.end)
    card = between(html, "top-artists", "top-tracks")
    engine = DuckDBEngine(LocalLake(demo_lake))
    params = {**period.params(), "limit": TOP, "account": account}
    ranked = run_query(engine, "top_artists", params)["rows"]
    assert names(card) == [artist_name for _, _, artist_name, _, _ in ranked]


def test_hours_listened_are_the_top_tracks_minutes():
    track = {"rank": 1, "track_id": "t1", "track_name": "Song", "artist_names": "A"}
    data = DashboardData(DAY, rows={"top_tracks": [{**track, "minutes": 90.0, "plays": 3}]})
    assert "<b>1.5 h</b><span>listened</span>" in page.render(data, DAY.end)


def month(period, measured, estimated):
    plays = int((measured or 0) + (estimated or 0)) // 3
    return {"period": period, "plays": plays, "minutes": (measured or 0) + (estimated or 0),
            "measured_minutes": measured, "estimated_minutes": estimated}  # fmt: skip


def coverage(day, api=0, export=0, both=0):
    return {"played_date": day, "api_only": api, "export_only": export, "both_sources": both}


def test_the_whole_history_shows_every_month_and_the_days_each_source_saw():
    months = [month("2024-11", 300.0, None), month("2025-02", 30.0, 60.0)]
    days = [coverage("2024-11-03", export=5), coverage("2025-02-01", both=1, api=2)]
    data = DashboardData(DAY, rows={"listening_time": months, "history_coverage": days})
    card = between(page.render(data, DAY.end), "history", "heatmap")
    text = unescape(card)
    assert "seen by an export from 3 Nov 2024 to 1 Feb 2025 and by the API from 1 Feb 2025" in text
    wide = card[: card.index('class="chart narrow-only"')]
    labels = list(dict.fromkeys(re.findall(r">(\w{3} \d{4})<", wide)))
    assert labels == ["Nov 2024", "Dec 2024", "Jan 2025", "Feb 2025"]  # empty months too
    assert "import your privacy export" not in text


def test_a_history_of_the_api_alone_says_to_import_the_export():
    data = DashboardData(
        DAY,
        rows={
            "listening_time": [month("2026-01", None, 42.0)],
            "history_coverage": [coverage("2026-01-01", api=9)],
        },
    )
    text = unescape(between(page.render(data, DAY.end), "history", "heatmap"))
    assert "by the API from 1 Jan 2026 to 1 Jan 2026" in text
    assert "import your privacy export (spotify-etl import)" in text


def sizes(playlist_id, name, counts):
    return [
        {"playlist_id": playlist_id, "playlist_name": name, "snapshot_date": f"2026-01-0{day}",
         "item_count": count, "stored_items": count, "unavailable_items": 0}
        for day, count in enumerate(counts, start=1)
    ]  # fmt: skip


def test_each_playlist_has_a_row_of_its_own_whose_line_spans_its_own_change():
    """Three playlists of one size stay three rows, and a change of a few entries in a
    playlist of forty fills its line's height instead of a hairline on an axis from zero."""
    rows = sizes("p1", "Same A", [42, 42, 42]) + sizes("p2", "Same B", [42, 42, 42])
    rows += sizes("p3", "Grown", [38, 40, 43]) + sizes("p4", "Shrunk", [41, 41, 40])
    html = page.render(DashboardData(DAY, rows={"playlist_sizes": rows}), DAY.end)
    card = between(html, "playlist-sizes", "playlist-churn")
    assert names(card) == ["Grown", "Same A", "Same B", "Shrunk"]  # the largest first
    values = re.findall(r'<span class="value">([^<]*)</span>', card)
    assert values == ["38 → 43 (+5)", "42 → 42", "42 → 42", "41 → 40 (−1)"]
    assert chart_titles(card)[0] == "Grown: 38 entries on 1 Jan 2026, 43 on 3 Jan 2026"
    heights = [
        float(re.search(r'viewBox="0 0 [\d.]+ ([\d.]+)"', svg)[1])
        for svg in card.split("<svg ")[1:]
    ]
    spans = [max(ys) - min(ys) for ys in line_ys(card)]
    assert spans[0] > heights[0] / 2 and spans[3] > heights[3] / 2
    assert spans[1] == spans[2] == 0


def line_ys(html):
    """The y of each point of each SVG line, one list per chart."""
    paths = re.findall(r'<path d="M([^"]*)" class="line', html)
    return [[float(y) for y in re.findall(r"[\d.]+", path)[1::2]] for path in paths]


def chart_titles(html):
    """The title of each SVG chart, in the page's order."""
    return [re.search(r"<title>([^<]*)</title>", svg)[1] for svg in html.split("<svg xmlns=")[1:]]


def test_every_chart_has_a_title_of_its_own_for_hover_and_screen_readers():
    rows = {
        "listening_time": [month("2025-11", 300.0, None), month("2026-01", 30.0, 60.0)],
        "history_coverage": [coverage("2026-01-01", api=9)],
        "listening_by_hour": [{"weekday": 4, "hour": 10, "plays": 3}],
        "playlist_sizes": sizes("p1", "Road", [40, 41]) + sizes("p2", "Blues", [7, 7]),
    }
    html = page.render(DashboardData(DAY, rows=rows), DAY.end)
    titles = {
        card: chart_titles(between(html, card, following))
        for card, following in (
            ("history", "heatmap"),
            ("heatmap", "top-artists"),
            ("playlist-sizes", "playlist-churn"),
        )
    }
    assert (
        titles["history"]
        == ["Minutes listened per month from Nov 2025 to Jan 2026, measured and estimated"] * 2
    )  # the wide chart and the phone's
    assert titles["heatmap"] == ["Plays by weekday and hour of day (UTC)"] * 2
    assert titles["playlist-sizes"] and "Pygal" not in chart_titles(html)


def test_the_recent_runs_show_each_steps_outcome_and_partial_or_failed_stand_out():
    runs = [
        {"run_id": "20260102T031500Z-aaaaaa", "kind": "snapshot", "status": "partial",
         "extract": "partial", "transform": {"status": "transformed"},
         "started_at": "2026-01-02T03:15:00Z", "counts": {"requests": 12}, "errors": ["cut"]},
        {"run_id": "20260101T210000Z-bbbbbb", "kind": "plays", "status": "failed",
         "extract": "extracted", "transform": {"status": "failed"},
         "started_at": "2026-01-01T21:00:00Z", "counts": {"requests": 2}, "errors": ["bad"]},
    ]  # fmt: skip
    records = [RunRecord.from_json(run) for run in runs]
    html = page.render(DashboardData(DAY, runs=records), DAY.end)
    card = html[html.index('id="runs"') :]
    cells = [re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>.*?</td>", card)]
    assert cells[:6] == ["2 Jan 03:15", "snapshot", "partial", "partial", "transformed", "12"]
    assert cells[6:12] == ["1 Jan 21:00", "plays", "failed", "extracted", "failed", "2"]
    assert card.count("status-partial") == 2 and card.count("status-failed") == 2
    assert 'title="bad"' in card
    assert 'id="empty"' in html  # no plays yet: the page says what to run, the runs below it


def test_names_that_are_markup_reach_the_page_escaped_in_text_and_tooltips():
    """The browser test shows them as text; here, quickly, no name arrives as markup."""
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
    track = {"rank": 1, "track_id": "t1", "track_name": hostile, "artist_names": hostile}
    rows = {
        "top_artists": [artist("a1", hostile, 3, 9.0)],
        "top_tracks": [{**track, "plays": 3, "minutes": 9.0}],
        "playlist_sizes": sizes("p1", hostile, [1, 2]),
        "playlist_changes": [
            {"playlist_id": "p1", "playlist_name": hostile, "added": 1, "removed": 0}
        ],
    }
    run = {"run_id": "20260102T031500Z-aaaaaa", "kind": "plays", "status": "failed",
           "started_at": "2026-01-02T03:15:00Z", "errors": [hostile]}  # fmt: skip
    html = page.render(DashboardData(DAY, rows=rows, runs=[RunRecord.from_json(run)]), DAY.end)
    assert "<script" not in html and "<img" not in html and "onerror=alert(1)>" not in html
    escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert html.count(escaped) == 8  # 5 cards, the table's artists, 2 tooltips (line, run)


@pytest.fixture(scope="module")
def generated_lake(tmp_path_factory) -> Settings:
    """A generated history (tests/query/histories.py) in a lake of its own."""
    folder = tmp_path_factory.mktemp("generated")
    lake = LocalLake(folder / "lake")
    History.generate(2).fill(lake, folder)
    return Settings.from_env({"LAKE_URI": str(lake.root), "QUERY_ENGINE": "duckdb"})


def values_of(card):
    return re.findall(r'<span class="value">([^<]*)</span>', card)


def test_streaks_sessions_discovery_and_forgotten_favourites_are_their_queries_rows(
    generated_lake,
):
    generated = generated_lake
    summer = Period.of(date(2025, 6, 1), date(2025, 8, 31), date(2026, 12, 5))
    html = page.render(load(generated, summer), summer.end)
    engine = DuckDBEngine(LocalLake(generated.lake_uri))

    def asked(name, params):
        outcome = run_query(engine, name, params, page_size=1000)
        columns = [column["name"] for column in outcome["columns"]]
        return [dict(zip(columns, row, strict=True)) for row in outcome["rows"]]

    streaks = asked("listening_streaks", {**summer.params(), "limit": 5})
    assert values_of(between(html, "streaks", "sessions")) == [
        f"{row['days']} days" for row in streaks
    ]
    sessions = asked("listening_sessions", {**summer.params(), "limit": 5})
    values = values_of(between(html, "sessions", "discovery"))
    assert values == [f"{row['minutes']:,.0f} min" for row in sessions] and len(sessions) == 5
    months = asked("discovery", {"start_date": "2006-01-01", "end_date": "2025-08-31"})
    found = sum(row["new_artists"] for row in months)
    assert f"{found} artists streamed for the first time" in between(html, "discovery", "forgotten")
    forgotten = asked(
        "forgotten_favourites",
        {"as_of": "2025-08-31", "quiet_days": summer.days, "min_streams": 10, "limit": TOP},
    )
    card = unescape(between(html, "forgotten", "playlist-sizes"))
    shown = re.findall(r"<tr><td>([^<]*)<div class=artists>", card)
    assert shown == [row["track"] for row in forgotten] and {"B-side", "Four"} <= set(shown)
    assert "10 times or more before 1 Jun 2025" in card


def test_the_page_of_one_account_of_several_keeps_it_in_its_period_links_and_form(client, lake):
    from chalicelib.accounts import register

    for account in ("listener", "friend"):
        register(lake, account, {})
    several = client.http.get("/dashboard")
    assert several.status_code == 200  # whose? a page linking each
    assert "account=friend" in several.body.decode()
    response = client.http.get("/dashboard?account=friend&start_date=2026-01-01")
    assert response.status_code == 200
    text = response.body.decode()
    assert 'name="account" value="friend"' in text, "the period form keeps the account"
    assert "account=friend" in text, "so do the quick period links"
    assert client.http.get("/dashboard?account=stranger").status_code == 404
