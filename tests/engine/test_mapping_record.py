"""Tests for engine.mapping_record: the mapping a run used, with reasons, saved beside the run."""

from __future__ import annotations

import dataclasses
import json

import pytest

from engine import experiment
from engine.config import TrainConfig
from engine.errors import RunNotFoundError
from engine.mapping import auto_mapping
from engine.mapping_record import (
    DOCUMENT,
    MappingRecord,
    load_mapping_record,
    mapping_record,
    named_accuracy,
)
from engine.runs import RunStore
from engine.schema import RecordError
from engine.settings import Settings
from tests.engine.test_experiment import CLASSES, Fakes
from tests.support.runs import make_run, prediction

# Index 282 is 'tabby' in the 1001-line file, so the real WordNet data explains 'cat'.
LABELS = ("background",) + tuple(
    "tabby, tabby cat" if i == 282 else f"thing {i}" for i in range(1, 1001)
)


def cat_dog_result():
    run = make_run(
        CLASSES,
        [prediction("cat", zero_shot="cat"), prediction("dog", zero_shot="")],
    )
    return dataclasses.replace(run.zero_shot, mapping={"cat": [282], "dog": []})


def test_a_record_says_which_labels_each_class_has_and_why():
    record = mapping_record(cat_dog_result(), LABELS, edited=False)
    assert record.source == "automatic"
    assert record.classes["cat"].labels == ("tabby",) and record.classes["cat"].indices == (282,)
    assert record.classes["dog"].indices == () and record.classes["dog"].rule == "edited"
    assert record.named_classes == ("cat",) and record.named_accuracy == 1.0


def test_a_record_round_trips_through_strict_json():
    record = mapping_record(cat_dog_result(), LABELS, edited=True)
    data = json.loads(json.dumps(record.to_dict(), allow_nan=False))
    assert data["format"] == 1 and data["classes"]["cat"]["rule"]
    assert MappingRecord.from_dict(data) == record


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("classes"), "lacks 'classes'"),
        (lambda d: d.update(source="guessed"), "source"),
        (lambda d: d.update(format=99), "newer version"),
        (lambda d: d["classes"]["cat"].update(indices=[5000]), "not an ImageNet label index"),
        (lambda d: d["classes"]["cat"].update(labels=[]), "differ in length"),
        (lambda d: d["classes"]["cat"].update(rule=3), "'rule'"),
    ],
)
def test_a_damaged_record_names_what_is_wrong(change, message):
    data = mapping_record(cat_dog_result(), LABELS, edited=False).to_dict()
    change(data)
    with pytest.raises(RecordError, match=message):
        MappingRecord.from_dict(data)


def test_runs_saved_before_the_record_still_give_their_named_accuracy(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.save(
        make_run(CLASSES, [prediction("cat", zero_shot="cat"), prediction("dog", zero_shot="")])
    )
    assert load_mapping_record(store, run_id) is None
    assert named_accuracy(store, run_id) == 1.0  # from metrics.json: cat is named, dog is not


def test_a_damaged_record_falls_back_to_the_runs_metrics(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.save(make_run(CLASSES, [prediction("cat", zero_shot="cat")] * 2))
    store.save_extra(run_id, DOCUMENT, {"format": 1})
    with pytest.raises(RunNotFoundError, match="zero_shot_mapping.json is damaged .*lacks"):
        load_mapping_record(store, run_id)
    assert named_accuracy(store, run_id) == 1.0
    with pytest.raises(RunNotFoundError):
        named_accuracy(store, "nope")


def test_an_experiment_saves_its_mapping_with_the_reasons(tmp_path, monkeypatch):
    fakes = Fakes(tmp_path / "pets")
    automatic = dataclasses.replace(fakes.report.result, mapping=auto_mapping(CLASSES, LABELS))
    fakes.report = dataclasses.replace(fakes.report, result=automatic, labels=LABELS)
    fakes.install(monkeypatch)
    settings = Settings(runs_dir=tmp_path / "runs")

    info = experiment.run_experiment("pets", TrainConfig(), settings, zero_shot=lambda: "hub")

    record = load_mapping_record(RunStore(settings.runs_dir), info.run_id)
    assert record.source == "automatic"
    assert record.classes["cat"].labels[0] == "tabby"
    assert record.classes["cat"].rule == "group"  # 'cat' is a group ImageNet splits
    assert "tabby" in record.classes["cat"].why
    assert len(record.classes["dog"].indices) == 118  # every breed
    assert record.named_accuracy == 0.5  # the fake baseline got the cat right, the dog wrong
