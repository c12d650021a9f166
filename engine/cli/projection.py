"""`python -m engine projection`: a run's test photos on a 2-D map of their frozen features."""

from __future__ import annotations

import argparse
from collections import Counter

from engine.cli.text import progress_lines, table, to_json
from engine.insight.analyses import projection_of_run
from engine.runs import RunStore
from engine.settings import Settings


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser(
        "projection",
        parents=[common],
        help="map a run's test photos in 2-D (PCA of the frozen features) and save it with the run",
    )
    parser.add_argument("--run", required=True, metavar="RUN_ID", help="run id or 'latest'")
    parser.set_defaults(command=run)


def run(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    """Compute the feature map of the run's test photos and save it with the run."""
    store = RunStore(settings.runs_dir)
    run_id = store.info(args.run).run_id
    feature_map = projection_of_run(store, run_id, settings, progress_lines())
    if args.json:
        result = {
            "run_id": run_id,
            **feature_map.to_dict(),
            "linear_head": feature_map.linear_head_sentence(),
        }
        return to_json(result), 0
    wrong = Counter(point.true for point in feature_map.points if not point.correct)
    rows = [("class", "photos", "wrong")]
    for name in feature_map.class_names:
        photos = sum(point.true == name for point in feature_map.points)
        rows.append((name, str(photos), str(wrong[name])))
    first, second = feature_map.explained
    lines = [
        f"Feature map of {len(feature_map.points)} test photos of run {run_id} (saved with it); "
        f"the two axes keep {first + second:.0%} of the features' spread.",
        *table(rows),
        "",
        feature_map.linear_head_sentence(),
    ]
    return "\n".join(lines), 0
