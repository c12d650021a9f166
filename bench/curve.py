"""Label-efficiency curve (every size x 3 seeds) vs one default training, features cached."""

from __future__ import annotations

from bench.context import Context, accuracy, timed
from bench.report import Outcome, Row, Table
from engine.insight.analyses import curve_of_split
from engine.insight.curve import HEAD
from engine.insight.features import FrozenFeatures
from engine.training import fit

TARGET_RATIO = 2.0


def run(ctx: Context) -> Outcome:
    """Cache every photo's features first (untimed), then time one default training and the
    whole curve, both reading the cache."""
    split, config = ctx.split, ctx.train_config
    settings = ctx.fresh_settings()
    fit(split, config, settings)  # caches the train and validation features
    FrozenFeatures(config.backbone, settings).of_split(split)  # ... and the test photos'
    train_seconds, trained = timed(fit, split, config, settings)
    curve_seconds, curve = timed(curve_of_split, split, config.backbone, settings)
    ratio = curve_seconds / train_seconds
    heads = sum(len(point.accuracies) for point in curve.points)
    row = Row(
        f"Label-efficiency curve, {len(curve.points)} sizes x {len(curve.seeds)} seeds "
        "(features cached)",
        f"{curve_seconds:.1f} s ({heads} heads, {curve.seconds:.1f} s of fitting)",
        f"{train_seconds:.1f} s (one default training, features cached)",
        ratio,
        f"<= {TARGET_RATIO:g}",
        ratio <= TARGET_RATIO,
    )
    rows = [
        (
            f"all ({point.per_class})" if point.all_photos else str(point.per_class),
            f"{point.mean:.3f}",
            f"{point.low:.3f}",
            f"{point.high:.3f}",
        )
        for point in curve.points
    ]
    notes = [
        f"Heads: {HEAD}; 'all' is fitted once (every seed would pick the same photos). Timed "
        "from reading the cached features to the last head scored on the test photos.",
        f"One default training's test accuracy: {accuracy(trained.classifier, split.test):.3f}.",
    ]
    table = Table(
        "Test accuracy by photos per class",
        ("photos per class", "mean", "lowest", "highest"),
        rows,
    )
    return Outcome([row], [table], notes)
