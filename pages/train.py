"""Train: a config form starts a background fine-tuning; live progress, curves and Cancel."""

import streamlit as st

from engine.backbones import BACKBONES
from engine.config import TrainConfig
from engine.errors import JobBusyError
from ui import cache, models, session
from ui.errors import guard
from ui.progress import render_job_progress
from ui.setup import page_setup, require_dataset

DEFAULTS = TrainConfig()
BATCH_SIZES = (8, 16, 32, 64, 128)


def config_form_ui() -> TrainConfig | None:
    """The training form; the TrainConfig when submitted, else None."""
    with st.form("train_form"):
        left, middle, right = st.columns(3)
        names = list(BACKBONES)
        # Keys are TrainConfig fields; defaults come from TrainConfig so the form never drifts.
        values = {
            "backbone": left.selectbox(
                "Backbone", names, index=names.index(DEFAULTS.backbone), key="train_backbone"
            ),
            "epochs": left.number_input(
                "Epochs (new head)", 1, 500, DEFAULTS.epochs, key="train_epochs"
            ),
            "fine_tune_epochs": left.number_input(
                "Fine-tune epochs (0 = skip)",
                0,
                500,
                DEFAULTS.fine_tune_epochs,
                key="train_ft_epochs",
            ),
            "unfreeze_layers": left.number_input(
                "Unfreeze top N base layers", 0, 500, DEFAULTS.unfreeze_layers, key="train_unfreeze"
            ),
            "batch_size": middle.select_slider(
                "Batch size", BATCH_SIZES, value=DEFAULTS.batch_size, key="train_batch_size"
            ),
            "learning_rate": middle.number_input(
                "Learning rate (head)",
                value=DEFAULTS.learning_rate,
                step=1e-4,
                format="%.1e",
                key="train_lr",
            ),
            "fine_tune_learning_rate": middle.number_input(
                "Learning rate (fine-tune)",
                value=DEFAULTS.fine_tune_learning_rate,
                step=1e-6,
                format="%.1e",
                key="train_ft_lr",
            ),
            "dropout": right.slider(
                "Dropout", 0.0, 0.9, DEFAULTS.dropout, 0.05, key="train_dropout"
            ),
            "early_stopping_patience": right.number_input(
                "Early-stopping patience (0 = off)",
                0,
                100,
                DEFAULTS.early_stopping_patience,
                key="train_patience",
            ),
            "seed": right.number_input("Seed", 0, 2**31 - 1, DEFAULTS.seed, key="train_seed"),
            "augment": right.checkbox(
                "Augment photos (slower: no cached features)", DEFAULTS.augment, key="train_augment"
            ),
        }
        if not st.form_submit_button("Start training", type="primary", key="train_start"):
            return None
    return TrainConfig(**values)


settings = page_setup("Train")
data_dir, split_file = require_dataset()
mapping = session.mapping(data_dir)
st.caption(
    f"Dataset `{data_dir}` · split: {f'`{split_file.name}`' if split_file else 'random (seeded)'}"
    f" · zero-shot mapping: {'edited' if mapping else 'automatic'}"
)
manager = cache.get_job_manager(settings)
config = config_form_ui()
if config is not None:
    with guard(stop=False):
        try:
            models.start_training(settings, data_dir, config, split_file, mapping)
        except JobBusyError:
            st.warning("A job is running: wait for it to finish, or cancel it below.")
render_job_progress(manager, key="train")
