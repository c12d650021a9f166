"""The label review: suspected photos with their given and suggested class, and per photo
keep, move to the suggested class, move to another class, or exclude; the fixes and undo."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from engine.access import can_change
from engine.config import TrainConfig
from engine.data.archive import ZipImport
from engine.data.scan import Dataset
from engine.data.split import find_split_file, make_split
from engine.health import fixes
from engine.health.label_issues import LabelReview, Suspect, review_labels
from engine.health.places import copy_to_uploads, why_not_editable
from engine.settings import Settings
from ui import cache, session
from ui.errors import guard
from ui.image_grid import paginate
from ui.text import md

PER_PAGE = 8
COLUMNS = 4


def fix_permission_ui(dataset: Dataset, settings: Settings) -> bool:
    """Whether photos of this dataset may be moved here; says why not, and offers to copy the
    sample into the uploads (one click) when that is the reason."""
    if not can_change(settings):
        st.info("Viewer mode: suspects are shown, nothing can be moved.")
        return False
    reason = why_not_editable(dataset.root, settings)
    if reason is None:
        with guard(stop=False):
            fixes.finish_pending(dataset.root, settings)  # what a killed process left half done
        return True
    st.info(md(reason))
    sample = settings.data_dir is not None and dataset.root == settings.data_dir.resolve()
    if sample and st.button("Copy the sample into the uploads", key="review_copy"):
        with guard(), st.spinner("Copying the photos..."):
            copy = copy_to_uploads(dataset, settings)
        name = f"{dataset.root.name} (copy)"
        session.remember_import(f"copy:{copy}", name, ZipImport(copy, ()))
        session.choose_dataset(copy, find_split_file(copy))
        st.rerun()
    return False


@st.cache_data(show_spinner="Training the head 5 times to find suspects...", max_entries=8)
def _review(root: str, split_file: str, round_number: int, settings: Settings) -> LabelReview:
    # Keyed by the round, not the photos: fixes hide their suspects at once, and the next
    # round (Look again) sees the folder as it is then.
    dataset = cache.scan(Path(root), settings)
    split = make_split(dataset, TrainConfig(), Path(split_file) if split_file else None)
    return review_labels(dataset.root, split, settings)


def find_suspects_ui(
    dataset: Dataset, split_file: Path | None, settings: Settings
) -> LabelReview | None:
    """The button that looks for suspects (again); the review once asked for."""
    asked = session.review_round(dataset.root)
    st.button(
        "Look again" if asked else "Find suspected label errors",
        key="review_find",
        type="secondary" if asked else "primary",
        on_click=session.ask_review,  # before the rerun draws: the label says what comes next
        args=(dataset.root,),
    )
    if not asked:
        return None
    with guard():
        return _review(str(dataset.root), str(split_file or ""), asked, settings)


def render_suspects(review: LabelReview, root: Path, editable: bool, settings: Settings) -> None:
    """A page of suspect cards, most suspect first, with their buttons when editable."""
    decided = {fix.source for fix in _applied(root)}
    open_ = [s for s in review.suspects if s.path not in decided and (root / s.path).is_file()]
    st.caption(
        f"{len(open_)} of {len(review.suspects)} suspects left to review, among "
        f"{review.num_photos} training and validation photos (the test photos are never "
        "looked at, so nothing done here flatters the test accuracy)."
    )
    page = paginate(open_, PER_PAGE, key="review_page")
    for start in range(0, len(page), COLUMNS):
        for column, suspect in zip(
            st.columns(COLUMNS), page[start : start + COLUMNS], strict=False
        ):
            with column:
                _card(suspect, root, review.class_names, editable, settings)


def _card(
    suspect: Suspect, root: Path, classes: tuple[str, ...], editable: bool, settings: Settings
) -> None:
    with guard(stop=False):
        st.image(cache.thumbnail(root / suspect.path, settings), width="stretch")
    st.markdown(
        f"given: **{md(suspect.given)}** ({suspect.given_probability:.0%})  \n"
        f"suggested: **{md(suspect.suggested)}** ({suspect.suggested_probability:.0%})  \n"
        f"{md(suspect.path)}"
    )
    if not editable:
        return
    key = f"review_{suspect.path}"
    if st.button(f"Move to {suspect.suggested}", key=f"{key}_move", type="primary"):
        _apply(lambda: fixes.move_photo(root, suspect.path, suspect.suggested, settings))
    keep, exclude = st.columns(2)
    if keep.button("Keep", key=f"{key}_keep", help="its label is right"):
        _apply(lambda: fixes.keep_photo(root, suspect.path, settings))
    if exclude.button("Exclude", key=f"{key}_exclude", help="take it out of the dataset"):
        _apply(lambda: fixes.exclude_photo(root, suspect.path, settings))
    others = [name for name in classes if name not in (suspect.given, suspect.suggested)]
    other = st.selectbox(
        "Move to another class",
        others,
        index=None,
        placeholder="Another class...",
        key=f"{key}_other",
        label_visibility="collapsed",
    )
    if other and st.button(f"Move to {other}", key=f"{key}_other_move"):
        _apply(lambda: fixes.move_photo(root, suspect.path, other, settings))


def _apply(change) -> None:
    """Make one fix; the page then redraws without the photo (or shows why not)."""
    with guard(stop=False):
        change()
        st.rerun()


def _applied(root: Path) -> list[fixes.Fix]:
    with guard(stop=False):
        return fixes.applied_fixes(root)
    return []


def render_fixes(root: Path, editable: bool, settings: Settings) -> None:
    """The fixes in force (newest first), Undo last and Undo all."""
    applied = _applied(root)
    if not applied:
        return
    st.subheader(f"Fixes made ({len(applied)})")
    st.caption(
        "Each fix is a real file move inside the dataset folder, written to its journal "
        "(.transfer-lab-fixes.json) first; excluded photos wait in its hidden .excluded folder."
    )
    table = pd.DataFrame(
        [
            {"#": f.number, "fix": f.action, "photo": f.source, "now": f.target or f.source}
            for f in reversed(applied)
        ]
    )
    st.dataframe(table, hide_index=True, key="review_fixes")
    if not editable:
        return
    last, every = st.columns(2)
    if last.button("Undo last fix", key="review_undo", icon=":material/undo:"):
        _apply(lambda: fixes.undo_last(root, settings))
    if every.button("Undo all fixes", key="review_undo_all"):
        _apply(lambda: fixes.undo_all(root, settings))
