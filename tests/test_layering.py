"""Layering: pages open without TensorFlow unless they load a model; the engine has no Streamlit."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.support.paths import ROOT

# The only modules a page may import that load TensorFlow: they hold or load the models.
MODEL_LOADERS = {"ui.models", "engine.classifiers"}
# Imported one by one in a fresh interpreter; prints the first module that pulled TensorFlow in.
PROBE = """
import importlib, json, sys
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
    if "tensorflow" in sys.modules:
        print(json.dumps(name))
        break
else:
    print(json.dumps(None))
"""


def _imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            # `from ui import cache, models` imports the submodules too.
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _light_imports(page: Path) -> list[str]:
    """The project modules a page imports at the top, model loaders left out."""
    tree = ast.parse(page.read_text(), str(page))
    found = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            candidates = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        for name in candidates:
            is_module = (ROOT / (name.replace(".", "/") + ".py")).is_file() or (
                ROOT / name.replace(".", "/") / "__init__.py"
            ).is_file()
            if is_module and name.split(".")[0] in ("engine", "ui") and name not in MODEL_LOADERS:
                found.append(name)
    return found


def _first_module_loading_tensorflow(modules: list[str]) -> str | None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(modules)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_pages_light_imports_leave_tensorflow_unloaded():
    pages = sorted((ROOT / "pages").glob("*.py"))
    modules = sorted({name for page in pages for name in _light_imports(page)})
    assert "engine.data.scan" in modules and "ui.cache" in modules  # the probe sees the pages
    assert _first_module_loading_tensorflow(modules) is None


def test_the_data_page_imports_no_model_loader():
    # Scanning a folder and importing a zip must not wait for TensorFlow on a cold app.
    imports = _imported_modules(ROOT / "pages" / "data.py")
    assert not imports & MODEL_LOADERS
    assert _first_module_loading_tensorflow(_light_imports(ROOT / "pages" / "data.py")) is None


def test_engine_never_imports_streamlit():
    for path in sorted((ROOT / "engine").rglob("*.py")):
        modules = _imported_modules(path)
        assert not {name for name in modules if name.split(".")[0] == "streamlit"}, path


def test_modules_stay_short_and_say_their_role():
    for folder in ("engine", "ui"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            text = path.read_text()
            assert len(text.splitlines()) <= 400, f"{path} is over 400 lines"
            docstring = ast.get_docstring(ast.parse(text))
            assert docstring, f"{path} does not open with a line saying its role"
