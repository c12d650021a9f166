"""The health check on the Data page (copies across the split, balance, odd photos) and the
leakage warning beside a run's accuracy."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from engine.config import TrainConfig
from engine.data.scan import Dataset
from engine.data.split import make_split
from engine.errors import ModelUnavailableError, RunNotFoundError
from engine.health.balance import balance_of
from engine.health.check import health_check
from engine.health.report import DuplicateGroup, HealthReport
from engine.runs import RunStore
from engine.schema import RecordError
from engine.settings import Settings
from ui import cache, session
from ui.errors import guard
from ui.image_grid import Card, paginate, render_grid
from ui.text import md

GROUPS_PER_PAGE = 6
ODD_PER_PAGE = 12
INTRO = (
    "Before training: are some photos copies of others (and do copies sit on both sides of "
    "the split, so the model is tested on photos it has seen)? Are some classes much bigger "
    "than others? Are some photos tiny, blank, grayscale or oddly shaped?"
)


@st.cache_data(show_spinner="Checking the photos (the first check runs the model over each)...")
def _report(
    root: str, stamp: tuple, split_file: str, settings: Settings, features: bool
) -> HealthReport:
    dataset = cache.scan(Path(root), settings)
    chosen = Path(split_file) if split_file else None
    split = make_split(dataset, TrainConfig(), chosen)
    return health_check(dataset, split, settings, chosen, with_features=features)


def health_report(dataset: Dataset, split_file: Path | None, settings: Settings) -> HealthReport:
    """The dataset's report, cached until a photo changes; copies by hashes alone (with a
    warning) when the model cannot be loaded."""
    args = (str(dataset.root), cache.folder_stamp(dataset.root), str(split_file or ""), settings)
    try:
        return _report(*args, features=True)
    except ModelUnavailableError as error:
        st.warning(f"{md(error)} Near copies were looked for by their hashes alone.")
        return _report(*args, features=False)


def render_health_check(dataset: Dataset, split_file: Path | None, settings: Settings) -> None:
    """The Data page's section: the balance warning at once, the rest on request."""
    st.subheader("Health check")
    st.caption(INTRO)
    warning = balance_of(dataset.labels, dataset.class_names).warning()
    if warning:
        st.warning(md(warning))
    if st.button("Check the photos", key="data_health_check", icon=":material/health_and_safety:"):
        session.ask_health_check(dataset.root)
    if not session.health_check_asked(dataset.root):
        return
    with guard(stop=False):
        report = health_report(dataset, split_file, settings)
        _render_summary(report, split_file)
        _render_groups(report, settings)
        _render_oddities(report, settings)


def _render_summary(report: HealthReport, split_file: Path | None) -> None:
    copies, across, leaked, odd = st.columns(4)
    copies.metric("Groups of copies", len(report.groups))
    across.metric("Groups across the split", len(report.leaks))
    leaked.metric("Test photos seen in training", report.test_photos_leaked)
    odd.metric("Odd photos", len(report.oddities))
    for warning in report.warnings():
        st.warning(md(warning))
    if not report.warnings():
        st.success("No copies across the split and no lopsided classes.")
    if report.leaks and split_file is not None:
        st.info(
            f"The split comes from {md(split_file.name)}, which is used as it is, never "
            "rewritten: put the copies of each group in one part there, or remove the file and "
            "let the engine split (it keeps copies together)."
        )
    how = "by content, by perceptual hash and by the model's features"
    if not report.features_checked:
        how = "by content and perceptual hash only"
    st.caption(
        f"Copies found {how}; split: {md(report.split_source)}. " + md(" ".join(report.notes))
    )


def _render_groups(report: HealthReport, settings: Settings) -> None:
    if not report.groups:
        return
    st.markdown("**Copies** (groups that cross the split first)")
    st.caption(
        "Each row is one picture saved more than once, with the part of the split of each copy."
    )
    for group in paginate(report.groups, GROUPS_PER_PAGE, key="data_health_groups"):
        st.markdown(_group_title(group))
        cards = [
            _card(report, p.path, (f"{p.label} · {p.part or 'not in the split'}",))
            for p in group.photos
        ]
        render_grid(cards, settings, 6)


def _group_title(group: DuplicateGroup) -> str:
    kind = "Exact copies" if group.kind == "exact" else "Near copies"
    parts = ", ".join(sorted({photo.part or "not in the split" for photo in group.photos}))
    text = f"**{kind}** · {len(group.photos)} photos · {parts}"
    if group.test_photos_leaked:
        text += f" · :red[{group.test_photos_leaked} test photo(s) seen in training]"
    if group.labels_disagree:
        text += " · :orange[filed under different classes]"
    return text


def _render_oddities(report: HealthReport, settings: Settings) -> None:
    if not report.oddities:
        return
    st.markdown(f"**Odd photos** ({len(report.oddities)}): worth a look, they stay in the dataset")
    page = paginate(report.oddities, ODD_PER_PAGE, key="data_health_odd")
    render_grid([_card(report, o.photo.path, o.reasons) for o in page], settings, 6)


def _card(report: HealthReport, path: str, lines: tuple[str, ...]) -> Card:
    return Card(str(Path(report.root) / path), (md(path), *(md(line) for line in lines)))


def render_run_health(store: RunStore, run_id: str) -> None:
    """Beside a run's accuracy: how many of its test photos have a copy it trained on."""
    try:
        saved = store.load_extra(run_id, "health")
        report = None if saved is None else HealthReport.from_dict(saved)
    except (RecordError, RunNotFoundError) as error:  # a damaged health.json: the page goes on
        st.caption(f"The run's health record cannot be read ({md(error)}).")
        return
    if report is not None and report.test_photos_leaked:
        st.warning(
            f"{report.test_photos_leaked} of this run's test photos have an exact or "
            "near-identical copy among its training photos, so its accuracy is too optimistic. "
            "The health check on the Data page lists them."
        )
