"""A year in review: `spotify-etl recap YEAR`, `GET /recap/{year}` and its signed link, over a
generated history (tests/query/histories.py, seed 1: from 20 December 2024 to 5 February 2026).
Its figures are the named queries' rows for the year and the year before, which
tests/query/test_analyses.py recounts; a year that cannot be reviewed is refused saying why."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from html import unescape
from urllib.parse import urlsplit

import pytest
from chalice_stage import stage_client

from app import app
from chalicelib import recap
from chalicelib.dashboard import review
from chalicelib.lake import LocalLake
from chalicelib.query.duckdb_engine import DuckDBEngine
from chalicelib.query.service import run_query
from chalicelib.settings import Settings
from spotify_etl.cli import main
from tests.query.histories import History, Recount

KEY = "f00d" * 16
THIS_YEAR = datetime.now(UTC).year
BAD_YEARS = ["abc", "0", "-1", "2005", str(THIS_YEAR + 1), "99999999999", "2025.0", "２０２５"]


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory) -> tuple[History, LocalLake]:
    history = History.generate(1)
    folder = tmp_path_factory.mktemp("recap")
    lake = LocalLake(folder / "lake")
    history.fill(lake, folder)
    return history, lake


@pytest.fixture
def settings(reviewed, monkeypatch, tmp_path) -> Settings:
    """The history's lake as this process's settings (for the command line, and the app's
    stage), in a folder without a `.env`."""
    _, lake = reviewed
    monkeypatch.chdir(tmp_path)
    values = {"LAKE_URI": str(lake.root), "QUERY_ENGINE": "duckdb", "DASHBOARD_KEY": KEY}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return Settings.from_env(values)


@pytest.fixture
def recap_client(settings, tmp_path):
    variables = {"LAKE_URI": settings.lake_uri, "QUERY_ENGINE": "duckdb", "DASHBOARD_KEY": KEY}
    with stage_client(app, tmp_path / "project", variables) as running:
        yield running


def rows(lake: LocalLake, name: str, **params) -> list[dict]:
    outcome = run_query(DuckDBEngine(lake), name, params, page_size=1000)
    names = [column["name"] for column in outcome["columns"]]
    return [dict(zip(names, row, strict=True)) for row in outcome["rows"]]


def year_of(year: int) -> dict[str, str]:
    return {"start_date": f"{year}-01-01", "end_date": f"{year}-12-31"}


def test_the_figures_are_the_named_queries_rows_for_the_year_and_the_year_before(
    reviewed, settings
):
    generated, lake = reviewed
    review_2025 = recap.load(settings, 2025)
    figures = {figure.label: figure for figure in review_2025.figures()}
    [summary] = rows(lake, "listening_summary", **year_of(2025))
    [before] = rows(lake, "listening_summary", **year_of(2024))
    assert figures["minutes listened"].value == f"{summary['minutes']:,.0f}"
    assert figures["streams"].value == f"{summary['streams']:,}"
    assert figures["streams"].before == f"{before['streams']:,}"
    assert figures["artists streamed"].value == f"{summary['artists']:,}"
    change = round(100 * (summary["tracks"] - before["tracks"]) / before["tracks"])
    assert figures["tracks streamed"].change == f"{change:+,d} %".replace("-", "−")
    found = rows(lake, "new_artists", **year_of(2025), limit=1000)
    assert figures["artists discovered"].value.startswith(f"{len(found):,} (")
    assert figures["most streamed discovery"].value.startswith(found[0]["artist_name"])
    [streak] = Recount(generated).listening_streaks("2025-01-01", "2025-12-31")[:1]
    assert figures["longest streak"].value.startswith(f"{streak['days']} days")
    top = rows(lake, "top_tracks", **year_of(2025), limit=5)
    assert [this.name for this, _ in review_2025.top("top_tracks")] == [
        row["track_name"] for row in top
    ]


def test_the_year_under_way_is_reviewed_up_to_today_beside_the_year_before_up_to_that_date(
    settings,
):
    review_2026 = recap.load(settings, 2026, today=date(2026, 1, 31))
    assert (review_2026.year.start, review_2026.year.end) == (date(2026, 1, 1), date(2026, 1, 31))
    assert review_2026.before.end == date(2025, 1, 31)
    leap = recap.load(settings, 2028, today=date(2028, 2, 29))
    assert (leap.year.end, leap.before.end) == (date(2028, 2, 29), date(2027, 2, 28))
    whole = recap.load(settings, 2025, today=date(2026, 1, 31))
    assert (whole.year.end, whole.before.end) == (date(2025, 12, 31), date(2024, 12, 31))


def test_the_command_line_prints_each_figure_beside_the_year_before(settings, capsys):
    assert main(["recap", "2025"]) == 0
    out = capsys.readouterr().out
    assert "2025 in review: 1 Jan – 31 Dec 2025, beside 1 Jan – 31 Dec 2024 (UTC)" in out
    figures = {figure.label: figure for figure in recap.load(settings, 2025).figures()}
    streams = next(line for line in out.splitlines() if line.strip().startswith("streams "))
    assert figures["streams"].value in streams and figures["streams"].before in streams
    assert "top tracks by streams" in out and "top artists by streams" in out


@pytest.mark.parametrize("year", BAD_YEARS)
def test_a_year_that_cannot_be_reviewed_is_one_error_line(settings, capsys, year):
    assert main(["recap", year]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    [line] = captured.err.strip().splitlines()
    assert line.startswith("error: year ") and f"from 2006 to {THIS_YEAR}" in line


def test_the_page_shows_the_year_beside_the_year_before(recap_client, settings):
    response = recap_client.http.get("/recap/2025")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    text = unescape(response.body.decode())
    assert "<h1>Your 2025 in review</h1>" in text
    for figure in recap.load(settings, 2025).figures():
        assert figure.label in text and figure.value in text and figure.before in text
    assert 'href="2024"' in text and 'href="2026"' in text
    assert 'href="../dashboard?start_date=2025-01-01&end_date=2025-12-31"' in text


@pytest.mark.parametrize("year", BAD_YEARS)
def test_a_year_that_cannot_be_reviewed_gets_a_400_page_saying_why(recap_client, year):
    response = recap_client.http.get(f"/recap/{year}")
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/html")
    text = unescape(response.body.decode())
    assert 'id="refused"' in text and f"give one from 2006 to {THIS_YEAR}" in text


def test_a_query_parameter_is_refused_as_on_every_route(recap_client):
    response = recap_client.http.get("/recap/2025?start_date=2025-01-01")
    assert response.status_code == 400
    assert "start_date" in response.json_body["Message"]


def test_a_signed_link_opens_the_review_and_its_links_keep_the_signature(recap_client):
    answer = recap_client.http.post(
        "/dashboard/links",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"recap": 2025}),
    )
    assert answer.status_code == 201, answer.json_body
    url = urlsplit(answer.json_body["url"])
    assert url.path == "/view/recap/2025"
    page = recap_client.http.get(f"{url.path}?{url.query}")
    assert page.status_code == 200
    html = page.body.decode()
    assert "<h1>Your 2025 in review</h1>" in html
    assert f'href="2024?{url.query}"'.replace("&", "&amp;") in html
    dashboard = recap_client.http.get(f"/view/dashboard?{url.query}")  # the same link opens both
    assert dashboard.status_code == 200 and 'href="recap/' in dashboard.body.decode()
    altered = url.query.replace("signature=", "signature=0")
    refused = recap_client.http.get(f"{url.path}?{altered}")
    assert refused.status_code == 403 and "was changed" in refused.body.decode()


@pytest.mark.parametrize("recap_year", [2005, THIS_YEAR + 1, "2025", True])
def test_a_link_to_a_year_that_cannot_be_reviewed_is_refused(recap_client, recap_year):
    answer = recap_client.http.post(
        "/dashboard/links",
        headers={"Content-Type": "application/json"},
        body=json.dumps({"recap": recap_year}),
    )
    assert answer.status_code == 400 and "year" in answer.json_body["Message"]


def test_a_lake_without_plays_in_either_year_says_what_to_import(settings):
    html = review.render(recap.load(settings, 2010), date(2026, 12, 5))
    assert 'id="empty"' in html and "spotify-etl import" in html


def test_names_that_are_markup_reach_the_page_escaped():
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
    this = recap.Year.of(2025)
    summary = {"plays": 4, "streams": 3, "minutes": 9.0, "tracks": 1, "artists": 1, "days": 1,
               "top_month": "2025-03", "top_month_minutes": 9.0, "top_weekday": 6,
               "top_weekday_minutes": 9.0, "top_hour": 21, "top_hour_minutes": 9.0}
    this.rows.update(
        listening_summary=[summary],
        top_tracks=[{"rank": 1, "track_id": "t1", "track_name": hostile, "artist_names": hostile,
                     "plays": 3, "minutes": 9.0}],
        top_artists=[{"rank": 1, "artist_id": "a1", "artist_name": hostile, "plays": 3,
                      "minutes": 9.0}],
        new_artists=[{"rank": 1, "artist_id": None, "artist_name": hostile,
                      "first_streamed": "2025-03-01", "streams": 3}],
    )  # fmt: skip
    html = review.render(recap.Recap(this, recap.Year.of(2024)), date(2026, 12, 5))
    assert "<script" not in html and "<img" not in html
    assert len(re.findall("&lt;script&gt;alert\\(1\\)&lt;/script&gt;", html)) == 4
