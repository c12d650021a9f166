"""Batch classify: both models' top-1 per photo, streamed; bad files listed; the threshold."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from engine import priority
from engine.batch.classify import BatchModels, batch_models, classify_photos
from engine.batch.photos import list_photos
from engine.data import batches
from engine.errors import ModelUnavailableError
from engine.insight.calibration import THRESHOLD, NotSure
from engine.runs import RunStore
from engine.settings import Settings
from tests.conftest import CLASS_COLORS, write_image
from tests.engine import badfiles
from tests.engine.batch.fakes import ColourModel, zero_shot
from tests.support.runs import make_run

COLOURS = tuple(sorted(CLASS_COLORS))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(runs_dir=tmp_path / "runs", uploads_dir=tmp_path / "uploads")


def colour_folder(root: Path, per_colour: int = 3) -> Path:
    for name, colour in CLASS_COLORS.items():
        for index in range(per_colour):
            write_image(root / f"{name}_{index}.png", colour, 8, seed=index)
    return root


def both(zero_shot_size: int = 8, fine_tuned_size: int = 8, **changes) -> BatchModels:
    return BatchModels(
        zero_shot(zero_shot_size), ColourModel(input_size=fine_tuned_size), **changes
    )


def test_both_models_answer_every_photo_in_name_order(tmp_path, settings):
    photos = list_photos(colour_folder(tmp_path / "in"), settings)
    models = both()

    result = classify_photos(photos, models, batch_size=4)

    assert [row.file for row in result.rows] == sorted(
        f"{c}_{i}.png" for c in COLOURS for i in (0, 1, 2)
    )
    for row in result.rows:
        colour = row.file.split("_")[0]
        assert row.fine_tuned.label == colour
        assert row.zero_shot.label == f"{colour} thing"  # never 'background', though it scores most
        assert 0.5 < row.fine_tuned.probability <= 1 and row.not_sure is None
    assert result.zero_shot and result.run_id is None and result.skipped == ()
    # Streamed: no model ever saw more than one batch at once.
    assert [shape[0] for shape in models.fine_tuned.batches] == [4, 4, 1]


def test_damaged_and_non_photo_files_are_listed_with_their_reason_and_the_rest_answered(
    tmp_path, settings
):
    root = colour_folder(tmp_path / "in", per_colour=2)
    refused = badfiles.refused_photos(root)
    (root / "notes.txt").write_text("hello")

    result = classify_photos(list_photos(root, settings), both(), batch_size=3)

    assert len(result.rows) == 6
    reasons = {item.path: item.reason for item in result.skipped}
    assert set(reasons) == {path.name for path in refused.values()} | {"notes.txt"}
    assert "empty file" in reasons["empty.jpg"]
    assert "truncated or corrupt" in reasons["truncated.jpg"]
    assert "looks like HTML/text" in reasons["page.jpg"]
    assert "megapixels" in reasons["huge.png"]
    assert "scan the folder again" not in " ".join(reasons.values())


def test_a_file_that_breaks_between_listing_and_decoding_is_listed_too(tmp_path, settings):
    root = colour_folder(tmp_path / "in", per_colour=2)
    photos = list_photos(root, settings)
    (root / "red_1.png").write_bytes(b"")

    result = classify_photos(photos, both(), batch_size=2)

    assert [row.file for row in result.rows] == [
        "blue_0.png",
        "blue_1.png",
        "green_0.png",
        "green_1.png",
        "red_0.png",
    ]
    assert [item.path for item in result.skipped] == ["red_1.png"]


def test_a_name_that_is_not_utf8_is_answered_under_a_printable_name(tmp_path, settings):
    root = colour_folder(tmp_path / "in", per_colour=1)
    if badfiles.non_utf8_name(root) is None:
        pytest.skip("this filesystem refuses names that are not UTF-8")

    result = classify_photos(list_photos(root, settings), both())

    assert "bad\ufffd.png" in [row.file for row in result.rows]
    result.to_csv().encode("utf-8")  # no lone surrogates


def test_each_model_gets_photos_at_its_own_input_size(tmp_path, settings):
    models = both(zero_shot_size=12, fine_tuned_size=8)
    classify_photos(list_photos(colour_folder(tmp_path / "in"), settings), models)
    assert {shape[1:] for shape in models.zero_shot.batches} == {(12, 12, 3)}
    assert {shape[1:] for shape in models.fine_tuned.batches} == {(8, 8, 3)}


def test_it_streams_through_decode_batches(tmp_path, settings, monkeypatch):
    calls = []
    real = batches.decode_batches

    def recording(subset, size, batch_size, max_pixels):
        calls.append((len(subset), size, batch_size))
        return real(subset, size, batch_size, max_pixels)

    monkeypatch.setattr(batches, "decode_batches", recording)
    classify_photos(list_photos(colour_folder(tmp_path / "in"), settings), both(), batch_size=5)
    assert calls == [(9, 8, 5)]


def save_run_with(store: RunStore, threshold: object | None) -> str:
    """A run whose 'threshold' document (as the Evaluate page saves it) is threshold."""
    run_id = store.save(make_run(COLOURS))
    if threshold is not None:
        store.save_extra(run_id, THRESHOLD, threshold)
    return run_id


def chosen(threshold: float, temperature: float | None = None) -> dict:
    return NotSure(threshold, temperature, coverage=0.5, accuracy=0.9).to_dict()


def test_below_the_runs_threshold_the_trained_answer_is_not_sure(tmp_path, settings):
    store = RunStore(settings.runs_dir)
    run_id = save_run_with(store, chosen(0.75))
    root = tmp_path / "in"
    write_image(root / "clear.png", (250, 0, 0), 8)
    write_image(root / "murky.png", (150, 60, 60), 8)
    models = batch_models(zero_shot, ColourModel(), store, run_id)

    result = classify_photos(list_photos(root, settings), models)

    assert models.threshold == 0.75 and result.threshold == 0.75 and result.run_id == run_id
    assert {row.file: row.not_sure for row in result.rows} == {
        "clear.png": False,
        "murky.png": True,
    }
    assert result.num_not_sure() == 1


def test_the_threshold_applies_to_calibrated_probabilities_as_on_classify(tmp_path, settings):
    # Protection: the same rule as Classify and predict (engine.insight.not_sure); a
    # temperature above 1 softens every answer, so the clear photo falls below 75% too.
    store = RunStore(settings.runs_dir)
    run_id = save_run_with(store, chosen(0.75, temperature=50.0))
    root = tmp_path / "in"
    write_image(root / "clear.png", (250, 0, 0), 8)
    result = classify_photos(
        list_photos(root, settings), batch_models(zero_shot, ColourModel(), store, run_id)
    )
    assert [row.not_sure for row in result.rows] == [True]


@pytest.mark.parametrize(
    ("document", "threshold", "note"),
    [
        (None, None, None),
        ({"format": 1}, None, "choose the threshold again"),
        ({"format": 1, "threshold": 1.5, "coverage": 1.0}, None, "out of range"),
        ([0.5], None, "choose the threshold again"),
    ],
)
def test_a_missing_or_damaged_threshold_is_a_note_never_a_crash(
    settings, document, threshold, note
):
    store = RunStore(settings.runs_dir)
    run_id = save_run_with(store, document)
    models = batch_models(zero_shot, ColourModel(), store, run_id)
    assert models.threshold == threshold
    if note is None:
        assert models.notes == ()
    else:
        [text] = models.notes
        assert note in text and "no photo is marked 'not sure'" in text


def test_an_unreadable_threshold_file_is_a_note(settings):
    store = RunStore(settings.runs_dir)
    run_id = save_run_with(store, None)
    (settings.runs_dir / run_id / f"{THRESHOLD}.json").write_text("{not json")
    [note] = batch_models(zero_shot, ColourModel(), store, run_id).notes
    assert "damaged" in note


def test_without_zero_shot_the_run_answers_alone_and_without_any_model_it_is_an_error():
    def unavailable():
        raise ModelUnavailableError("No zero-shot model; set TLAB_ZERO_SHOT_MODEL.")

    models = batch_models(unavailable, ColourModel())
    assert models.zero_shot is None and "TLAB_ZERO_SHOT_MODEL" in models.notes[0]
    with pytest.raises(ModelUnavailableError, match="TLAB_ZERO_SHOT_MODEL"):
        batch_models(unavailable, None)
    with pytest.raises(ModelUnavailableError, match="No model"):
        classify_photos(None, BatchModels(None, None))


def test_in_the_background_the_work_runs_at_low_priority_and_progress_stays_here(
    tmp_path, settings, monkeypatch
):
    photos = list_photos(colour_folder(tmp_path / "in"), settings)
    seen = []
    model = ColourModel()
    real = model.predict_proba

    def recording(images):
        seen.append((threading.get_ident(), priority.current_nice()))
        return real(images)

    monkeypatch.setattr(model, "predict_proba", recording)
    progress = []

    def on_batch(done: int, total: int) -> None:
        progress.append((threading.get_ident(), done, total))

    result = classify_photos(
        photos, BatchModels(None, model), batch_size=4, on_batch=on_batch, background=True
    )

    assert result == classify_photos(photos, BatchModels(None, ColourModel()), batch_size=4)
    here = threading.get_ident()
    assert [entry for entry in progress] == [(here, 4, 9), (here, 8, 9), (here, 9, 9)]
    assert all(thread != here for thread, _ in seen)
    if priority.supported():
        assert {nice for _, nice in seen} == {priority.BACKGROUND_NICE}


def test_a_caller_that_stops_listening_stops_the_work(tmp_path, settings):
    photos = list_photos(colour_folder(tmp_path / "in"), settings)
    model = ColourModel()

    class PageLeft(BaseException):
        """As Streamlit stops a script whose page was left (raised from st calls)."""

    def stop_at_first(done: int, total: int) -> None:
        raise PageLeft

    with pytest.raises(PageLeft):
        classify_photos(
            photos, BatchModels(None, model), batch_size=2, on_batch=stop_at_first, background=True
        )
    batches_seen = len(model.batches)
    assert batches_seen <= 3  # the one reported, at most one computed ahead and one in flight
    assert not [t for t in threading.enumerate() if t.name == "background-work"]
