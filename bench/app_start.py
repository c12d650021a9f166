"""App start: seconds from `streamlit run app.py` to health, first HTML and a zero-shot label."""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import Browser, sync_playwright

from bench.context import Context
from bench.report import Outcome, Row
from engine.images import load_array
from tests.support.paths import ROOT
from tests.support.server import (
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    streamlit_server,
    wait_until_answers,
)

CLASSIFY_PATH = "/classify"  # st.Page url_path of pages/classify.py
TIMEOUT_SECONDS = 180.0
PHOTOS_TO_TRY = 16


def _ms_left(deadline: float) -> float:
    return max(1.0, deadline - time.monotonic()) * 1000


def _show_label(browser: Browser, url: str, photo: Path, label: str, deadline: float) -> None:
    """Open the Classify page, upload photo, wait until label is on the page."""
    page = browser.new_page()
    page.goto(url, timeout=_ms_left(deadline))
    upload = page.locator("input[type=file]").first
    upload.wait_for(state="attached", timeout=_ms_left(deadline))
    upload.set_input_files(str(photo))
    pattern = re.compile(rf"\b{re.escape(label)}\b", re.IGNORECASE)
    page.get_by_text(pattern).first.wait_for(timeout=_ms_left(deadline))


def _photo_and_label(ctx: Context) -> tuple[Path, str]:
    """A test photo whose zero-shot top-1 label is no class name, so only the result shows it."""
    paths = ctx.split.test.paths[:PHOTOS_TO_TRY]
    size = ctx.zero_shot.input_size
    images = np.stack([load_array(path, size) for path in paths])
    labels = [pairs[0][0] for pairs in ctx.zero_shot.top_k(images, k=1)]
    class_names = {name.lower() for name in ctx.split.class_names}
    for path, label in zip(paths, labels, strict=True):
        if label.lower() not in class_names:
            return Path(path), label
    return Path(paths[0]), labels[0]


def run(ctx: Context) -> Outcome:
    """Time server health, first page HTML and the first zero-shot label in a real browser."""
    if not (ROOT / "app.py").is_file():
        return Outcome([Row("App start", "skipped: app.py does not exist yet")])
    photo, label = _photo_and_label(ctx)
    workdir = Path(tempfile.mkdtemp(dir=ctx.workdir))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    marks: dict[str, float] = {}
    with sync_playwright() as playwright:
        # Chromium starts before the clock: its own start-up is not the app's.
        browser = None
        if CHROMIUM.exists():
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        start = time.monotonic()
        deadline = start + TIMEOUT_SECONDS
        with streamlit_server(port, workdir):
            wait_until_answers(f"{base_url}/_stcore/health", deadline)
            marks["health"] = time.monotonic() - start
            wait_until_answers(f"{base_url}/", deadline)
            marks["html"] = time.monotonic() - start
            if browser is not None:
                _show_label(browser, base_url + CLASSIFY_PATH, photo, label, deadline)
                marks["label"] = time.monotonic() - start
                browser.close()
    rows = [
        Row("App start: /_stcore/health answers", f"{marks['health']:.1f} s"),
        Row("App start: first page HTML answers", f"{marks['html']:.1f} s"),
        Row(
            "App start: Classify page shows a zero-shot label",
            f"{marks['label']:.1f} s" if "label" in marks else "skipped: no /usr/bin/chromium",
        ),
    ]
    notes = [
        "Seconds from launching `streamlit run app.py` (headless, 127.0.0.1, free port); the "
        f"label step opens {CLASSIFY_PATH} in headless Chromium, uploads a test photo and waits "
        f"for the zero-shot top-1 label ({label!r}), so it includes loading the Hub model."
    ]
    return Outcome(rows, notes=notes)
