"""The dashboard's page through chalice.test.Client: what it ranks and says, from a lake
with known plays (the query fixtures' history)."""

import re
from datetime import date

import pytest
from chalice_stage import stage_client

from chalicelib.dashboard import page
from chalicelib.dashboard.data import DashboardData, Period

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
        ("start_date=1900-01-01&end_date=2026-01-01", "shorten it"),
    ],
)
def test_a_period_that_cannot_be_shown_gets_the_page_saying_why_not_json(client, query, said):
    response = client.http.get(f"/dashboard?{query}")
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/html")
    text = response.body.decode()
    assert 'id="refused"' in text and said in text and "<form" in text


def artist(artist_id, name, plays, minutes):
    return {"artist_id": artist_id, "artist_name": name, "plays": plays, "minutes": minutes}


def test_top_artists_rank_by_minutes_over_all_artists_and_same_names_are_told_apart():
    rows = [artist(f"a{n:02d}zzzz", f"Artist {n}", 20 - n, 1.0 + n) for n in range(12)]
    rows += [artist("longA1", "Long", 1, 50.0), artist("twinX1", "Twin", 3, 30.0)]
    rows += [artist("twinY2", "Twin", 4, 30.0)]  # same minutes: more plays first
    data = DashboardData(DAY, rows={"top_artists": rows})
    html = page.render(data, DAY.end)
    card = html[html.index('id="top-artists"') : html.index('id="top-tracks"')]
    labels = [t for t in re.findall(r"<text[^>]*>([^<]*)</text>", card) if not t.endswith("min")]
    top_down = labels[::-1]  # the chart lists its bars bottom up
    assert top_down[:3] == ["Long", "Twin (twinY2)", "Twin (twinX1)"]
    assert top_down[3:] == [f"Artist {n}" for n in range(11, 4, -1)]  # the rest by minutes
    assert "Artist 0" not in card  # the most played by count, the least by minutes


def test_hours_listened_say_they_are_estimated_from_track_lengths():
    track = {"rank": 1, "track_id": "t1", "track_name": "Song", "artist_names": "A"}
    data = DashboardData(DAY, rows={"top_tracks": [{**track, "minutes": 90.0, "plays": 3}]})
    assert "listened (estimated from track lengths)" in page.render(data, DAY.end)
