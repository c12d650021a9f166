"""Command line: python -m engine train | predict | evaluate | runs (add --json for machines)."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from engine.datasets import scan_dataset
from engine.errors import (
    DatasetError,
    ImageError,
    ModelUnavailableError,
    RunNotFoundError,
    TransferLabError,
)
from engine.evaluation import evaluate
from engine.experiment import make_split, run_experiment
from engine.images import load_array, printable
from engine.jobs import format_seconds
from engine.runs import RunStore
from engine.settings import Settings
from engine.training import FineTunedClassifier, ProgressEvent, TrainConfig
from engine.zero_shot import ZeroShotClassifier

STAGE_TITLES = {
    "zero_shot": "zero-shot ImageNet baseline on the test photos",
    "features": "computing features with the frozen base",
    "head": "training the new head",
    "fine_tune": "fine-tuning the top layers",
    "evaluate": "evaluating on the test photos",
}
BAR_WIDTH = 24

Output = tuple[str, int]  # (text for stdout, exit code)


def main(argv: list[str] | None = None) -> int:
    """Parse argv, run the command, return the exit code (user errors: 1 and one stderr line)."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) and usage errors (2); main reports codes, never exits
        return exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        settings = Settings.from_env()
        if args.runs_dir is not None:
            settings = dataclasses.replace(settings, runs_dir=Path(args.runs_dir))
        # Keras and TF print progress and notices; stdout carries only the command's result.
        with _stdout_to_stderr():
            text, code = args.command(args, settings)
    except TransferLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    if text:
        # Paths that are not valid UTF-8 (a run's dataset, an image argument) hold lone
        # surrogates, which a strict UTF-8 stdout (macOS, en_US.UTF-8) refuses with a traceback.
        print(printable(text))
    return code


def _build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--runs-dir", metavar="DIR", help="run store (default: TLAB_RUNS_DIR)")
    common.add_argument("--json", action="store_true", help="print one JSON document on stdout")

    parser = argparse.ArgumentParser(
        prog="python -m engine", description="Transfer Lab: zero-shot vs fine-tuned image models."
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    train = commands.add_parser("train", parents=[common], help="fine-tune on a folder of photos")
    train.add_argument("--data", required=True, metavar="DIR", help="one sub-folder per class")
    train.add_argument("--split-file", metavar="CSV", help="path,label,split rows")
    train.add_argument("--epochs", type=int, help="head epochs on the frozen base")
    train.add_argument("--fine-tune-epochs", type=int, help="epochs with top layers unfrozen")
    train.add_argument("--unfreeze", type=int, dest="unfreeze_layers", metavar="N")
    train.add_argument("--batch-size", type=int)
    train.add_argument("--learning-rate", type=float)
    train.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None)
    train.add_argument("--backbone", metavar="NAME")
    train.add_argument("--seed", type=int)
    train.set_defaults(command=_train)

    predict = commands.add_parser("predict", parents=[common], help="top-k labels for photos")
    predict.add_argument("images", nargs="+", metavar="IMAGE")
    predict.add_argument("--run", metavar="RUN_ID", help="fine-tuned run (default: latest)")
    predict.add_argument("--top-k", type=_positive_int, default=3, metavar="K")
    predict.set_defaults(command=_predict)

    evaluate_ = commands.add_parser("evaluate", parents=[common], help="test a saved run")
    evaluate_.add_argument("--run", required=True, metavar="RUN_ID", help="run id or 'latest'")
    evaluate_.add_argument("--data", required=True, metavar="DIR")
    evaluate_.add_argument("--split-file", metavar="CSV")
    evaluate_.set_defaults(command=_evaluate)

    runs = commands.add_parser("runs", parents=[common], help="list saved runs")
    runs.set_defaults(command=_runs)
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number of 1 or more")
    return value


# -- train -------------------------------------------------------------------------------------


def _train(args: argparse.Namespace, settings: Settings) -> Output:
    overrides = {
        name: getattr(args, name)
        for name in (
            "epochs",
            "fine_tune_epochs",
            "unfreeze_layers",
            "batch_size",
            "learning_rate",
            "augment",
            "backbone",
            "seed",
        )
        if getattr(args, name) is not None
    }
    info = run_experiment(
        args.data,
        TrainConfig(**overrides),
        settings,
        split_file=args.split_file,
        on_event=None if args.json else _ProgressPrinter(sys.stderr),
    )
    metrics = RunStore(settings.runs_dir).load(info.run_id).metrics
    zero_shot = metrics.get("zero_shot", {})
    result = {
        "run_id": info.run_id,
        "status": info.status,
        "test_accuracy": info.test_accuracy,
        "zero_shot_accuracy": info.zero_shot_accuracy,
        "classes": list(info.class_names),
        "per_class": metrics.get("per_class", {}),
        "train_seconds": info.train_seconds,
        "unmapped_classes": zero_shot.get("unmapped_classes", []),
        "zero_shot_error": zero_shot.get("error"),
        "skipped": metrics.get("skipped", 0),
        "run_dir": str(settings.runs_dir / info.run_id),
    }
    return (json.dumps(result) if args.json else _train_report(result)), 0


def _train_report(result: dict) -> str:
    lines = [
        f"Run {result['run_id']} ({result['status']}) saved in {result['run_dir']}",
        f"Test accuracy: {_percent(result['test_accuracy'])} fine-tuned, "
        f"{_percent(result['zero_shot_accuracy'])} zero-shot (ImageNet)",
        "",
        *_per_class_table(result["per_class"]),
        "",
        f"Trained in {format_seconds(result['train_seconds'] or 0)}; "
        f"{result['skipped']} file(s) skipped.",
    ]
    if result["unmapped_classes"]:
        lines.append(f"No ImageNet label for: {', '.join(result['unmapped_classes'])}.")
    if result["zero_shot_error"]:
        lines.append(f"Zero-shot baseline skipped: {result['zero_shot_error']}")
    return "\n".join(lines)


class _ProgressPrinter:
    """Training progress on stderr: a bar redrawn in place on a terminal, else a line per epoch."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._live = stream.isatty()
        self._bar_shown = False

    def __call__(self, event: ProgressEvent) -> None:
        if event.kind == "stage_start":
            title = STAGE_TITLES.get(event.stage, event.stage)
            self._line(f"[{event.stage_index}/{event.num_stages}] {title}")
        elif event.kind == "batch" and self._live:
            self._bar(event)
        elif event.kind == "epoch_end":
            self._line(f"  {_position(event)}{_metrics_text(event)}")
        elif event.kind == "stage_end" and self._bar_shown:
            # Stages without epochs end on their bar: keep it on screen.
            self._stream.write("\n")
            self._bar_shown = False

    def _bar(self, event: ProgressEvent) -> None:
        done = event.batch / event.num_batches if event.num_batches else 0.0
        filled = round(done * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        # \r returns to the line start and \x1b[K clears what a longer previous bar left.
        self._stream.write(
            f"\r  {_position(event)} [{bar}] {event.batch}/{event.num_batches}"
            f"{_metrics_text(event)}\x1b[K"
        )
        self._stream.flush()
        self._bar_shown = True

    def _line(self, text: str) -> None:
        prefix = "\r\x1b[K" if self._bar_shown else ""
        self._bar_shown = False
        self._stream.write(f"{prefix}{text}\n")
        self._stream.flush()


def _position(event: ProgressEvent) -> str:
    if event.num_epochs:
        return f"{event.stage} epoch {event.epoch}/{event.num_epochs}"
    return event.stage


def _metrics_text(event: ProgressEvent) -> str:
    parts = [f"{name} {value:.3f}" for name, value in event.metrics.items()]
    if event.eta_seconds is not None:
        parts.append(f"ETA {format_seconds(event.eta_seconds)}")
    return "  " + "  ".join(parts) if parts else ""


# -- predict -----------------------------------------------------------------------------------


def _predict(args: argparse.Namespace, settings: Settings) -> Output:
    run_id, fine_tuned = _fine_tuned(RunStore(settings.runs_dir), args.run)
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
                result["fine_tuned"] = _pairs(fine_tuned.top_k(array[None], args.top_k)[0])
        except (ImageError, OSError) as exc:
            message = f"{image}: {exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)
            print(f"error: {message}", file=sys.stderr)
            result = {"image": image, "error": message}
        results.append(result)

    code = 1 if any("error" in result for result in results) else 0
    if args.json:
        document = {"run_id": run_id, "zero_shot_error": zero_shot_error, "images": results}
        return json.dumps(document), code
    return "\n".join(_predict_lines(results)), code


def _fine_tuned(
    store: RunStore, run_id: str | None
) -> tuple[str | None, FineTunedClassifier | None]:
    """(id, model) of --run; without --run the latest complete run's, or (None, None)."""
    try:
        run_id = store.load(run_id or "latest").info.run_id
    except RunNotFoundError:
        if run_id is not None:
            raise
        return None, None
    return run_id, store.load_model(run_id)


def _pairs(top: list[tuple[str, float]]) -> list[dict]:
    return [{"label": label, "probability": prob} for label, prob in top]


def _predict_lines(results: list[dict]) -> Iterator[str]:
    for result in results:
        if "error" in result:
            continue
        yield result["image"]
        for key, title in (("zero_shot", "zero-shot "), ("fine_tuned", "fine-tuned")):
            if key in result:
                shown = ", ".join(f"{p['label']} {p['probability']:.1%}" for p in result[key])
                yield f"  {title}  {shown}"


# -- evaluate ----------------------------------------------------------------------------------


def _evaluate(args: argparse.Namespace, settings: Settings) -> Output:
    store = RunStore(settings.runs_dir)
    run = store.load(args.run)
    classifier = store.load_model(run.info.run_id)
    saved = run.info.config
    config = TrainConfig(
        **{f.name: saved[f.name] for f in dataclasses.fields(TrainConfig) if f.name in saved}
    )
    split = make_split(scan_dataset(args.data, settings.max_image_pixels), config, args.split_file)
    if tuple(split.class_names) != tuple(run.info.class_names):
        raise DatasetError(
            f"Run {run.info.run_id} was trained on the classes {', '.join(run.info.class_names)} "
            f"but {args.data} has {', '.join(split.class_names)}; evaluate it on a folder with "
            "the same class sub-folders."
        )
    evaluation = evaluate(classifier, split.test, batch_size=config.batch_size)
    result = {
        "run_id": run.info.run_id,
        "data": str(args.data),
        "num_images": len(split.test),
        "accuracy": evaluation.accuracy,
        "class_names": list(evaluation.class_names),
        "per_class": evaluation.per_class,
        "confusion": evaluation.confusion,
    }
    if args.json:
        return json.dumps(result), 0
    lines = [
        f"Run {result['run_id']} on {result['num_images']} test photos of {result['data']}",
        f"Accuracy: {_percent(result['accuracy'])}",
        "",
        *_per_class_table(result["per_class"]),
        "",
        "Confusion (rows = true class, columns = predicted, in the order above):",
        *("  " + " ".join(f"{n:5d}" for n in row) for row in result["confusion"]),
    ]
    return "\n".join(lines), 0


# -- runs --------------------------------------------------------------------------------------


def _runs(args: argparse.Namespace, settings: Settings) -> Output:
    infos = RunStore(settings.runs_dir).list()
    if args.json:
        return json.dumps([dataclasses.asdict(info) for info in infos]), 0
    if not infos:
        return f"No runs in {settings.runs_dir} yet.", 0
    rows = [("run id", "status", "classes", "test acc", "zero-shot", "trained", "dataset")]
    rows += [
        (
            info.run_id,
            info.status,
            str(len(info.class_names)),
            _percent(info.test_accuracy),
            _percent(info.zero_shot_accuracy),
            format_seconds(info.train_seconds) if info.train_seconds is not None else "-",
            Path(info.dataset).name,
        )
        for info in infos
    ]
    return "\n".join(_table(rows)), 0


# -- shared formatting -------------------------------------------------------------------------


def _per_class_table(per_class: dict[str, dict[str, float]]) -> list[str]:
    rows = [("class", "precision", "recall", "f1", "support")]
    rows += [
        (
            name,
            f"{m['precision']:.2f}",
            f"{m['recall']:.2f}",
            f"{m['f1']:.2f}",
            str(int(m["support"])),
        )
        for name, m in per_class.items()
    ]
    return _table(rows)


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    """Left-aligned first column, right-aligned numbers, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Send whatever is printed meanwhile, by Python or native code, to stderr."""
    sys.stdout.flush()
    saved_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        os.dup2(saved_fd, 1)
        os.close(saved_fd)
