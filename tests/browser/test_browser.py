"""The real app in headless Chromium, as a new user goes through it: a cold deep link, an
upload kept across pages, a photo classified, a short training whose form values stay put."""

from __future__ import annotations

import re
import time
import zipfile

import pytest

from tests.browser.conftest import ARTIFACTS, TRAIN_TIMEOUT_S
from tests.support.paths import FLOWERS
from ui import navigation

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def go(page, label: str) -> None:
    """Open a page through the app's own menu in the sidebar."""
    page.get_by_role("link", name=label, exact=True).click()


def test_a_cold_deep_link_shows_the_apps_own_menu(app_url: str, browser_page):
    # Protection: Streamlit's automatic menu is off and every page draws the app's own links;
    # before, /data opened first on a fresh server listed the raw pages/ folder.
    page = browser_page
    page.goto(f"{app_url}/data")
    page.get_by_text("Photos per class").first.wait_for()
    page.screenshot(path=ARTIFACTS / "deep_link_data.png", full_page=True)
    assert page.locator("[data-testid=stSidebarNav]").count() == 0
    assert page.locator("[data-testid=stPageLink]").count() == len(navigation.PAGES)


def test_an_uploaded_dataset_stays_chosen_across_pages(app_url: str, browser_page, tmp_path):
    # Protection: the Data page's defaults follow the dataset already chosen; widgets forget
    # their state when a page is left, and the page used to fall back to the sample.
    photos = sorted(FLOWERS.glob("daisy/*.jpg"))[:5] + sorted(FLOWERS.glob("roses/*.jpg"))[:5]
    archive = tmp_path / "two-flowers.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for photo in photos:
            bundle.write(photo, f"{photo.parent.name}/{photo.name}")
    page = browser_page
    page.goto(f"{app_url}/data")
    page.get_by_text("Upload a .zip").click()
    page.locator("input[type=file]").set_input_files(str(archive))
    page.get_by_text("10 photos in 2 classes").wait_for()

    go(page, "Zero-shot")
    page.get_by_text("Which ImageNet labels count").wait_for()
    go(page, "Data")
    page.get_by_text("10 photos in 2 classes").wait_for()
    page.screenshot(path=ARTIFACTS / "data_upload_kept.png", full_page=True)
    assert "two-flowers.zip" in page.inner_text("body")
    page.get_by_text("Sample folder").click()  # back to the sample for the next tests
    page.get_by_text("1000 photos in 5 classes").wait_for()


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


def test_training_shows_moving_progress_keeps_its_form_and_finishes(app_url: str, browser_page):
    page = browser_page
    page.goto(f"{app_url}/train")
    epochs = page.get_by_label("Epochs (new head)", exact=True)
    epochs.fill("3")
    epochs.press("Tab")
    page.get_by_role("button", name="Start training").click()
    page.locator("[data-testid=stProgress]").first.wait_for()
    page.screenshot(path=ARTIFACTS / "train_started.png", full_page=True)
    go(page, "Runs")
    page.get_by_role("heading", name="Runs").wait_for()
    go(page, "Train")
    kept = page.get_by_label("Epochs (new head)", exact=True)
    kept.wait_for()
    assert kept.input_value() == "3", "the form shows what the running job trains with"
    assert "up to 3 head epochs" in page.inner_text("body")

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


def test_the_flip_board_opens_its_photos(app_url: str, browser_page):
    # Uses the run the training test above saved: a box of the 2x2 table shows its photos,
    # each with the trained model's loss, worst first.
    page = browser_page
    page.goto(f"{app_url}/evaluate")
    page.get_by_role("heading", name="What training fixed, and what it broke").wait_for()
    page.get_by_role("button", name=re.compile(r"^Both right: [1-9]")).click()
    page.get_by_text("the trained model's highest loss").wait_for()
    page.get_by_text(re.compile(r"loss \d+\.\d\d")).first.wait_for()
    page.screenshot(path=ARTIFACTS / "flip_board.png", full_page=True)
    shown = [float(loss) for loss in re.findall(r"loss (\d+\.\d\d)", page.inner_text("body"))]
    assert shown and shown == sorted(shown, reverse=True), "highest loss first"


def test_a_test_photo_opens_where_each_model_looks(app_url: str, browser_page):
    # Uses the run the training test above leaves: the Evaluate grid shows its test photos.
    page = browser_page
    page.goto(f"{app_url}/evaluate")
    no_run = page.get_by_text("No finished training run yet")
    no_run.or_(page.get_by_text("Test photos")).first.wait_for()
    if no_run.count():
        pytest.skip("needs the run trained by the training test of this module")
    page.get_by_role("button", name="Where each model looks").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Warmer colours").wait_for()
    dialog.locator("img").nth(1).wait_for()
    page.screenshot(path=ARTIFACTS / "heatmap_pair.png")
    shown = dialog.inner_text()
    assert "Zero-shot (ImageNet):" in shown and "Trained on your classes:" in shown
    assert "not available" not in shown, "both models' heatmaps, the zero-shot twin included"
    assert dialog.locator("img").count() == 2
