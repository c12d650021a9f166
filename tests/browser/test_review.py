"""Review labels in the real app: copy the sample into the uploads, move the top suspect to
its suggested class, then undo; the photo is back byte for byte."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.integration]
REVIEW_TIMEOUT_MS = 300_000


def test_review_one_suspect_and_undo_it(app_server, browser_page):
    page = browser_page
    uploads = app_server.runs_dir.parent / "uploads"
    page.goto(f"{app_server.url}/review")
    page.get_by_role("button", name="Copy the sample into the uploads").click()
    page.get_by_text("uploads/flowers-copy-").wait_for()  # the copy is the dataset now
    settled(page)
    page.get_by_role("button", name="Find suspected label errors").click()
    move = page.get_by_role("button", name="Move to ").first
    # The first look runs MobileNetV2 over the 800 training photos (cold feature cache).
    move.wait_for(timeout=REVIEW_TIMEOUT_MS)
    page.screenshot(path=ARTIFACTS / "review_suspects.png", full_page=True)
    [copy] = [folder for folder in uploads.iterdir() if folder.name.startswith("flowers-copy-")]
    photos = {path: path.read_bytes() for path in copy.glob("*/*.jpg")}
    suggested = move.inner_text().removeprefix("Move to ").strip()

    settled(page)
    move.click()
    page.get_by_text("Fixes made (1)").wait_for()
    page.screenshot(path=ARTIFACTS / "review_moved.png", full_page=True)
    moved = [path for path in photos if not path.exists()]
    assert len(moved) == 1 and (copy / suggested / moved[0].name).is_file()

    settled(page)
    page.get_by_role("button", name="Undo last fix").click()
    page.get_by_text("Fixes made").wait_for(state="detached")
    page.screenshot(path=ARTIFACTS / "review_undone.png", full_page=True)
    assert {path: path.read_bytes() for path in copy.glob("*/*.jpg")} == photos


def settled(page) -> None:
    """Wait until the script run that drew the page has ended: a click while it still runs
    can be lost when the rerun it asks for replaces the run in progress."""
    page.get_by_text("Retrain with the fixes").wait_for()
    page.locator("[data-testid=stStatusWidget]").wait_for(state="detached")
