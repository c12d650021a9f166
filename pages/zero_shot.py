"""Zero-shot: what the ImageNet MobileNetV2 says about the test photos, and the class mapping."""

import streamlit as st

from engine.access import can_change
from engine.config import TrainConfig
from engine.data.split import make_split
from engine.mapping import auto_mapping, edit_mapping, explain_edited
from ui import cache, models, session
from ui.errors import guard
from ui.image_grid import Card, mark, paginate, render_grid
from ui.mapping import mapping_editor, render_suggestions
from ui.setup import page_setup, require_dataset
from ui.tables import percent
from ui.text import md

PER_PAGE = 12
TOP_K = 3
EDITOR = "zero_shot_map"

settings = page_setup("Zero-shot ImageNet baseline")
data_dir, split_file = require_dataset()
with guard():
    classifier = models.load_zero_shot(settings)
    dataset = cache.scan(data_dir, settings)
    # The split a training with the default settings makes: its test photos are scored here.
    split = make_split(dataset, TrainConfig(), split_file)
test, class_names, labels = split.test, split.class_names, classifier.class_names

st.subheader("Which ImageNet labels count as each class")
editable = can_change(settings)
st.caption(
    "Chosen automatically from the class names; each row says why. "
    + (
        "Edit a row if it is wrong: trainings on this dataset use your mapping."
        if editable
        else "This app is in viewer mode, so the mapping cannot be edited here."
    )
)
automatic = auto_mapping(class_names, labels)
current = session.mapping(data_dir) or automatic
reasons = explain_edited(current, class_names, labels)
mapping = mapping_editor(class_names, labels, current, EDITOR, reasons, editable)
if editable:
    with guard():
        mapping = edit_mapping(settings, mapping, class_names, len(labels))
    session.save_mapping(data_dir, None if mapping == automatic else mapping)
    render_suggestions(data_dir, mapping, labels, EDITOR)

with guard():
    report = models.zero_shot_report(settings, test, class_names, mapping)
named = report.result.named_classes
left, middle, right = st.columns(3)
left.metric("Zero-shot accuracy on the test photos", percent(report.accuracy), border=True)
middle.metric(
    f"On the {len(named)} {'class' if len(named) == 1 else 'classes'} ImageNet can name",
    percent(report.result.named_accuracy),
    border=True,
)
right.metric("Test photos", len(test), border=True)
st.caption(
    "The middle figure leaves out photos of classes ImageNet has no label for, so it shows how "
    "often the model names a class it knows correctly."
)
if report.unmapped_classes:
    st.warning(
        "No ImageNet label is mapped to: "
        + ", ".join(md(name) for name in report.unmapped_classes)
        + ". Their photos always count as wrong; add labels in the table above."
    )

st.subheader("Test photos: ImageNet top guesses")
indices = paginate(range(len(test)), PER_PAGE, key="zero_shot_page")
paths = tuple(str(test.paths[i]) for i in indices)
with guard():
    guesses = models.zero_shot_top_k(settings, paths, TOP_K)
cards = []
for index, path, pairs in zip(indices, paths, guesses, strict=True):
    correct = report.predicted[index] == test.labels[index]
    (label, prob), *others = pairs
    lines = [
        mark(f"{label} ({prob:.0%})", correct),
        f"true: **{md(class_names[test.labels[index]])}**",
        "also: " + ", ".join(f"{other} {p:.0%}" for other, p in others),
    ]
    cards.append(Card(path, tuple(lines), correct))
render_grid(cards, settings)
