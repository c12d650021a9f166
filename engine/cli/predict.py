"""`python -m engine predict`: both models' top-k labels for photos."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator

from engine.classifiers import FineTunedClassifier, load_run_classifier
from engine.cli import predict_batch
from engine.cli.text import to_json
from engine.errors import ImageError, ModelUnavailableError, RunNotFoundError
from engine.images import load_array
from engine.insight.calibration import NotSure, load_not_sure
from engine.insight.not_sure import answers
from engine.runs import RunStore
from engine.runtime import Runtime
from engine.settings import Settings
from engine.zero_shot import ZeroShotClassifier


def register(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    parser = commands.add_parser("predict", parents=[common], help="top-k labels for photos")
    parser.add_argument(
        "images", nargs="+", metavar="IMAGE", help="photos, or one folder or .zip of photos"
    )
    parser.add_argument("--run", metavar="RUN_ID", help="fine-tuned run (default: latest)")
    parser.add_argument("--top-k", type=_positive_int, default=3, metavar="K")
    parser.add_argument(
        "--csv", metavar="OUT", help="a folder or .zip: write every photo's top-1 to this CSV"
    )
    parser.set_defaults(command=run)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number of 1 or more")
    return value


def run(args: argparse.Namespace, settings: Settings) -> tuple[str, int]:
    """Classify every image with both models; exit 1 when any image could not be read. The
    fine-tuned model says 'not sure' below the run's chosen threshold."""
    if predict_batch.wants_batch(args):
        return predict_batch.run(args, settings, _fine_tuned)
    runtime = Runtime.from_settings(settings)
    store = RunStore.for_settings(settings)
    run_id, fine_tuned = _fine_tuned(store, args.run, runtime)
    rule = load_not_sure(store, run_id) if run_id is not None else None
    try:
        zero_shot: ZeroShotClassifier | None = ZeroShotClassifier.load(settings)
        zero_shot_error = None
    except ModelUnavailableError as exc:
        if fine_tuned is None:
            raise
        zero_shot, zero_shot_error = None, str(exc)
        print(f"warning: zero-shot skipped: {exc}", file=sys.stderr)

    results = []
    for image in args.images:
        try:
            result = {"image": image}
            if zero_shot is not None:
                array = load_array(image, zero_shot.input_size, settings.max_image_pixels)
                result["zero_shot"] = _pairs(zero_shot.top_k(array[None], args.top_k)[0])
            if fine_tuned is not None:
                array = load_array(image, fine_tuned.input_size, settings.max_image_pixels)
                [answer] = answers(fine_tuned, array[None], rule, args.top_k)
                result["fine_tuned"], result["not_sure"] = _pairs(answer.top), answer.not_sure
        except (ImageError, OSError) as exc:
            message = f"{image}: {exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)
            print(f"error: {message}", file=sys.stderr)
            result = {"image": image, "error": message}
        results.append(result)

    code = 1 if any("error" in result for result in results) else 0
    if args.json:
        document = {
            "run_id": run_id,
            "zero_shot_error": zero_shot_error,
            "threshold": _threshold(rule),
            "images": results,
        }
        return to_json(document), code
    return "\n".join(_lines(results, rule)), code


def _threshold(rule: NotSure | None) -> dict | None:
    """The run's 'not sure' threshold, for --json."""
    if rule is None:
        return None
    return {"threshold": rule.threshold, "calibrated": rule.temperature is not None}


def _fine_tuned(
    store: RunStore, run_id: str | None, runtime: Runtime
) -> tuple[str | None, FineTunedClassifier | None]:
    """(id, model) of --run; without --run the latest complete run's, or (None, None)."""
    try:
        run_id = store.info(run_id or "latest").run_id
    except RunNotFoundError:
        if run_id is not None:
            raise
        return None, None
    return run_id, load_run_classifier(store, run_id, runtime)


def _pairs(top: list[tuple[str, float]]) -> list[dict]:
    return [{"label": label, "probability": prob} for label, prob in top]


def _lines(results: list[dict], rule: NotSure | None) -> Iterator[str]:
    for result in results:
        if "error" in result:
            continue
        yield result["image"]
        for key, title in (("zero_shot", "zero-shot "), ("fine_tuned", "fine-tuned")):
            if key in result:
                shown = ", ".join(f"{p['label']} {p['probability']:.1%}" for p in result[key])
                if result.get("not_sure") and key == "fine_tuned":
                    shown = f"not sure (below {rule.threshold:.0%}); best guesses {shown}"
                yield f"  {title}  {shown}"
