"""Presenter mode in headless Chromium on a projector-sized window: no run yet, so training
starts on the first step and runs while the story goes on, then every step tells it."""

from __future__ import annotations

import time

import pytest

from tests.browser.conftest import ARTIFACTS, TRAIN_TIMEOUT_S

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PROJECTOR = {"width": 1280, "height": 720}
LAPTOP = {"width": 1400, "height": 1000}
# What each step shows once the run exists (the last words of the step, where there are some).
STEPS = (
    "this is all the model will learn from",
    "no word at all",
    "It learned your classes in",
    "daisy only:",
    "Training fixed",
    "Warmer colours",
    "are still wrong",
)


def _settled(page) -> None:
    """Wait until the script run is over and nothing on screen is stale, so a screenshot shows
    the step itself (the images of the step before fade out, then are replaced)."""
    busy = page.locator("[data-stale=true], [data-testid^=stStatusWidgetRunning]")
    deadline = time.monotonic() + 60
    quiet = 0
    while quiet < 3 and time.monotonic() < deadline:  # quiet for three looks in a row
        quiet = quiet + 1 if busy.count() == 0 else 0
        time.sleep(0.3)


def _show(page, number: int, size: dict[str, int]) -> None:
    page.get_by_text(f"Step {number} of {len(STEPS)}").wait_for()
    page.get_by_text(STEPS[number - 1]).first.wait_for()
    _settled(page)
    name = f"present_{size['width']}x{size['height']}_step{number}.png"
    page.screenshot(path=ARTIFACTS / name)


def test_presenter_trains_while_you_talk_then_tells_the_whole_story(app_url, browser_page):
    # Protection: presenter mode works with no run (trains with the defaults, live) and says
    # beside the zero-shot number what it scores on the one class ImageNet can name.
    page = browser_page
    page.set_viewport_size(PROJECTOR)
    page.goto(f"{app_url}/present")
    page.get_by_text(f"Step 1 of {len(STEPS)}").wait_for()
    assert page.locator("[data-testid=stSidebar]").is_hidden(), "the whole width for the story"
    page.get_by_role("button", name="Start training").click()
    _show(page, 1, PROJECTOR)

    page.get_by_role("button", name="Next").click()
    _show(page, 2, PROJECTOR)
    page.keyboard.press("ArrowRight")  # a presenter's keyboard (or clicker) works too
    page.get_by_text(f"Step 3 of {len(STEPS)}").wait_for()
    page.locator("[data-testid=stProgress]").first.wait_for()
    page.screenshot(path=ARTIFACTS / "present_1280x720_step3_training.png")
    page.get_by_text(STEPS[2]).wait_for(timeout=TRAIN_TIMEOUT_S * 1000)
    _show(page, 3, PROJECTOR)
    for number in range(4, len(STEPS) + 1):
        page.get_by_role("button", name="Next").click()
        _show(page, number, PROJECTOR)
    assert page.get_by_role("button", name="Next").is_disabled()

    page.set_viewport_size(LAPTOP)
    for number in range(len(STEPS), 0, -1):
        _show(page, number, LAPTOP)
        if number > 1:
            page.get_by_role("button", name="Back").click()
