"""Tests for engine.data.pipeline and engine.data.batches: tf.data and batch decoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from engine import images
from engine.data.batches import decode_batches
from engine.data.pipeline import make_pipeline, unwrap_pipeline_error
from engine.data.scan import scan_dataset
from engine.data.split import Subset
from engine.errors import ImageError
from tests.engine import badfiles

# --- make_pipeline --------------------------------------------------------------------


def test_pipeline_shapes_dtypes_and_order(image_folder: Path) -> None:
    dataset = scan_dataset(image_folder)
    subset = Subset(dataset.paths[::3], dataset.labels[::3])
    pipeline = make_pipeline(subset, image_size=16, batch_size=5)
    assert pipeline.element_spec[0].shape.as_list() == [None, 16, 16, 3]
    batches = list(pipeline)
    assert [len(labels) for _, labels in batches] == [5, 5, 2]
    pictures = np.concatenate([pixels.numpy() for pixels, _ in batches])
    labels = np.concatenate([labels.numpy() for _, labels in batches])
    assert batches[0][0].dtype == tf.float32 and batches[0][1].dtype == tf.int32
    assert labels.tolist() == list(subset.labels)
    np.testing.assert_array_equal(pictures[4], images.load_array(subset.paths[4], 16))
    assert 0 <= pictures.min() and pictures.max() <= 255


def test_pipeline_shuffles_with_seed_and_reshuffles_each_epoch(image_folder: Path) -> None:
    dataset = scan_dataset(image_folder)
    subset = Subset(dataset.paths, tuple(range(len(dataset.paths))))  # labels = positions

    def epochs(pipeline: tf.data.Dataset) -> list[list[int]]:
        return [np.concatenate([y.numpy() for _, y in pipeline]).tolist() for _ in range(2)]

    first, second = epochs(make_pipeline(subset, 8, 8, shuffle=True, seed=5))
    assert sorted(first) == list(range(len(subset)))
    assert first != second and first != sorted(first)
    assert epochs(make_pipeline(subset, 8, 8, shuffle=True, seed=5)) == [first, second]


def test_pipeline_names_a_file_that_broke_after_scanning(image_folder: Path) -> None:
    dataset = scan_dataset(image_folder)
    broken = dataset.paths[2]
    broken.write_bytes(b"")
    pipeline = make_pipeline(Subset(dataset.paths[:4], dataset.labels[:4]), 8, 2)
    with pytest.raises(tf.errors.OpError) as caught:
        list(pipeline)
    unwrapped = unwrap_pipeline_error(caught.value)
    assert isinstance(unwrapped, ImageError)
    assert str(unwrapped).startswith(f"{broken.name}: empty file")
    assert str(broken) in str(unwrapped) and "scan the folder again" in str(unwrapped)
    other = tf.errors.InvalidArgumentError(None, None, "shapes do not match")
    assert unwrap_pipeline_error(other) is None


def test_pipeline_reads_paths_that_are_not_utf8(tmp_path: Path) -> None:
    path = badfiles.non_utf8_name(tmp_path)
    if path is None:
        pytest.skip("this filesystem refuses file names that are not valid UTF-8")
    ((pixels, labels),) = list(make_pipeline(Subset((path,), (0,)), 4, 1))
    assert pixels.shape == (1, 4, 4, 3) and labels.numpy().tolist() == [0]


# --- decode_batches -------------------------------------------------------------------


def test_decode_batches_keeps_order_and_matches_load_array(image_folder: Path) -> None:
    dataset = scan_dataset(image_folder)
    subset = Subset(dataset.paths[::3], dataset.labels[::3])
    batches = list(decode_batches(subset, image_size=16, batch_size=5))
    assert [len(batch) for batch in batches] == [5, 5, 2]
    assert all(batch.dtype == np.uint8 and batch.shape[1:] == (16, 16, 3) for batch in batches)
    expected = np.stack([images.load_array(path, 16) for path in subset.paths])
    np.testing.assert_array_equal(np.concatenate(batches), expected)
    assert list(decode_batches(Subset((), ()), 16, 5)) == []


def test_decode_batches_names_a_file_that_broke_after_scanning(image_folder: Path) -> None:
    dataset = scan_dataset(image_folder)
    broken = dataset.paths[2]
    broken.write_text("not an image any more")
    with pytest.raises(ImageError, match="scan the folder again") as caught:
        list(decode_batches(Subset(dataset.paths[:4], dataset.labels[:4]), 8, 2))
    assert str(broken) in str(caught.value)


def test_decode_batches_reads_paths_that_are_not_utf8(tmp_path: Path) -> None:
    path = badfiles.non_utf8_name(tmp_path)
    if path is None:
        pytest.skip("this filesystem refuses file names that are not valid UTF-8")
    (batch,) = list(decode_batches(Subset((path,), (0,)), 4, 1))
    assert batch.shape == (1, 4, 4, 3)
