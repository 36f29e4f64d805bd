"""A real browser: headless Chromium loads the dashboard from `chalice local` over the demo."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),  # in CI, a missing browser is a failure
    reason="needs chromium: `make test` installs Debian's package where it can",
)
CHARTS = ("heatmap", "top-artists", "top-tracks", "playlist-sizes", "playlist-churn")


def chromium(profile: Path, *args: str) -> str:
    """Run headless Chromium once, offline, with a throwaway profile; return its stdout."""
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", f"--user-data-dir={profile}", *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


def section(dom: str, anchor: str) -> str:
    match = re.search(rf'<section class="card[^"]*" id="{anchor}">(.*?)</section>', dom, re.S)
    assert match, f"no {anchor} card in the page"
    return match.group(1)


def test_the_dashboard_renders_every_chart_with_data_in_chromium(server, tmp_path):
    url = f"{server}/dashboard"
    dom = chromium(tmp_path / "profile", "--dump-dom", url)
    screenshot = tmp_path / "dashboard.png"
    chromium(tmp_path / "profile", f"--screenshot={screenshot}", "--window-size=1280,2000", url)
    assert "Listening from" in dom
    for anchor in CHARTS:
        card = section(dom, anchor)
        assert "<svg" in card, anchor
        assert re.search(r'class="[^"]*(dot|rect|line)[^"]*', card), anchor
    assert len(re.findall(r'<circle[^>]*class="dot', section(dom, "heatmap"))) > 24
    assert screenshot.stat().st_size > 50_000
    print(f"screenshot: {screenshot}")


def test_an_empty_lake_gets_a_page_that_says_what_to_run(empty_server, tmp_path):
    dom = chromium(tmp_path / "profile", "--dump-dom", f"{empty_server}/dashboard")
    assert 'id="empty"' in dom
    assert "spotify-etl extract" in dom and "POST /runs" in dom
    assert "<svg" not in dom
