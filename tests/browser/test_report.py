"""The flowers run's report opened from a file in headless Chromium with networking off: every
chart draws, every photo shows, and the page asks for nothing but itself."""

from __future__ import annotations

import pytest

from engine.report import run_report
from engine.runs import RunStore
from tests.browser.conftest import ARTIFACTS
from tests.support.server import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_the_flowers_report_opens_offline_from_a_file(flowers_run, tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium to run browser tests)")
    sync_api = pytest.importorskip("playwright.sync_api")
    report = tmp_path / "report.html"
    report.write_bytes(run_report(RunStore(flowers_run.settings.runs_dir), flowers_run.run_id))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    requests, problems = [], []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(offline=True, viewport={"width": 1200, "height": 900})
        page = context.new_page()
        page.on("request", lambda request: requests.append(request.url))
        page.on("console", lambda message: problems.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: problems.append(f"error: {error}"))
        page.goto(report.as_uri())
        page.locator(".js-plotly-plot .main-svg").first.wait_for()
        drawn = page.locator(".js-plotly-plot").count()
        photos = page.locator("img").evaluate_all(
            "images => images.map(image => image.complete && image.naturalWidth > 0)"
        )
        page.screenshot(path=ARTIFACTS / "report_flowers.png", full_page=True)
        browser.close()

    assert drawn == 3  # the confusion matrix and the two curves
    assert photos and all(photos), "every photo is inlined and decodes"
    outside = [url for url in requests if not url.startswith(("file:", "data:"))]
    assert outside == [] and requests[0] == report.as_uri()
    assert problems == []  # a blocked load would show here as a CSP or network error
