"""`python -m engine download sample|models`: fetch the sample photos or the models' files
ahead of first use, progress on stderr."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from engine import model_files, sample
from engine.cli.text import to_json
from engine.data.scan import scan_dataset
from engine.settings import Settings

WHAT = ("sample", "models")


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "download",
        parents=[common],
        help="download the sample photos (TLAB_SAMPLE_URL) or the models' files now",
    )
    parser.add_argument("what", choices=WHAT, help="sample: the flowers photos; models: weights")
    parser.set_defaults(command=run)


def run(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    """Download what is missing; say where it is (already there or just fetched)."""
    if args.what == "sample":
        return _sample(args, settings)
    return _models(args, settings)


def _sample(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    earlier = sample.downloaded_sample(settings)
    downloading = _printer("Downloading", settings.sample_url)
    folder = earlier or sample.download_sample(
        settings, downloading, _printer("Extracting", "the archive,")
    )
    dataset = scan_dataset(folder, settings.max_image_pixels)
    result = {
        "folder": str(folder),
        "url": settings.sample_url,
        "downloaded": earlier is None,
        "photos": len(dataset.paths),
        "classes": list(dataset.class_names),
    }
    if args.json:
        return to_json(result), 0
    state = "Downloaded" if earlier is None else "Already downloaded"
    return (
        f"{state}: {len(dataset.paths)} photos in {len(dataset.class_names)} classes in {folder}"
        " (the app uses them while TLAB_DATA_DIR is unset)"
    ), 0


def _models(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    fetched = []
    for item in model_files.missing_model_files(settings):
        path = model_files.fetch_model_file(settings, item, _printer("Downloading", item.title))
        fetched.append({"title": item.title, "url": item.url, "path": str(path)})
    if args.json:
        return to_json({"downloaded": fetched}), 0
    if not fetched:
        return "Every model file is already here (or the settings point at local copies).", 0
    return "\n".join(f"Downloaded {item['title']} to {item['path']}" for item in fetched), 0


def _printer(verb: str, what: str) -> Callable[[int, int | None], None]:
    """A progress callback printing one line per 10% (or per 10 MB without a total)."""
    last = [-1]

    def show(done: int, total: int | None) -> None:
        step = done * 10 // total if total else done // (10 * 2**20)
        if step != last[0]:
            last[0] = step
            amount = f"{done / 2**20:.1f} MB" + (f" of {total / 2**20:.1f} MB" if total else "")
            print(f"{verb} {what} {amount}", file=sys.stderr)

    return show
