"""The shareable report: one HTML file that loads nothing from anywhere, shows every name as
plain text, stays small, and is built without writing anything."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from plotly.offline import get_plotlyjs

from engine import cli
from engine.errors import RunNotFoundError
from engine.report import build_report, run_report
from engine.runs import RunStore
from tests.conftest import write_image
from tests.support.runs import make_run, prediction

# Attributes through which a browser fetches something.
LOADING_ATTRIBUTES = {
    "src",
    "href",
    "srcset",
    "action",
    "formaction",
    "data",
    "poster",
    "xlink:href",
}
NAMES = ("<b>bold</b>", "</script><img src=x onerror=alert(1)>")


class Page(HTMLParser):
    """Tags, their attributes, the text a reader sees, and each script's source."""

    def __init__(self, document: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.feed(document)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag):
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += data
        else:
            self.text.append(data)

    @property
    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())


def loads_from_outside(page: Page, document: str) -> list[str]:
    """Everything in the document that would make a browser fetch something."""
    found = []
    for tag, attrs in page.tags:
        if tag in ("link", "iframe", "object", "embed", "base", "frame", "audio", "video"):
            found.append(f"<{tag}>")
        for name, value in attrs.items():
            if name in LOADING_ATTRIBUTES and value and not value.startswith(("data:", "#")):
                found.append(f"{tag} {name}={value}")
    library = get_plotlyjs()  # plotly.js as shipped: it can fetch (map tiles), unused here
    own_code = "\n".join(script for script in page.scripts if script != library)
    styles_and_code = own_code + re.sub(r"<script[^>]*>.*?</script>", "", document, flags=re.S)
    for pattern in (r"@import", r"fetch\(", r"XMLHttpRequest", r"url\(\s*['\"]?(https?:)?//"):
        found += re.findall(pattern, styles_and_code)
    found += re.findall(r"""["'](?:https?:)?//[^"']+["']""", own_code)
    return found


@pytest.fixture
def photos(tmp_path: Path) -> dict[str, Path]:
    return {
        name: write_image(tmp_path / "photos" / f"{i}.png", (200, 40, 40))
        for i, name in enumerate(NAMES)
    }


def report_of_names(photos: dict[str, Path]) -> str:
    """Two classes whose names carry markup; one photo fixed by training, one still wrong."""
    first, second = NAMES
    rows = [
        prediction(first, zero_shot=second, path=str(photos[first])),
        prediction(second, first, zero_shot=second, path=str(photos[second])),
    ]
    run = make_run(NAMES, rows, notes="see <a href='https://example.com'>this</a>")
    return build_report(run)


def test_the_report_loads_nothing_from_outside_the_file(photos):
    document = report_of_names(photos)
    page = Page(document)
    assert loads_from_outside(page, document) == []
    assert page.scripts.count(get_plotlyjs()) == 1, "plotly.js inlined exactly once"
    policy = next(
        a["content"] for t, a in page.tags if a.get("http-equiv") == "Content-Security-Policy"
    )
    assert "default-src 'none'" in policy and "connect-src" not in policy
    assert sum(a.get("class") == "plotly-graph-div" for _, a in page.tags) == 3  # matrix, 2 curves
    assert [a["src"][:23] for t, a in page.tags if t == "img"] == ["data:image/jpeg;base64,"] * 2


def test_names_and_notes_with_markup_are_shown_as_written(photos):
    document = report_of_names(photos)
    page = Page(document)
    assert not [t for t, _ in page.tags if t in ("b", "a")]
    assert not [a for t, a in page.tags if t == "img" and a.get("src") == "x"]
    assert "see <a href='https://example.com'>this</a>" in page.visible
    assert "true: <b>bold</b>" in page.visible
    assert "</script><img src=x onerror=alert(1)>" in page.visible
    # In the figures too: plotly renders some tags in labels, so they arrive escaped (plotly's
    # JSON would write a raw < as \u003c).
    figures = "".join(script for script in page.scripts if script != get_plotlyjs())
    assert '"&lt;b&gt;bold' in figures
    assert r"\u003cb\u003ebold" not in figures and "<b>" not in figures


def test_the_report_has_the_story_and_a_model_card(photos):
    visible = Page(report_of_names(photos)).visible
    for heading in (
        "The headline: zero-shot vs trained",
        "Training settings",
        "Per class",
        "Confusion matrix",
        "How training went",
        "Photos training fixed",
        "Photos it still gets wrong",
        "Model card",
    ):
        assert heading in visible
    assert "ImageNet has a label for only 1 of 2 classes" in visible
    assert "95% interval" in visible and "intended use" in visible
    assert "test 2 held-out photos" in visible
    assert "Careful: only 2 test photos" in visible


def test_a_tiny_runs_report_is_small_beyond_plotly_js(photos):
    document = report_of_names(photos).encode()
    assert len(document) - len(get_plotlyjs().encode()) < 60_000


def test_photos_no_longer_there_are_said_not_a_crash():
    rows = [prediction("cat", zero_shot="dog", path="/nowhere/1.png"), prediction("dog", "cat")]
    visible = Page(build_report(make_run(("cat", "dog"), rows))).visible
    assert "photo no longer readable" in visible


def test_a_cancelled_run_has_no_report(tmp_path):
    store = RunStore(tmp_path / "runs")
    run_id = store.save(make_run(("cat", "dog"), status="cancelled"))
    with pytest.raises(RunNotFoundError, match="nothing to report"):
        run_report(store, run_id)


def test_building_a_report_writes_nothing(tmp_path, photos):
    store = RunStore(tmp_path / "runs")
    rows = [prediction(name, path=str(path)) for name, path in photos.items()]
    run_id = store.save(make_run(NAMES, rows))
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    assert run_report(store, run_id).startswith(b"<!DOCTYPE html>")
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before


def test_cli_report_writes_the_file_and_refuses_a_link(tmp_path, capsys):
    store = RunStore(tmp_path / "runs")
    run_id = store.save(make_run(("cat", "dog")))
    out = tmp_path / "report.html"
    code = cli.main(
        ["report", "--run", run_id, "--out", str(out), "--json", "--runs-dir", str(store.root)]
    )
    result = capsys.readouterr().out
    assert code == 0 and f'"bytes": {out.stat().st_size}' in result
    assert out.read_text().startswith("<!DOCTYPE html>")
    link = tmp_path / "link.html"
    link.symlink_to(tmp_path / "elsewhere.html")
    code = cli.main(["report", "--run", run_id, "--out", str(link), "--runs-dir", str(store.root)])
    err = capsys.readouterr().err
    assert code == 1 and "symbolic link" in err and not (tmp_path / "elsewhere.html").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.html", "report.html", "runs"]


@pytest.mark.integration
def test_the_flowers_report_is_under_5_mb_and_says_what_imagenet_can_name(flowers_run):
    store = RunStore(flowers_run.settings.runs_dir)
    document = run_report(store, flowers_run.run_id)
    assert len(document) < 5_000_000
    visible = Page(document.decode()).visible
    assert "On the photos of daisy alone" in visible
    assert "200 held-out photos" in visible
