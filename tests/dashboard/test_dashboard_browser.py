"""A real browser: headless Chromium, driven by Playwright, loads the dashboard from
`chalice local` over the demo's lake, and a page drawn from names in every script; on a phone
and on a desktop, nothing overflows, no chart text is cut off, and the fonts show CJK and
colour emoji (Debian's Noto packages, which `make test` installs beside Chromium)."""

from __future__ import annotations

import io
import os
import shutil
from datetime import date

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.integration,  # headless Chromium
    pytest.mark.skipif(
        CHROMIUM is None and not os.environ.get("CI"),  # in CI, a missing browser is a failure
        reason="needs chromium: `make test` installs Debian's package where it can",
    ),
]
PHONE, DESKTOP = 390, 1280
CARDS = (
    "history",
    "heatmap",
    "top-artists",
    "top-tracks",
    "playlist-sizes",
    "playlist-churn",
    "track-table",
    "runs",
)
CJK = "夜に駆ける 방탄소년단"
EMOJI = "Dancing Queen 💃"
NO_GLYPH = "\u0378"  # unassigned: no font has it, so it draws the missing-glyph box
# Where the page spills over: the document wider than the screen, a card past its edge, a
# scrolling box that must scroll, a chart's text outside its drawing, or chart text drawn
# smaller than 9 px (an SVG scales as a picture).
LAYOUT = """() => {
  const width = window.innerWidth, problems = [];
  if (document.documentElement.scrollWidth > width)
    problems.push(`the page is ${document.documentElement.scrollWidth} px wide`);
  for (const card of document.querySelectorAll('section')) {
    const box = card.getBoundingClientRect();
    if (box.left < 0 || box.right > width) problems.push(`${card.id} is ${box.width} px wide`);
  }
  for (const box of document.querySelectorAll('.scroll'))
    if (box.scrollWidth > box.clientWidth + 1) problems.push(`${box.parentNode.id} scrolls`);
  for (const svg of document.querySelectorAll('section svg')) {
    const frame = svg.getBoundingClientRect();
    if (frame.width === 0) continue;  // the chart for the other screen size
    const scale = frame.width / svg.viewBox.baseVal.width;
    for (const text of svg.querySelectorAll('text')) {
      const box = text.getBoundingClientRect();
      if (box.width === 0) continue;
      const where = `${svg.closest('section').id}: "${text.textContent}"`;
      if (box.left < frame.left - 0.5 || box.right > frame.right + 0.5 ||
          box.top < frame.top - 0.5 || box.bottom > frame.bottom + 0.5)
        problems.push(`${where} is cut off`);
      const size = parseFloat(getComputedStyle(text).fontSize) * scale;
      if (size < 9) problems.push(`${where} is ${size.toFixed(1)} px`);
    }
  }
  return problems;
}"""


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(chromium):
    """A fresh page of the given width; closed after the test."""
    pages = []

    def opened(width: int):
        page = chromium.new_page(viewport={"width": width, "height": 900})
        page.route("http*://**", _offline)
        pages.append(page)
        return page

    yield opened
    for page in pages:
        page.close()


def _offline(route):
    """Only the local server answers: nothing on the page may reach out."""
    if route.request.url.startswith("http://127.0.0.1:"):
        route.continue_()
    else:
        route.abort()


def every_script_page() -> str:
    """The dashboard drawn from names in many scripts and lengths, and large numbers."""
    return page_of(
        [
            CJK * 3,
            EMOJI,
            "لما بدا يتثنى " * 3,
            "Supercalifragilisticexpialidocious" * 3,
            "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW",
            "Mötley Crüe – Kickstart My Heart (Remastered 2021 Deluxe Anniversary Edition)",
            "שלום עולם",
            "Sigur Rós",
            "坂本龍一",
            "🎧 Lo-Fi Beats",
        ]
    )


def page_of(names: list[str], errors: tuple[str, ...] = ()) -> str:
    """The dashboard whose artists, tracks (and their artists) and playlists bear these
    names, with large numbers, and ten partial runs with these errors."""
    from chalicelib.dashboard import page
    from chalicelib.dashboard.data import DashboardData, Period
    from chalicelib.runs import RunRecord

    day = date(2026, 1, 10)
    period = Period.of(date(2026, 1, 1), day, day)
    dates = [f"2026-01-{n:02d}" for n in range(1, 11)]
    rows = {
        "listening_by_hour": [
            {"weekday": w, "hour": h, "plays": 1_000 + w * h}
            for w in range(1, 8)
            for h in range(24)
        ],
        "top_artists": [
            {"artist_id": f"a{n}", "artist_name": name, "plays": 90_000 - n, "minutes": 9e6 - n}
            for n, name in enumerate(names)
        ],
        "top_tracks": [
            {
                "rank": n + 1,
                "track_id": f"t{n}",
                "track_name": name,
                "artist_names": names[-n],
                "plays": 90_000 - n,
                "minutes": 9e5 - n,
            }
            for n, name in enumerate(names)
        ],  # fmt: skip
        "playlist_sizes": [
            {
                "playlist_id": f"p{n}",
                "playlist_name": name,
                "snapshot_date": snapshot,
                "item_count": 10_000 + 7 * n * d,
                "stored_items": 10_000,
                "unavailable_items": 0,
            }
            for n, name in enumerate(names[:8])
            for d, snapshot in enumerate(dates)
        ],  # fmt: skip
        "playlist_changes": [
            {"playlist_id": f"p{n}", "playlist_name": name, "added": 12_345 - n, "removed": n}
            for n, name in enumerate(names)
        ],
    }
    runs = [
        {"run_id": f"20260110T0{n}1500Z-abcdef", "kind": "snapshot", "status": "partial",
         "extract": "partial", "transform": {"status": "transformed"},
         "started_at": f"2026-01-10T0{n}:15:00Z", "counts": {"requests": 123_456},
         "errors": list(errors)}
        for n in range(10)
    ]  # fmt: skip
    records = [RunRecord.from_json(run) for run in runs]
    return page.render(DashboardData(period, rows=rows, runs=records), day)


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_the_demo_dashboard_fits_the_screen_with_every_card_drawn(server, open_page, width):
    page = open_page(width)
    page.goto(f"{server}/dashboard")
    for anchor in CARDS:
        card = page.locator(f"section#{anchor}")
        assert card.is_visible(), anchor
        assert "No data in this period" not in card.inner_text(), anchor
    visible = page.locator("#heatmap .chart svg").filter(visible=True)
    assert visible.count() == 1 and visible.locator("circle.dot").count() > 7
    playlists = page.locator("#playlist-sizes ol.bars li")
    lines = page.locator("#playlist-sizes .spark svg").filter(visible=True)
    assert playlists.count() > 1 and lines.count() == playlists.count()
    assert lines.first.locator("circle.dot").count() > 1  # a snapshot a day, a dot each
    months = page.locator("#history .chart svg").filter(visible=True).locator("rect.rect")
    assert months.count() >= 12  # the demo's year of imported history, per month
    assert page.locator("#top-artists ol.bars li").count() == 10
    assert page.locator("#runs tbody tr").count() == 10
    assert page.evaluate(LAYOUT) == []


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_long_names_in_any_script_wrap_and_no_chart_text_is_cut_off(open_page, width, tmp_path):
    page = open_page(width)
    page.set_content(every_script_page())
    assert page.evaluate(LAYOUT) == []
    screenshot = tmp_path / f"dashboard-{width}.png"
    page.screenshot(path=screenshot, full_page=True)
    print(f"screenshot: {screenshot}")


def test_the_screenshot_shows_cjk_and_colour_emoji_glyphs(open_page):
    from PIL import Image

    page = open_page(DESKTOP)
    page.set_content(every_script_page())
    cjk = page.locator("#top-tracks .name").filter(has_text=CJK).first.element_handle()
    drawn = cjk.screenshot()
    cjk.evaluate(
        "(node, box) => { node.textContent = node.textContent.replace(/\\S/gu, box) }", NO_GLYPH
    )
    missing = cjk.screenshot()
    same = drawn == missing
    assert not same, "CJK draws as missing-glyph boxes: install fonts-noto-cjk"

    emoji = page.locator("#top-tracks .name").filter(has_text=EMOJI).first
    image = Image.open(io.BytesIO(emoji.screenshot())).convert("RGB")
    data = image.tobytes()
    pixels = zip(data[0::3], data[1::3], data[2::3], strict=True)
    coloured = sum(1 for pixel in pixels if max(pixel) - min(pixel) > 80)
    assert coloured > 30, "the emoji is not in colour: install fonts-noto-color-emoji"


# Names come from other users (followed playlists) and from Spotify's catalogue.
HOSTILE = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "javascript:alert(1)")
NAMED_CARDS = ("top-artists", "top-tracks", "playlist-sizes", "playlist-churn", "track-table")
# Whatever could run: a script or embedded document, an event handler, a javascript: URL.
RUNNABLE = """() => { const URLS = ['href', 'src', 'xlink:href', 'action', 'formaction'];
return [...document.querySelectorAll('*')].flatMap(node => {
  const found = ['SCRIPT', 'IMG', 'IFRAME', 'OBJECT', 'EMBED'].includes(node.tagName.toUpperCase())
    ? [node.outerHTML.slice(0, 80)] : [];
  for (const attribute of node.attributes)
    if (attribute.name.startsWith('on') ||
        (URLS.includes(attribute.name) && /^\\s*javascript:/i.test(attribute.value)))
      found.push(`${node.tagName} ${attribute.name}="${attribute.value}"`);
  return found;
}); }"""


@pytest.mark.parametrize("width", [PHONE, DESKTOP])
def test_names_that_are_markup_or_a_javascript_url_show_as_text_on_every_card_and_tooltip(
    open_page, width
):
    page = open_page(width)
    alerts = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    names = [f"{payload} {n}" for n in range(3) for payload in HOSTILE]
    page.set_content(page_of(names, errors=HOSTILE))
    assert alerts == [] and page.evaluate(RUNNABLE) == []
    for anchor in NAMED_CARDS:
        text = page.locator(f"section#{anchor}").inner_text()
        assert all(payload in text for payload in HOSTILE), anchor
    lines = page.locator("#playlist-sizes svg > title").all_text_contents()
    assert lines and all(any(payload in line for payload in HOSTILE) for line in lines)
    failed = page.locator("#runs td[title]")
    assert failed.count() == 10
    assert {failed.nth(n).get_attribute("title") for n in range(10)} == {"; ".join(HOSTILE)}
    assert page.evaluate(LAYOUT) == []


def test_an_empty_lake_gets_a_page_that_says_what_to_run(empty_server, open_page):
    page = open_page(DESKTOP)
    page.goto(f"{empty_server}/dashboard")
    text = page.locator("#empty").inner_text()
    assert "spotify-etl extract" in text and "POST /runs" in text
    assert page.locator("svg").count() == 0


def test_a_signed_link_opens_the_dashboard_and_an_expired_or_altered_one_is_refused(
    linked_server, open_page
):
    import time
    from urllib.parse import parse_qs, urlsplit

    import requests

    from chalicelib import links

    url, key = linked_server
    answer = requests.post(f"{url}/dashboard/links", json={"hours": 1}, timeout=10)
    assert answer.status_code == 201, answer.text
    link = answer.json()["url"]
    account = parse_qs(urlsplit(link).query)["account"][0]  # the demo lake's only account
    assert link.startswith(f"{url}/view/dashboard?account={account}&expires=")

    page = open_page(PHONE)
    assert page.goto(link).status == 200
    for anchor in CARDS:
        assert page.locator(f"section#{anchor}").is_visible(), anchor
    assert page.evaluate(LAYOUT) == []
    page.locator("nav.quick a").first.click()  # a period link keeps the signature
    page.wait_for_load_state()
    assert page.locator("section#top-tracks").is_visible()
    assert "signature=" in page.url

    expired = links.make(key, url, 1, account, now=time.time() - 7200).url
    altered = link.replace("signature=", "signature=0")
    for refused, reason in ((expired, "has expired"), (altered, "was changed")):
        page = open_page(PHONE)
        assert page.goto(refused).status == 403
        text = page.locator("#link-refused").inner_text()
        assert reason in text and "spotify-etl dashboard-link" in text
        assert page.evaluate(LAYOUT) == []
