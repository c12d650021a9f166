"""The Insight page (curve, feature map) and the heatmap pairs on Evaluate and Classify."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from engine.insight import curve as curve_doc
from engine.insight import projection as projection_doc
from engine.insight.curve import CurvePoint, LabelCurve
from engine.insight.heatmaps import Heatmap, HeatmapPair
from engine.insight.projection import FeatureMap, MapPoint
from engine.runs import RunStore
from tests.app.conftest import CLASSES, AppEnv, png_bytes, save_fake_run
from tests.app.test_pages import button, texts
from ui import models
from ui.feature_map import feature_map_figure, selected_point
from ui.label_curve import label_curve_figure

CURVE = LabelCurve(
    points=(
        CurvePoint(1, (0.5, 0.4, 0.6)),
        CurvePoint(5, (0.7, 0.72, 0.74)),
        CurvePoint(10, (0.9,), all_photos=True),
    ),
    zero_shot_accuracy=0.33,
    run_accuracy=0.92,
    num_test=36,
    seeds=(0, 1, 2),
    seconds=0.4,
)


def planted_map(app_env: AppEnv) -> FeatureMap:
    """Every test photo of the colour dataset, classes apart; the first blue photo wrong."""
    paths = sorted(app_env.data_dir.glob("*/*.png"))
    points = tuple(
        MapPoint(
            str(path),
            path.parent.name,
            "green" if i == 0 else path.parent.name,
            "tabby cat",
            float(CLASSES.index(path.parent.name)) + 0.01 * i,
            float(i % 3),
        )
        for i, path in enumerate(paths)
    )
    return FeatureMap(CLASSES, points, (0.4, 0.2), 0.95)


@pytest.fixture
def computed(app_env: AppEnv) -> list[tuple[str, str]]:
    """Fake compute_curve / compute_projection: save planted documents, record the calls."""
    calls: list[tuple[str, str]] = []

    def compute(name: str, document):
        def run(settings, run_id, on_progress=None):
            calls.append((name, run_id))
            if on_progress is not None:
                on_progress(0.5, "Halfway")
            RunStore(app_env.runs_dir).save_extra(run_id, name, document.to_dict())
            return document

        return run

    app_env.monkeypatch.setattr(models, "compute_curve", compute(curve_doc.NAME, CURVE))
    app_env.monkeypatch.setattr(
        models, "compute_projection", compute(projection_doc.NAME, planted_map(app_env))
    )
    return calls


def charts(at: AppTest) -> list:
    """The plotly charts on the page (AppTest has no typed accessor for them)."""
    return list(at.get("plotly_chart"))


def test_insight_without_a_run_says_to_train_first(app_env: AppEnv):
    at = app_env.page("insight")
    assert not at.exception
    assert "train one first" in texts(at, "info")


def test_insight_computes_the_curve_and_the_map_with_progress(app_env: AppEnv, computed):
    run_id = save_fake_run(app_env.runs_dir, app_env.data_dir)
    at = app_env.page("insight")
    assert not at.exception and not charts(at)
    assert button(at, "insight_curve_compute").label == "Compute the curve"

    button(at, "insight_curve_compute").click().run()
    assert not at.exception and computed == [("curve", run_id)]
    assert len(charts(at)) == 1
    assert "From 5 to 10 photos per class accuracy rose 18.0 points" in texts(at, "markdown")

    button(at, "insight_map_compute").click().run()
    assert not at.exception and computed[-1] == ("projection", run_id)
    assert len(charts(at)) == 2  # both saved now: the curve is read back, not recomputed
    assert "training only a new head is enough" in texts(at, "markdown")
    assert button(at, "insight_curve_compute").label == "Compute the curve again"


def test_insight_draws_saved_documents_and_the_clicked_photo(app_env: AppEnv, computed):
    run_id = save_fake_run(app_env.runs_dir, app_env.data_dir)
    store = RunStore(app_env.runs_dir)
    store.save_extra(run_id, curve_doc.NAME, CURVE.to_dict())
    store.save_extra(run_id, projection_doc.NAME, planted_map(app_env).to_dict())
    at = app_env.page("insight")
    assert not at.exception and computed == [] and len(charts(at)) == 2
    assert "Click a dot" in texts(at, "caption")

    # A click on the first (wrong) photo, as the browser reports it.
    event = {"points": [{"customdata": 0}], "point_indices": [0], "box": [], "lasso": []}
    at.session_state[f"insight_map_{run_id}"] = {"selection": event}
    at.run()
    assert not at.exception
    shown = texts(at, "markdown")
    assert "true: **blue**" in shown and "trained: :red[✗ green]" in shown
    assert "zero-shot: tabby cat" in shown
    assert len(at.get("image")) == 1  # the photo beside the map


def test_insight_names_a_damaged_document_and_still_offers_to_compute(app_env: AppEnv):
    run_id = save_fake_run(app_env.runs_dir, app_env.data_dir)
    damaged = {**CURVE.to_dict(), "num_test": "many"}
    RunStore(app_env.runs_dir).save_extra(run_id, curve_doc.NAME, damaged)
    at = app_env.page("insight")
    assert not at.exception
    assert "The saved curve of this run cannot be read" in texts(at, "warning")
    assert "'num_test' is the text 'many'" in texts(at, "warning")
    assert button(at, "insight_curve_compute").label == "Compute the curve"


def test_insight_in_viewer_mode_shows_saved_documents_without_compute_buttons(app_env: AppEnv):
    run_id = save_fake_run(app_env.runs_dir, app_env.data_dir)
    RunStore(app_env.runs_dir).save_extra(run_id, curve_doc.NAME, CURVE.to_dict())
    app_env.monkeypatch.setenv("TLAB_MODE", "viewer")
    at = app_env.page("insight")
    assert not at.exception
    assert not [b for b in at.button if b.key.startswith("insight_")]
    assert len(charts(at)) == 1
    assert "No feature map has been computed for this run yet" in texts(at, "info")


def fake_pair(calls: list):
    """A models.heatmap_pair stand-in: the zero-shot side missing, the trained side planted."""

    def heatmap_pair(settings, run_id, photo):
        calls.append((run_id, photo))
        cam = np.zeros((7, 7), np.float32)
        cam[1, 5] = 1.0
        return HeatmapPair(
            np.full((48, 64, 3), 120, np.uint8),
            None,
            Heatmap("red", 0.93, cam),
            zero_shot_error="No Keras copy here: set TLAB_ZERO_SHOT_KERAS_WEIGHTS.",
        )

    return heatmap_pair


def test_evaluate_card_opens_both_heatmaps(app_env: AppEnv):
    run_id = save_fake_run(app_env.runs_dir, app_env.data_dir)
    calls: list = []
    app_env.monkeypatch.setattr(models, "heatmap_pair", fake_pair(calls))
    at = app_env.page("evaluate")
    looks = [b for b in at.button if b.key.startswith("gallery_look_")]
    assert len(looks) == 24  # one per card on the page
    looks[0].click().run()
    assert not at.exception
    first_photo = str(sorted(app_env.data_dir.glob("*/*.png"))[0])
    assert calls == [(run_id, first_photo)]
    shown = texts(at, "markdown")
    assert "Zero-shot (ImageNet): not available" in shown
    assert "Trained on your classes: red (93%)" in shown
    assert "TLAB_ZERO_SHOT_KERAS_WEIGHTS" in texts(at, "info")  # says which setting fixes it
    assert "Warmer colours" in texts(at, "caption")
    assert len(at.get("image")) == 24 + 2  # the cards, then the photo on each side


def test_classify_shows_where_each_model_looks_in_the_uploaded_photo(app_env: AppEnv):
    run_id = save_fake_run(app_env.runs_dir, app_env.data_dir)
    calls: list = []
    app_env.monkeypatch.setattr(models, "heatmap_pair", fake_pair(calls))
    at = app_env.page("classify")
    photo = png_bytes((230, 20, 20))
    at.file_uploader(key="classify_upload").set_value(("red.png", photo, "image/png"))
    at.run()
    assert calls == []  # heatmaps only when asked for
    at.toggle(key="classify_heatmaps").set_value(True).run()
    assert not at.exception
    assert calls == [(run_id, photo)]
    assert "Trained on your classes: red (93%)" in texts(at, "markdown")


def test_curve_figure_puts_zero_shot_at_zero_and_the_run_at_all():
    figure = label_curve_figure(CURVE)
    names = {trace.name: trace for trace in figure.data if trace.name}
    assert list(names["zero-shot ImageNet model (no photos)"].x) == ["0 (zero-shot)"]
    assert list(names["this run's trained model"].x) == ["all (10)"]
    heads = names["new head on that many photos (mean of 3 draws)"]
    assert list(heads.x) == ["1", "5", "all (10)"]
    assert heads.error_y.arrayminus[0] == pytest.approx(0.1)  # down to the worst draw
    assert figure.layout.xaxis.type == "category"


def test_feature_map_figure_rings_mistakes_and_shows_names_as_plain_text(app_env: AppEnv):
    planted = planted_map(app_env)
    tricky = MapPoint("/x.png", "blue", "blue", "<b>bold</b>", 0.0, 0.0)
    figure = feature_map_figure(FeatureMap(CLASSES, (*planted.points, tricky), (0.4, 0.2), 0.9))
    ring = next(trace for trace in figure.data if trace.name == "trained model wrong")
    assert list(ring.customdata) == [0] and ring.marker.symbol == "circle-open"
    assert "&lt;b&gt;bold&lt;/b&gt;" in figure.data[0].text[-1]
    assert selected_point({"selection": {"points": [{"customdata": [7]}]}}) == 7
    assert selected_point({"selection": {"points": []}}) is None
