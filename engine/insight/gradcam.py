"""Grad-CAM: where in a photo each model looked for its answer, side by side.

The last convolutional block's activations are weighted by the gradient of the top class's
score (its logit) averaged over the grid, summed, kept where positive and scaled to [0, 1]
(Selvaraju et al., 2017). Gradients need TensorFlow: the Hub SavedModel does not expose
them, so the zero-shot side runs the Keras MobileNetV2 with its 1000-class top and the same
ImageNet weights (TLAB_ZERO_SHOT_KERAS_WEIGHTS); its output i is the Hub's label i + 1.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from engine import imagenet, images
from engine.errors import ModelUnavailableError, first_line
from engine.insight.heatmaps import Heatmap, HeatmapPair
from engine.model import POOL_LAYER
from engine.settings import Settings

ZERO_SHOT_SIZE = 224
ZERO_SHOT_LAST_CONV = "out_relu"  # keras.applications.MobileNetV2's last conv block output
ZERO_SHOT_WEIGHTS_FILE = "mobilenet_v2_1.0_224_imagenet.weights.h5"
ZERO_SHOT_FIX = (
    f"Set TLAB_ZERO_SHOT_KERAS_WEIGHTS to a local {ZERO_SHOT_WEIGHTS_FILE} (Keras MobileNetV2 "
    "with its 1000-class top), or to 'imagenet' with network access."
)
DISPLAY_SIZE = 448  # longest side of the photo the heatmaps are laid over

# Raw [0,255] images [N,S,S,3] -> the last conv block's activations [N,h,w,c].
LastConv = Callable[[tf.Tensor], tf.Tensor]
# Those activations -> class scores before softmax [N, classes].
Head = Callable[[tf.Tensor], tf.Tensor]


class GradCam:
    """Grad-CAM of one classifier; thread-safe (one compiled function, traced once)."""

    def __init__(
        self, last_conv: LastConv, head: Head, class_names: tuple[str, ...], input_size: int
    ) -> None:
        self.class_names = class_names
        self.input_size = input_size
        spec = tf.TensorSpec([None, input_size, input_size, 3], tf.float32)
        self._maps = tf.function(
            _grad_cam(last_conv, head), input_signature=[spec], autograph=False
        )

    @classmethod
    def fine_tuned(cls, model: keras.Model, class_names: tuple[str, ...]) -> GradCam:
        """Grad-CAM of a run's model (engine.model's layout): the base's output feeds the
        'pool' layer and the head's dense 'probabilities' layer gives the logits.

        Raises:
            ModelUnavailableError: the model has another layout.
        """
        try:
            last_conv = keras.Model(model.input, model.get_layer(POOL_LAYER).input)
            dense = model.get_layer("head").get_layer("probabilities")
        except (ValueError, AttributeError) as exc:
            raise ModelUnavailableError(
                f"This model has no pooled last convolutional block feeding a softmax head "
                f"({first_line(exc)}), so Grad-CAM cannot be computed for it."
            ) from exc

        return cls(
            lambda images: last_conv(images, training=False),
            lambda activations: _dense_logits(activations, dense),
            class_names,
            int(model.input_shape[1]),
        )

    @classmethod
    def zero_shot(cls, settings: Settings) -> GradCam:
        """Grad-CAM of the zero-shot model through its Keras twin; class names are the Hub's
        labels 1..1000 (0 is 'background', which the Keras model does not have).

        Raises:
            ModelUnavailableError: the weights or labels cannot be loaded (names the setting).
        """
        weights = settings.zero_shot_keras_weights
        if weights != "imagenet" and not Path(weights).is_file():
            raise ModelUnavailableError(
                f"TLAB_ZERO_SHOT_KERAS_WEIGHTS={weights!r}: there is no such file. {ZERO_SHOT_FIX}"
            )
        labels = imagenet.load_labels(settings.imagenet_labels)[1:]
        try:
            model = keras.applications.MobileNetV2(
                input_shape=(ZERO_SHOT_SIZE, ZERO_SHOT_SIZE, 3),
                include_top=True,
                weights=weights,
                classifier_activation=None,
            )
        except Exception as exc:  # Keras raises bare Exception/ValueError/OSError for these
            raise ModelUnavailableError(
                f"TLAB_ZERO_SHOT_KERAS_WEIGHTS={weights!r} could not be loaded "
                f"({first_line(exc)}). {ZERO_SHOT_FIX}"
            ) from exc
        last_conv = keras.Model(model.input, model.get_layer(ZERO_SHOT_LAST_CONV).output)
        dense = model.get_layer("predictions")

        return cls(
            lambda images: last_conv(images / 127.5 - 1.0, training=False),  # inputs in [-1, 1]
            lambda activations: _dense_logits(activations, dense),
            labels,
            ZERO_SHOT_SIZE,
        )

    def explain(self, image: np.ndarray) -> Heatmap:
        """The top class of one image (uint8 or float [S, S, 3] in [0, 255], S = input_size)
        and its Grad-CAM."""
        batch = tf.convert_to_tensor(np.asarray(image, np.float32)[None])
        cam, top, probability = (value.numpy()[0] for value in self._maps(batch))
        return Heatmap(self.class_names[int(top)], float(probability), cam.astype(np.float32))


def _dense_logits(activations: tf.Tensor, dense: keras.layers.Dense) -> tf.Tensor:
    """Global average pooling, then the dense layer without its softmax: Grad-CAM wants the
    class score before softmax, which would mix every other class's score into the gradient."""
    pooled = tf.reduce_mean(activations, axis=(1, 2))
    return tf.matmul(pooled, tf.cast(dense.kernel, pooled.dtype)) + tf.cast(
        dense.bias, pooled.dtype
    )


def _grad_cam(
    last_conv: LastConv, head: Head
) -> Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor, tf.Tensor]]:
    """images -> (maps [N, h, w] in [0, 1], top class [N], its probability [N])."""

    def maps(images: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
        activations = last_conv(images)
        with tf.GradientTape() as tape:
            tape.watch(activations)
            logits = head(activations)
            top = tf.argmax(logits, axis=1, output_type=tf.int32)
            chosen = tf.gather(logits, top, batch_dims=1)
        gradients = tape.gradient(chosen, activations)
        weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(weights * activations, axis=-1))
        peak = tf.reduce_max(cam, axis=(1, 2), keepdims=True)
        cam = tf.math.divide_no_nan(cam, peak)
        probability = tf.gather(tf.nn.softmax(logits), top, batch_dims=1)
        return cam, top, probability

    return maps


def explain_pair(
    source: images.ImageSource,
    zero_shot: GradCam | Callable[[], GradCam],
    fine_tuned: GradCam | Callable[[], GradCam],
    max_pixels: int,
) -> HeatmapPair:
    """Both models' heatmaps for one photo (a path, bytes or an open file).

    zero_shot and fine_tuned may be loaders: a ModelUnavailableError from one becomes that
    side's reason and the other side still shows.

    Raises:
        ImageError: the photo cannot be read.
    """
    photo = np.asarray(images.thumbnail(source, DISPLAY_SIZE, max_pixels))
    sides: dict[str, Heatmap | None] = {}
    errors: dict[str, str | None] = {}
    for name, model in (("zero_shot", zero_shot), ("fine_tuned", fine_tuned)):
        try:
            explainer = model if isinstance(model, GradCam) else model()
            pixels = images.load_array(source, explainer.input_size, max_pixels)
            sides[name], errors[name] = explainer.explain(pixels), None
        except ModelUnavailableError as exc:
            sides[name], errors[name] = None, str(exc)
    return HeatmapPair(
        photo,
        sides["zero_shot"],
        sides["fine_tuned"],
        errors["zero_shot"],
        errors["fine_tuned"],
    )
