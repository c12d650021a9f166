"""The training form: one widget per TrainConfig field, its help as the tooltip, values kept
for the session (leaving the page and coming back shows what was last chosen)."""

from __future__ import annotations

import dataclasses

import streamlit as st

from engine.backbones import BACKBONES, unavailable_reason
from engine.config import CLASS_WEIGHTS, TrainConfig, help_text
from engine.errors import ConfigError
from engine.settings import Settings
from ui import session

DEFAULTS = TrainConfig()
BATCH_SIZES = (8, 16, 32, 64, 128)
INTRO = (
    "The default recipe trains a **new classifier head on the frozen MobileNetV2** (its "
    "ImageNet features are reused as they are). **Fine-tune epochs** above 0 then unfreezes the "
    "top layers of the network and trains them too, with a much lower learning rate."
)
# field -> (column, label); the widget follows from the field's type.
LAYOUT = {
    "backbone": (0, "Backbone"),
    "epochs": (0, "Epochs (new head)"),
    "fine_tune_epochs": (0, "Fine-tune epochs (0 = skip)"),
    "unfreeze_layers": (0, "Unfreeze top N base layers"),
    "batch_size": (1, "Batch size"),
    "learning_rate": (1, "Learning rate (head)"),
    "fine_tune_learning_rate": (1, "Learning rate (fine-tune)"),
    "dropout": (2, "Dropout"),
    "early_stopping_patience": (2, "Early-stopping patience (0 = off)"),
    "seed": (2, "Seed"),
    "augment": (2, "Augment photos (slower)"),
    "class_weight": (1, "Class weights"),
}


def key(name: str) -> str:
    """The widget key of a TrainConfig field."""
    return f"train_{name}"


def config_form_ui(settings: Settings) -> TrainConfig | None:
    """The form; the TrainConfig when submitted with a usable backbone, else None."""
    # Start from the values last submitted in this session, else TrainConfig's defaults: the
    # widgets themselves forget their state when the page is left.
    initial = {**dataclasses.asdict(DEFAULTS), **(session.train_values() or {})}
    reasons = {name: unavailable_reason(name, settings.backbone_weights) for name in BACKBONES}
    st.markdown(INTRO)
    with st.form("train_form"):
        columns = st.columns(3)
        values = {
            name: _widget(columns[column], name, label, initial[name], reasons)
            for name, (column, label) in LAYOUT.items()
        }
        if not st.form_submit_button("Start training", type="primary", key="train_start"):
            return None
    session.remember_train_values(values)
    if reasons[values["backbone"]]:
        st.error(
            f"{values['backbone']} cannot be used here: {reasons[values['backbone']]}. "
            "Choose an available backbone."
        )
        return None
    try:
        return TrainConfig(**values).validate()
    except ConfigError as error:
        st.error(str(error))
        return None


def _widget(column, name: str, label: str, value, reasons: dict[str, str | None]):
    """One field's widget in column, starting at value."""
    tip, widget_key = help_text(name), key(name)
    if name == "backbone":
        names = list(BACKBONES)
        return column.selectbox(
            label,
            names,
            index=names.index(value) if value in names else 0,
            format_func=lambda option: (
                option + (f" (unavailable: {reasons[option]})" if reasons[option] else "")
            ),
            key=widget_key,
            help=tip,
        )
    if name == "class_weight":
        choices = list(CLASS_WEIGHTS)
        return column.selectbox(
            label, choices, index=choices.index(value), key=widget_key, help=tip
        )
    if name == "batch_size":
        return column.select_slider(label, BATCH_SIZES, value, key=widget_key, help=tip)
    if name == "dropout":
        return column.slider(label, 0.0, 0.9, value, 0.05, key=widget_key, help=tip)
    kind = {f.name: f.type for f in dataclasses.fields(TrainConfig)}[name]
    if kind == "bool":
        return column.checkbox(label, value, key=widget_key, help=tip)
    if kind == "int":
        return column.number_input(label, 0, None, value, 1, key=widget_key, help=tip)
    step = getattr(DEFAULTS, name) / 10  # 1e-3 moves by 1e-4, 1e-5 by 1e-6
    return column.number_input(
        label, 0.0, None, value, step, format="%.1e", key=widget_key, help=tip
    )
