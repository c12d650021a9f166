"""The real app in headless Chromium: classify a daisy photo, train a short run with progress."""

from __future__ import annotations

import time

import pytest

from tests.browser.conftest import ARTIFACTS, TRAIN_TIMEOUT_S
from tests.support.paths import FLOWERS

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_classify_a_daisy_photo_shows_the_zero_shot_label(app_url: str, browser_page):
    page = browser_page
    page.goto(f"{app_url}/classify")
    # The ImageNet model calls this photo 'daisy' with 99% confidence.
    photo = sorted((FLOWERS / "daisy").glob("*.jpg"))[0]
    page.locator("input[type=file]").set_input_files(str(photo))
    guess = page.get_by_text("Best guess:").first
    guess.wait_for()
    page.screenshot(path=ARTIFACTS / "classify_daisy.png", full_page=True)
    assert "daisy" in guess.inner_text()


def _bar_values(page) -> tuple[str, ...]:
    """aria-valuenow of every progress bar, read in one go (the fragment redraws them)."""
    bars = page.locator("[data-testid=stProgress] [role=progressbar]")
    return tuple(bars.evaluate_all("bars => bars.map(b => b.getAttribute('aria-valuenow'))"))


def test_training_shows_moving_progress_and_finishes(app_url: str, browser_page):
    page = browser_page
    page.goto(f"{app_url}/train")
    epochs = page.get_by_label("Epochs (new head)")
    epochs.fill("3")
    epochs.press("Tab")
    page.get_by_role("button", name="Start training").click()
    page.locator("[data-testid=stProgress]").first.wait_for()
    page.screenshot(path=ARTIFACTS / "train_started.png", full_page=True)

    seen: set[tuple[str, ...]] = set()
    finished = page.get_by_text("Training finished")
    deadline = time.monotonic() + TRAIN_TIMEOUT_S
    while not finished.count() and time.monotonic() < deadline:
        values = _bar_values(page)
        if values not in seen and len(seen - {()}) == 1:  # the first time the bars move
            page.screenshot(path=ARTIFACTS / "train_progress.png", full_page=True)
        seen.add(values)
        time.sleep(0.5)
    page.screenshot(path=ARTIFACTS / "train_finished.png", full_page=True)
    assert finished.count(), f"no 'Training finished' within {TRAIN_TIMEOUT_S} s"
    assert len(seen - {()}) >= 2, f"the progress bars never moved: {seen}"
