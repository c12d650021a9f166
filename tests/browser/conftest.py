"""Fixtures for browser tests: `streamlit run app.py` on 127.0.0.1 and headless Debian Chromium."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.paths import ROOT, SHARED_MISSING, offline_defaults, shared_present
from tests.support.server import CHROMIUM, CHROMIUM_ARGS, free_port, streamlit_server

ARTIFACTS = ROOT / "tests" / ".artifacts"
START_TIMEOUT_S = 120  # the server imports TensorFlow before it is healthy
PAGE_TIMEOUT_MS = 120_000  # a first page load also loads the models
TRAIN_TIMEOUT_S = 240


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@dataclass(frozen=True)
class AppServer:
    """A running `streamlit run app.py`: where it answers and where it keeps its runs."""

    url: str
    runs_dir: Path
    pid: int = 0  # the server process (its memory is read by the soak test)


@pytest.fixture(scope="module")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """`streamlit run app.py` on a free port with offline settings; killed at the end."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (install Debian's chromium to run browser tests)")
    if not shared_present():
        pytest.skip(SHARED_MISSING)
    folder = tmp_path_factory.mktemp("browser")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**offline_defaults(), "TF_CPP_MIN_LOG_LEVEL": "2"}
    with streamlit_server(port, folder, env) as server:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(url):
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not become healthy; see {folder / 'streamlit.log'}")
            time.sleep(0.5)
        yield AppServer(url, folder / "runs", server.pid)


@pytest.fixture(scope="module")
def app_url(app_server: AppServer) -> str:
    """The base URL of the module's app server."""
    return app_server.url


@pytest.fixture(scope="module")
def browser_page(app_url: str):
    """A Chromium page on the module's server (it has not opened any page yet)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(PAGE_TIMEOUT_MS)
        yield page
        browser.close()
