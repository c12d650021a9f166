"""The app while it trains: one browser session classifying, then eight at once, against the
same training on an idle app; and the Demo's click-to-story time on a cold app."""

from __future__ import annotations

import asyncio
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.context import Context
from bench.report import Outcome, Row
from engine.runs import RunStore
from tests.support.paths import ROOT
from tests.support.server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    streamlit_server,
    wait_until_answers,
)

PAGE_TIMEOUT_MS = 60_000
START_TIMEOUT_S = 120.0
TRAIN_TIMEOUT_S = 600.0
# A short recipe that still fine-tunes: TensorFlow's training is what competes with requests.
TRAIN_FIELDS = (("Epochs (new head)", "10"), ("Fine-tune epochs (0 = skip)", "1"))
NUM_SESSIONS = 8
PHOTOS_PER_SESSION = 4
P95_TARGET_S = 1.5
SLOWDOWN_TARGET = 1.3
DEMO_TARGET_S = 12.0
THINK_SECONDS = 2.0  # a person looks at each answer before the next photo
REPEATS = 2  # idle and loaded trainings, interleaved; medians reported


@dataclass
class _App:
    """A running app: its URL and its runs folder."""

    url: str
    runs_dir: Path

    def complete_runs(self) -> int:
        return len(RunStore(self.runs_dir).list(status="complete"))

    def newest_train_seconds(self) -> float:
        info = RunStore(self.runs_dir).list(status="complete")[0]
        assert info.train_seconds is not None, "a complete run records its training time"
        return info.train_seconds

    def forget_features(self) -> None:
        """Drop the feature cache: every measured training then extracts features afresh."""
        shutil.rmtree(self.runs_dir / ".cache", ignore_errors=True)


async def _open(browser, url: str):
    """A new browser context (its own Streamlit session) on url."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    await page.goto(url)
    return page


class _Session:
    """One person on the Classify page: uploads a photo, reads both answers, removes it."""

    def __init__(self, page) -> None:
        self.page = page

    @classmethod
    async def open(cls, browser, app: _App) -> _Session:
        page = await _open(browser, f"{app.url}/classify")
        await page.locator("input[type=file]").wait_for(state="attached")
        return cls(page)

    async def classify(self, photo: Path, answers: int) -> float:
        """Seconds from the upload to every model's answer on screen (answers of them)."""
        started = time.perf_counter()
        await self.page.locator("input[type=file]").set_input_files(str(photo))
        await self.page.get_by_text("Best guess:").nth(answers - 1).wait_for()
        seconds = time.perf_counter() - started
        await self.page.locator("[data-testid=stFileChipDeleteBtn] button").click()
        await self.page.get_by_text("(or switch on the camera)").wait_for()  # off the clock
        return seconds


async def _start_training(browser, app: _App) -> int:
    """Start TRAIN_FIELDS from the Train page; returns the number of complete runs before."""
    before = app.complete_runs()
    page = await _open(browser, f"{app.url}/train")
    for label, value in TRAIN_FIELDS:
        field = page.get_by_label(label, exact=True)
        await field.fill(value)
        await field.press("Tab")
    await page.get_by_role("button", name="Start training").click()
    await page.locator("[data-testid=stProgress]").first.wait_for()
    await page.context.close()
    return before


async def _wait_for_run(app: _App, before: int) -> float:
    deadline = time.monotonic() + TRAIN_TIMEOUT_S
    while app.complete_runs() <= before:
        if time.monotonic() > deadline:
            raise TimeoutError("the training did not finish in time")
        await asyncio.sleep(0.5)
    return app.newest_train_seconds()


async def _train_idle(browser, app: _App) -> float:
    app.forget_features()
    return await _wait_for_run(app, await _start_training(browser, app))


async def _train_while_classifying(browser, app: _App, photos: list[Path]) -> tuple:
    """One person classifies a photo every THINK_SECONDS for as long as the training runs."""
    app.forget_features()
    person = await _Session.open(browser, app)
    await person.classify(photos[-1], 2)  # loads the newest run's model (measured apart)
    before = await _start_training(browser, app)
    latencies = []
    while app.complete_runs() <= before:
        latencies.append(await person.classify(photos[len(latencies) % len(photos)], 2))
        await asyncio.sleep(THINK_SECONDS)
    return await _wait_for_run(app, before), latencies


async def _train_with_sessions(browser, app: _App, photos: list[Path]) -> tuple:
    """NUM_SESSIONS sessions classify PHOTOS_PER_SESSION photos each, back to back, during a
    training."""
    app.forget_features()
    people = [await _Session.open(browser, app) for _ in range(NUM_SESSIONS)]
    await people[0].classify(photos[-1], 2)  # loads the newest run's model (measured apart)
    before = await _start_training(browser, app)

    async def session(person: _Session, mine: list[Path]) -> list[float]:
        return [await person.classify(photo, 2) for photo in mine]

    groups = [photos[i::NUM_SESSIONS][:PHOTOS_PER_SESSION] for i in range(NUM_SESSIONS)]
    found = await asyncio.gather(*map(session, people, groups))
    return await _wait_for_run(app, before), [seconds for group in found for seconds in group]


def _background_chromium(folder: Path) -> Path:
    """A Chromium launcher at the lowest CPU priority: the browser stands in for people's own
    machines, so here it takes only what the app leaves (the app's CPU is what is measured)."""
    launcher = folder / "chromium-nice"
    launcher.write_text(f'#!/bin/sh\nexec nice -n 19 {CHROMIUM} "$@"\n')
    launcher.chmod(0o755)
    return launcher


async def _scenario(app: _App, photos: list[Path]) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(_background_chromium(app.runs_dir.parent)),
            headless=True,
            args=CHROMIUM_ARGS,
        )
        warm = await _Session.open(browser, app)
        await warm.classify(photos[0], 1)  # loads the zero-shot model and the pages' code
        await _train_idle(browser, app)  # warm-up: weights, tracing, converted models
        await warm.classify(photos[1], 2)  # the trained model; a new file (the same one twice
        # in a row does not reach the server: the browser sees no change)
        idle, loaded, one = [], [], []
        for _ in range(REPEATS):  # interleaved: load from elsewhere hits both alike
            idle.append(await _train_idle(browser, app))
            seconds, latencies = await _train_while_classifying(browser, app, photos)
            loaded.append(seconds)
            one += latencies
        crowded, eight = await _train_with_sessions(browser, app, photos)
        await browser.close()
    return {
        "idle": statistics.median(idle),
        "loaded": statistics.median(loaded),
        "one": one,
        "crowded": crowded,
        "eight": eight,
    }


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _serve(ctx: Context, env: dict[str, str] | None = None):
    workdir = Path(tempfile.mkdtemp(dir=ctx.workdir))
    port = free_port()
    return workdir, port, streamlit_server(port, workdir, env)


def _wait_healthy(url: str) -> None:
    wait_until_answers(f"{url}/_stcore/health", time.monotonic() + START_TIMEOUT_S)


def run(ctx: Context) -> Outcome:
    """Classify latency during a training, and the training's slowdown, vs an idle app."""
    if not CHROMIUM.exists() or not (ROOT / "app.py").is_file():
        return Outcome([Row("Classify while training", f"skipped: no {CHROMIUM}")])
    photos = [Path(path) for path in ctx.split.test.paths[::7]][: NUM_SESSIONS * PHOTOS_PER_SESSION]
    workdir, port, server = _serve(ctx)
    with server:
        app = _App(f"http://127.0.0.1:{port}", workdir / "runs")
        _wait_healthy(app.url)
        found = asyncio.run(_scenario(app, photos))
    one, eight = found["one"], found["eight"]
    rows = [
        Row(
            f"Classify while training, 1 session ({len(one)} photos)",
            f"p50 {statistics.median(one):.2f} s, p95 {_percentile(one, 0.95):.2f} s",
            target=f"p95 <= {P95_TARGET_S} s",
            met=_percentile(one, 0.95) <= P95_TARGET_S,
        ),
        Row(
            "Training time with 1 session classifying",
            f"{found['loaded']:.1f} s",
            f"{found['idle']:.1f} s (idle app)",
            found["loaded"] / found["idle"],
            f"<= {SLOWDOWN_TARGET}",
            found["loaded"] / found["idle"] <= SLOWDOWN_TARGET,
        ),
        Row(
            f"Classify while training, {NUM_SESSIONS} sessions x {PHOTOS_PER_SESSION} photos",
            f"p50 {statistics.median(eight):.2f} s, p95 {_percentile(eight, 0.95):.2f} s",
        ),
        Row(
            f"Training time with {NUM_SESSIONS} sessions classifying",
            f"{found['crowded']:.1f} s",
            f"{found['idle']:.1f} s (idle app)",
            found["crowded"] / found["idle"],
        ),
    ]
    notes = [
        "One app (`streamlit run app.py`, offline settings) and headless Chromium on the same "
        "machine, Chromium at nice 19: it stands in for the users' own machines. Latency = "
        "upload on the Classify page to both models' answers on screen. The one session "
        f"uploads a photo {THINK_SECONDS:.0f} s after each answer (a person reading it); the "
        f"{NUM_SESSIONS} sessions upload back to back. Each scenario first classifies one "
        "photo with the newest run, untimed: loading a run's model (about 1-2 s, once per run "
        "and process) is not a request's steady cost.",
        f"The training ({', '.join(f'{k} {v}' for k, v in TRAIN_FIELDS)}, the rest default) "
        "starts from the Train page with the feature cache emptied each time; its time is the "
        f"run's own training time, the median of {REPEATS} idle and {REPEATS} loaded runs, "
        "interleaved. A warm-up training runs first and is not counted.",
        "The training job runs at a lower CPU priority (engine/priority.py: nice 10 for its "
        "thread, the threads it starts and TensorFlow's pools), so requests get the cores first.",
    ]
    return Outcome(rows, notes=notes)


async def _demo(app: _App) -> float:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = await _open(browser, app.url)
        button = page.get_by_role("button", name="Run the demo")
        await button.wait_for()
        started = time.perf_counter()
        await button.click()
        await page.get_by_role("heading", name="Zero-shot wrong, trained model right").wait_for()
        seconds = time.perf_counter() - started
        await browser.close()
    return seconds


def run_demo(ctx: Context) -> Outcome:
    """Click to story on an app with an empty runs folder and feature cache; and on one whose
    converted-model cache is empty too (the first start on a new machine)."""
    if not CHROMIUM.exists() or not (ROOT / "app.py").is_file():
        return Outcome([Row("Demo on a cold app", f"skipped: no {CHROMIUM}")])
    rows = []
    for name, fresh_models in (("cold app", False), ("cold app and model cache", True)):
        env = {"TLAB_MODEL_CACHE": tempfile.mkdtemp(dir=ctx.workdir)} if fresh_models else None
        workdir, port, server = _serve(ctx, env)
        with server:
            app = _App(f"http://127.0.0.1:{port}", workdir / "runs")
            _wait_healthy(app.url)
            seconds = asyncio.run(_demo(app))
        met = seconds <= DEMO_TARGET_S if not fresh_models else None
        target = f"<= {DEMO_TARGET_S:.0f} s" if not fresh_models else "-"
        rows.append(Row(f"Demo click to story, {name}", f"{seconds:.1f} s", target=target, met=met))
    notes = [
        "From the click on Run the demo to the photos fine-tuning fixed, on a server just "
        "started with an empty runs folder (no run, no cached features). The model cache "
        "holds the LiteRT conversions, made once per machine and weights file; the second row "
        "empties it too, so it includes converting both models."
    ]
    return Outcome(rows, notes=notes)
