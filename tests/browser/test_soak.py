"""A bounded soak: eight browser sessions on one app visit pages, classify photos, filter the
Evaluate gallery and upload hostile files while one training runs; no request may fail and the
app's memory must not keep growing. TLAB_SOAK_SECONDS makes it longer (default about 3 min)."""

from __future__ import annotations

import asyncio
import os
import random
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from engine.runs import RunStore
from tests.browser.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, AppServer
from tests.support.paths import FLOWERS

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]

NUM_SESSIONS = 8
SOAK_SECONDS = float(os.environ.get("TLAB_SOAK_SECONDS", "150"))
WARM_UP_SHARE = 0.4  # memory is compared from the end of this share of the soak
ACTION_TIMEOUT_MS = 90_000
HOSTILE_EVERY = 7  # one hostile upload every this many actions of a session
MAX_GROWTH = 1.10
PAGES = ("", "data", "zero_shot", "train", "evaluate", "classify", "runs")
TITLES = ("Transfer Lab demo", "Data", "Zero-shot", "Train", "Evaluate", "Classify", "Runs")


@dataclass
class Tally:
    """What the sessions did: seconds per action kind, and every failure with its page."""

    seconds: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def add(self, kind: str, seconds: float) -> None:
        self.seconds.setdefault(kind, []).append(seconds)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


async def check_page(page, tally: Tally, what: str) -> None:
    """A failure is any exception box or traceback text on the page."""
    body = await page.inner_text("body")
    if await page.locator("[data-testid=stException]").count() or "Traceback" in body:
        tally.failures.append(f"{what}: {body[:300]!r}")


async def visit(page, url: str, index: int) -> None:
    await page.goto(f"{url}/{PAGES[index]}")
    await page.get_by_role("heading", name=TITLES[index]).first.wait_for()


async def classify(page, url: str, photo: Path) -> None:
    await page.goto(f"{url}/classify")
    await page.locator("input[type=file]").set_input_files(str(photo))
    await page.get_by_text("Best guess:").nth(1).wait_for()


async def hostile(page, url: str, path: Path) -> None:
    """An HTML file named .jpg on Classify: a clear error, never a crash."""
    await page.goto(f"{url}/classify")
    await page.locator("input[type=file]").set_input_files(str(path))
    await page.get_by_text("not an image").first.wait_for()


async def filter_gallery(page, url: str) -> None:
    await page.goto(f"{url}/evaluate")
    caption = page.get_by_text(re.compile(r"^\d+ of \d+ test photos$"))
    before = await caption.inner_text()
    await page.get_by_text("Only errors").click()
    await (
        page.get_by_text(re.compile(r"^\d+ of \d+ test photos$"))
        .filter(has_not_text=before)
        .wait_for()
    )


async def train(page, url: str) -> None:
    await page.goto(f"{url}/train")
    await page.get_by_label("Epochs (new head)", exact=True).fill("5")
    await page.get_by_role("button", name="Start training").click()
    await page.locator("[data-testid=stProgress]").first.wait_for()


async def session(browser, url: str, number: int, deadline: float, tally: Tally, files) -> None:
    """One person: a seeded mix of actions until the deadline; session 0 also trains once."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    rng = random.Random(number)
    done = 0
    while time.monotonic() < deadline:
        done += 1
        if number == 0 and done == 1:
            kind, action = "train", train(page, url)
        elif done % HOSTILE_EVERY == 0:
            kind, action = "hostile upload", hostile(page, url, files["hostile"])
        else:
            kind = rng.choice(("visit", "visit", "classify", "evaluate filter"))
            action = {
                "visit": lambda: visit(page, url, rng.randrange(len(PAGES))),
                "classify": lambda: classify(page, url, rng.choice(files["photos"])),
                "evaluate filter": lambda: filter_gallery(page, url),
            }[kind]()
        started = time.perf_counter()
        try:
            await action
            tally.add(kind, time.perf_counter() - started)
        except Exception as error:  # a timeout is a request not served
            tally.failures.append(f"session {number} {kind}: {type(error).__name__}: {error}")
        await check_page(page, tally, f"session {number} after {kind}")
    await context.close()


async def soak(server: AppServer, files: dict) -> tuple[Tally, list[float]]:
    from playwright.async_api import async_playwright

    tally, memory = Tally(), []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        # A run to evaluate and classify with: the Demo trains one with the defaults.
        first = await browser.new_page()
        first.set_default_timeout(300_000)
        await first.goto(server.url)
        await first.get_by_role("button", name="Run the demo").click()
        await first.get_by_text("Zero-shot wrong, trained model right").wait_for()
        await first.close()

        started = time.monotonic()
        deadline = started + SOAK_SECONDS
        people = [
            session(browser, server.url, number, deadline, tally, files)
            for number in range(NUM_SESSIONS)
        ]

        async def sample_memory() -> None:
            # Warm-up ends when the soak's training has finished (it loads TensorFlow's
            # training graphs once) and WARM_UP_SHARE of the time has passed.
            while len(RunStore(server.runs_dir).list()) < 2 and time.monotonic() < deadline:
                await asyncio.sleep(1)
            for share in (WARM_UP_SHARE, (1 + WARM_UP_SHARE) / 2):
                await asyncio.sleep(max(0.0, started + share * SOAK_SECONDS - time.monotonic()))
                memory.append(rss_mb(server.pid))

        await asyncio.gather(*people, sample_memory())
        memory.append(rss_mb(server.pid))
        page = await browser.new_page()
        await page.goto(f"{server.url}/runs")
        await page.screenshot(path=ARTIFACTS / "soak_runs.png", full_page=True)
        await browser.close()
    return tally, memory


def test_eight_sessions_soak_without_errors_or_growing_memory(
    app_server: AppServer, tmp_path: Path, capsys
):
    pytest.importorskip("playwright.async_api")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    hostile_file = tmp_path / "holiday.jpg"
    hostile_file.write_text("<html><script>alert(1)</script></html>")
    files = {"photos": sorted(FLOWERS.glob("*/*.jpg"))[::37], "hostile": hostile_file}

    tally, memory = asyncio.run(soak(app_server, files))

    served = sum(len(seconds) for seconds in tally.seconds.values())
    with capsys.disabled():
        print(f"\nsoak: {served} actions by {NUM_SESSIONS} sessions in {SOAK_SECONDS:.0f} s")
        for kind, seconds in sorted(tally.seconds.items()):
            ordered = sorted(seconds)
            p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
            print(
                f"  {kind}: {len(seconds)}, p50 {statistics.median(seconds):.2f} s, p95 {p95:.2f} s"
            )
        print(
            "  app RSS after warm-up / middle / end: " + " / ".join(f"{m:.0f} MB" for m in memory)
        )
    assert tally.failures == []
    assert {"visit", "classify", "evaluate filter", "hostile upload", "train"} <= set(
        tally.seconds
    ), tally.seconds.keys()
    assert memory[-1] <= MAX_GROWTH * memory[0], f"memory grew from {memory[0]:.0f} MB"
