"""`python -m engine evaluate`: test a saved run on a folder of photos."""

from __future__ import annotations

import argparse
import json

from engine.classifiers import load_run_classifier
from engine.cli.text import per_class_table, percent
from engine.data.scan import scan_dataset
from engine.data.split import make_split
from engine.errors import DatasetError
from engine.evaluation import evaluate
from engine.runs import RunStore
from engine.settings import Settings


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser("evaluate", parents=[common], help="test a saved run")
    parser.add_argument("--run", required=True, metavar="RUN_ID", help="run id or 'latest'")
    parser.add_argument("--data", required=True, metavar="DIR")
    parser.add_argument("--split-file", metavar="CSV")
    parser.set_defaults(command=run)


def run(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    """The run's model on the test part of the folder's split (the run's own recipe)."""
    store = RunStore(settings.runs_dir)
    info = store.info(args.run)
    classifier = load_run_classifier(store, info.run_id)
    config = info.config
    split = make_split(scan_dataset(args.data, settings.max_image_pixels), config, args.split_file)
    if tuple(split.class_names) != tuple(info.class_names):
        raise DatasetError(
            f"Run {info.run_id} was trained on the classes {', '.join(info.class_names)} "
            f"but {args.data} has {', '.join(split.class_names)}; evaluate it on a folder with "
            "the same class sub-folders."
        )
    metrics = evaluate(classifier, split.test, batch_size=config.batch_size).metrics
    result = {
        "run_id": info.run_id,
        "data": str(args.data),
        "num_images": len(split.test),
        "accuracy": metrics.accuracy,
        "class_names": list(metrics.class_names),
        **{key: value for key, value in metrics.to_dict().items() if key != "accuracy"},
    }
    if args.json:
        return json.dumps(result), 0
    lines = [
        f"Run {result['run_id']} on {result['num_images']} test photos of {result['data']}",
        f"Accuracy: {percent(result['accuracy'])}",
        "",
        *per_class_table(metrics.per_class),
        "",
        "Confusion (rows = true class, columns = predicted, in the order above):",
        *("  " + " ".join(f"{n:5d}" for n in row) for row in metrics.confusion),
    ]
    return "\n".join(lines), 0
