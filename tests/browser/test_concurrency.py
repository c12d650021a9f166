"""Five browser sessions classify photos on one server while a training runs in the background."""

from __future__ import annotations

import asyncio
import statistics
import time

import pytest

from engine.runs import RunStore
from tests.browser.conftest import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    PAGE_TIMEOUT_MS,
    TRAIN_TIMEOUT_S,
    AppServer,
)
from tests.support.paths import FLOWERS

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]

NUM_SESSIONS = 5
PHOTOS_PER_SESSION = 2
# Bounds the whole test: 5 sessions x 2 photos on 2 cores beside a training.
TEST_TIMEOUT_S = 420


async def _open(browser, url: str, path: str):
    """A new browser context (its own Streamlit session) showing one page."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    await page.goto(f"{url}/{path}")
    return page


async def _start_training(page) -> None:
    """Fill a short config that still runs long enough (a fine-tune epoch) and press Start."""
    for label, value in (("Epochs (new head)", "3"), ("Fine-tune epochs (0 = skip)", "1")):
        field = page.get_by_label(label, exact=True)
        await field.fill(value)
        await field.press("Tab")
    await page.get_by_role("button", name="Start training").click()
    await page.locator("[data-testid=stProgress]").first.wait_for()


async def _classify(browser, url: str, photos: list) -> list[tuple[float, str]]:
    """Seconds from upload to the zero-shot answer, and the answer, for each photo."""
    answers = []
    for photo in photos:
        page = await _open(browser, url, "classify")
        await page.locator("input[type=file]").wait_for(state="attached")
        started = time.perf_counter()
        await page.locator("input[type=file]").set_input_files(str(photo))
        guess = page.get_by_text("Best guess:").first
        await guess.wait_for()
        answers.append((time.perf_counter() - started, await guess.inner_text()))
        await page.context.close()
    return answers


async def _scenario(server: AppServer) -> dict:
    from playwright.async_api import async_playwright

    photos = sorted(FLOWERS.glob("*/*.jpg"))[::97][: NUM_SESSIONS * PHOTOS_PER_SESSION]
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        # The first visit runs app.py (so pages/ is routed) and loads the models.
        trainer = await _open(browser, server.url, "")
        await trainer.get_by_role("button", name="Run the demo").wait_for()
        await trainer.goto(f"{server.url}/train")
        await _start_training(trainer)

        second = await _open(browser, server.url, "train")
        await second.get_by_role("button", name="Start training").click()
        await second.get_by_text("A job is running").wait_for()
        await second.screenshot(path=ARTIFACTS / "concurrency_second_start.png", full_page=True)
        await second.context.close()

        sessions = [
            _classify(browser, server.url, photos[i::NUM_SESSIONS]) for i in range(NUM_SESSIONS)
        ]
        answers = [answer for session in await asyncio.gather(*sessions) for answer in session]
        finished = trainer.get_by_text("Training finished")
        await finished.wait_for(timeout=TRAIN_TIMEOUT_S * 1000)
        await trainer.screenshot(path=ARTIFACTS / "concurrency_trained.png", full_page=True)
        await browser.close()
    return {"answers": answers}


def test_five_sessions_classify_while_one_training_runs(app_server: AppServer, capsys):
    pytest.importorskip("playwright.async_api")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    outcome = asyncio.run(asyncio.wait_for(_scenario(app_server), TEST_TIMEOUT_S))

    latencies = sorted(seconds for seconds, _ in outcome["answers"])
    assert len(latencies) == NUM_SESSIONS * PHOTOS_PER_SESSION
    assert all(text.removeprefix("Best guess:").strip() for _, text in outcome["answers"])
    p95 = latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))]
    with capsys.disabled():
        print(
            f"\n{NUM_SESSIONS} sessions x {PHOTOS_PER_SESSION} photos during training: "
            f"upload-to-label p50 {statistics.median(latencies):.1f} s, p95 {p95:.1f} s"
        )
    # One training ran: the refused second Start neither queued nor ran another one.
    runs = RunStore(app_server.runs_dir).list()
    assert [info.status for info in runs] == ["complete"], f"expected one complete run: {runs}"
