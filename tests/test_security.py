"""Security checks across the project: no unsafe deserialisation, Keras safe mode, exports
confined to the run folder, allowed data roots, pixel limits and the Streamlit server config.

Each test names, in a comment, the protection it checks; it fails when that protection is removed.
"""

from __future__ import annotations

import ast
import dataclasses
import os
import tomllib
from pathlib import Path

import keras
import pytest

from engine import images
from engine.classifiers import FineTunedClassifier, load_run_classifier
from engine.data.paths import resolve_user_path
from engine.data.scan import scan_dataset
from engine.errors import ImageError, ModelUnavailableError, PathNotAllowedError
from engine.export import export
from engine.runs import EXPORT_FORMATS, RunStore
from engine.settings import Settings
from tests.conftest import write_image
from tests.engine import badfiles
from tests.support.photo_run import save_photo_run, write_photos
from tests.support.runs import make_run

ROOT = Path(__file__).resolve().parents[1]
STREAMLIT_CONFIG = ROOT / ".streamlit" / "config.toml"

# --- no unsafe deserialisation or dynamic code in the app and engine ----------------------------

DESERIALISERS = {"pickle", "_pickle", "cPickle", "cloudpickle", "dill", "joblib", "shelve", "torch"}
PLANTED = """
import pickle
from joblib import load
import numpy as np
data = pickle.load(open("x", "rb"))
arrays = np.load("x.npy", allow_pickle=True)
weights = torch.load("x.pt")
eval("1 + 1")
exec("y = 2")
model = keras.saving.load_model("m.keras", safe_mode=False)
keras.config.enable_unsafe_deserialization()
"""


def scanned_files() -> list[Path]:
    """Every Python file of the app and the engine (what runs with user data)."""
    files = [ROOT / "app.py"] if (ROOT / "app.py").is_file() else []
    for folder in ("engine", "pages", "ui"):
        files += sorted((ROOT / folder).rglob("*.py"))
    return files


def unsafe_uses(source: str) -> list[str]:
    """What in source can run code hidden in data: unpickling imports and loads, eval/exec,
    np.load(allow_pickle=True), Keras with safe mode off."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [
                f"import {a.name}" for a in node.names if a.name.split(".")[0] in DESERIALISERS
            ]
        elif (
            isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in DESERIALISERS
        ):
            found.append(f"from {node.module} import")
        elif isinstance(node, ast.Call):
            found += _unsafe_call(node)
    return found


def _unsafe_call(call: ast.Call) -> list[str]:
    function = call.func
    name = function.id if isinstance(function, ast.Name) else getattr(function, "attr", "")
    owner = function.value if isinstance(function, ast.Attribute) else None
    found = []
    if isinstance(function, ast.Name) and name in ("eval", "exec"):
        found.append(f"{name}()")
    if isinstance(owner, ast.Name) and owner.id in DESERIALISERS and name.startswith("load"):
        found.append(f"{owner.id}.{name}()")
    if name == "enable_unsafe_deserialization":
        found.append(f"{name}()")
    for keyword in call.keywords:
        value = keyword.value.value if isinstance(keyword.value, ast.Constant) else None
        if (keyword.arg, value) in (("allow_pickle", True), ("safe_mode", False)):
            found.append(f"{name}({keyword.arg}={value})")
    return found


def test_the_scanner_finds_every_kind_of_unsafe_use():
    assert unsafe_uses(PLANTED) == [
        "import pickle",
        "from joblib import",
        "pickle.load()",
        "load(allow_pickle=True)",
        "torch.load()",
        "eval()",
        "exec()",
        "load_model(safe_mode=False)",
        "enable_unsafe_deserialization()",
    ]


def test_no_unsafe_deserialisation_or_dynamic_code_in_the_app_and_engine():
    # Protection: nothing that handles user data can run code hidden in a file (no pickle,
    # joblib, torch.load, allow_pickle, eval/exec, Keras unsafe deserialisation).
    files = scanned_files()
    assert ROOT / "engine" / "runs.py" in files
    problems = {
        str(path.relative_to(ROOT)): found
        for path in files
        if (found := unsafe_uses(path.read_text(encoding="utf-8")))
    }
    assert problems == {}


# --- Keras safe mode --------------------------------------------------------------------------


def test_a_saved_model_carrying_python_code_is_refused(tmp_path, monkeypatch):
    # Protection: load_run_classifier loads with keras safe_mode=True, so a model.keras whose
    # Lambda layer holds Python bytecode is refused instead of run. The lambda touches a marker
    # file when executed, which shows that unsafe loading would have run it.
    marker = tmp_path / "code-ran"
    monkeypatch.setenv("TLAB_TEST_MARKER", str(marker))
    inputs = keras.Input((4, 4, 3))
    x = keras.layers.Lambda(
        lambda t: (
            __import__("pathlib").Path(__import__("os").environ["TLAB_TEST_MARKER"]).touch() or t
        )
    )(inputs)
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(x))
    store = RunStore(tmp_path / "runs")
    classifier = FineTunedClassifier(keras.Model(inputs, outputs), ("a", "b"), 4)
    run_id = store.save(make_run(("a", "b")), classifier)
    marker.unlink(missing_ok=True)  # building and saving the model ran the lambda

    with pytest.raises(ModelUnavailableError, match="cannot be loaded.*Lambda"):
        load_run_classifier(store, run_id)
    assert not marker.exists()

    keras.saving.load_model(store.root / run_id / "model.keras", safe_mode=False)
    assert marker.exists(), "the planted code runs as soon as safe mode is off"


# --- exports ----------------------------------------------------------------------------------


def files_under(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()}


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")
def test_exports_are_written_only_inside_their_run_folder(tmp_path, monkeypatch):
    # Protection: export writes into <run>/export/ (temp work folder included);
    # a relative path or the runs root would show up here, as the working directory is tmp_path.
    monkeypatch.chdir(tmp_path)
    store = RunStore(tmp_path / "runs")
    # Photos on disk: int8 is calibrated on the run's training photos.
    run_id = save_photo_run(store, write_photos(tmp_path / "photos"), None)
    run_folder = store.root / run_id
    before = files_under(tmp_path)

    downloads = [export(store, run_id, fmt) for fmt in EXPORT_FORMATS]

    written = files_under(tmp_path) - before
    assert {path.relative_to(run_folder).as_posix() for path in written} == {
        f"export/{run_id}-{fmt}.zip" for fmt in EXPORT_FORMATS
    }
    assert all(path.is_relative_to(run_folder) for path in downloads)


# --- user-typed dataset paths -----------------------------------------------------------------


@pytest.fixture
def data_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path/data is the only allowed root besides uploads; cwd is a dataset inside it."""
    root = tmp_path / "data"
    (root / "flowers" / "daisy").mkdir(parents=True)
    (tmp_path / "data-evil").mkdir()  # shares the root's name as a prefix, but is outside
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(root / "flowers")
    return root


@pytest.fixture
def rooted(tmp_path: Path, data_root: Path) -> Settings:
    return Settings(uploads_dir=tmp_path / "uploads", extra_data_roots=(data_root,))


@pytest.mark.parametrize(
    "typed",
    ["/etc", "/", "~", "~/", "../..", "../../data-evil", "{tmp}/data-evil", "{tmp}/data/../home"],
)
def test_paths_outside_the_data_roots_are_refused(rooted, tmp_path, typed):
    # Protection: resolve_user_path expands ~, resolves '..' and symlinks, then requires the
    # result to lie under a data root, compared by path components (not string prefixes).
    with pytest.raises(PathNotAllowedError, match="outside the allowed data folders"):
        resolve_user_path(typed.format(tmp=tmp_path), rooted)


def test_a_symlink_inside_a_root_that_points_out_is_refused(rooted, data_root):
    # Protection: symlinks are resolved before the roots are checked.
    try:
        os.symlink("/", data_root / "everything")
    except OSError:
        pytest.skip("cannot create symlinks here")
    with pytest.raises(PathNotAllowedError, match="TLAB_DATA_ROOTS"):
        resolve_user_path(str(data_root / "everything" / "etc"), rooted)


def test_paths_inside_a_root_are_accepted(rooted, data_root):
    # The refusals above are not a blanket "no": relative, '..' and ~-free paths that stay
    # inside the root resolve to the folder.
    for typed in (".", "../flowers", f"{data_root}/flowers/daisy/.."):
        assert resolve_user_path(typed, rooted) == (data_root / "flowers").resolve()


# --- pixel limits -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "size"),
    [(30000, 30000, "30000x30000 = 900"), (10000, 6000, "10000x6000 = 60")],
    ids=["over Pillow's own cap", "under Pillow's cap"],
)
def test_a_huge_image_header_is_refused_without_decoding(tmp_path, width, height, size):
    # Protection: images checks width x height from the header against the limit
    # (TLAB_MAX_IMAGE_PIXELS, 50 MP by default) before decoding; scanning skips such files.
    # 60 MP is below Pillow's DecompressionBombError threshold: only our limit stops it.
    limit = Settings().max_image_pixels
    folder = tmp_path / "photos"
    huge = badfiles.huge_header_png(folder / "red", width=width, height=height)
    for index in range(2):
        for name, colour in (("red", (220, 30, 30)), ("blue", (30, 40, 220))):
            write_image(folder / name / f"{index}.png", colour, seed=index)

    for load in (images.open_image, images.thumbnail):
        with pytest.raises(ImageError, match=f"{size} megapixels; the limit is 50 megapixels"):
            load(huge, max_pixels=limit)
    skipped = {item.path: item.reason for item in scan_dataset(folder, limit).skipped}
    assert "TLAB_MAX_IMAGE_PIXELS" in skipped["red/huge.png"]


def test_the_pixel_limit_follows_the_settings(tmp_path):
    # Protection: the limit is a setting passed to every decode, so lowering it refuses a
    # 64x64 photo and raising it (dataclasses.replace or TLAB_MAX_IMAGE_PIXELS) lets it in.
    folder = tmp_path / "photos"
    for name, colour in (("red", (220, 30, 30)), ("blue", (30, 40, 220))):
        write_image(folder / name / "small.png", colour, size=40)
    large = write_image(folder / "red" / "large.png", (220, 30, 30), size=64)
    strict = Settings.from_env({"TLAB_MAX_IMAGE_PIXELS": str(40 * 40)})
    relaxed = dataclasses.replace(strict, max_image_pixels=64 * 64)

    with pytest.raises(ImageError, match=r"large.png is 64x64 .*TLAB_MAX_IMAGE_PIXELS"):
        images.load_array(large, 32, strict.max_image_pixels)
    assert [item.path for item in scan_dataset(folder, strict.max_image_pixels).skipped] == [
        "red/large.png"
    ]
    assert images.load_array(large, 32, relaxed.max_image_pixels).shape == (32, 32, 3)
    assert scan_dataset(folder, relaxed.max_image_pixels).counts() == {"blue": 1, "red": 2}


# --- Streamlit server -------------------------------------------------------------------------


def test_streamlit_keeps_xsrf_protection_and_an_upload_limit():
    # Protection: the server refuses cross-site form posts (XSRF) and caps uploads at the same
    # size the engine's TLAB_MAX_UPLOAD_MB default allows.
    if not STREAMLIT_CONFIG.is_file():
        pytest.skip(".streamlit/config.toml is not written yet")
    server = tomllib.loads(STREAMLIT_CONFIG.read_text(encoding="utf-8")).get("server", {})
    assert server.get("enableXsrfProtection") is True
    assert server.get("maxUploadSize") == Settings().max_upload_mb
