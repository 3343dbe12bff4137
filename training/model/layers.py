"""Custom Keras layers: AM-Softmax head, mirror-averaged embeddings, dlib's padded add."""

from __future__ import annotations

import keras
from keras import ops

NORM_EPSILON = 1e-12


def l2_normalize(x, axis: int = -1):
    """L2-normalise ``x`` along ``axis``; zero vectors stay zero instead of becoming NaN."""
    squared = ops.sum(ops.square(x), axis=axis, keepdims=True)
    return x * ops.rsqrt(ops.maximum(squared, NORM_EPSILON))


@keras.saving.register_keras_serializable(package="faceverify")
class AMSoftmax(keras.layers.Layer):
    """Cosine classifier of Additive Margin Softmax (Wang et al., IEEE SPL 2018).

    Holds one weight vector per class (the kernel's columns) and outputs the cosine
    between the L2-normalised input and each L2-normalised column, in [-1, 1]. The
    margin and scale are applied by :class:`training.model.losses.AMSoftmaxLoss`, so the
    layer's output is also a sensible closed-set score at inference time. The output
    is float32 even under a mixed-precision policy.
    """

    def __init__(self, units: int, kernel_initializer="glorot_uniform", **kwargs):
        """Create the layer.

        Args:
            units: Number of classes (identities).
            kernel_initializer: Initialiser of the (feature_dim, units) kernel.
            **kwargs: Standard layer arguments (name, ...). ``dtype`` defaults to float32.

        Raises:
            ValueError: ``units`` is not a positive integer.
        """
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"units must be a positive integer, got {units!r}")
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.units = units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape) -> None:
        """Create the (feature_dim, units) kernel."""
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(f"AMSoftmax expects (batch, features) input, got {input_shape}")
        self.kernel = self.add_weight(
            name="kernel",
            shape=(int(input_shape[-1]), self.units),
            initializer=self.kernel_initializer,
        )

    def call(self, inputs):
        """Return the cosines between the inputs and every class weight vector."""
        features = l2_normalize(ops.cast(inputs, "float32"), axis=-1)
        weights = l2_normalize(ops.cast(self.kernel, "float32"), axis=0)
        return ops.matmul(features, weights)

    def compute_output_shape(self, input_shape):
        """Return ``(batch, units)``."""
        return (input_shape[0], self.units)

    def get_config(self) -> dict:
        """Return the constructor arguments for serialisation."""
        config = super().get_config()
        config.update(
            units=self.units,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
        )
        return config


@keras.saving.register_keras_serializable(package="faceverify")
class MirrorPair(keras.layers.Layer):
    """Append every image's left-right mirror image to the batch: (N, H, W, C) -> (2N, H, W, C).

    With :class:`MirrorMean` after the feature model, it makes the embedding the mean of the
    image's and its mirror image's (test-time augmentation with a horizontal flip, as in
    e.g. Deng et al., ArcFace, CVPR 2019, section 4.1); both pass through in one batch.
    """

    def build(self, input_shape) -> None:
        """Check the input is a batch of images."""
        if len(input_shape) != 4:
            raise ValueError(
                f"MirrorPair expects (batch, height, width, channels), got {input_shape}"
            )

    def call(self, images):
        """Return the images followed by their mirror images."""
        return ops.concatenate([images, ops.flip(images, axis=2)], axis=0)

    def compute_output_shape(self, input_shape):
        """Return the input shape with the batch doubled."""
        batch = None if input_shape[0] is None else 2 * input_shape[0]
        return (batch, *input_shape[1:])


@keras.saving.register_keras_serializable(package="faceverify")
class MirrorMean(keras.layers.Layer):
    """Average the unit embeddings of images and their mirrors: (2N, D) -> (N, D), unit length.

    The input is :class:`MirrorPair`'s batch order run through a feature model: the N images,
    then their N mirror images. Output is float32.
    """

    def __init__(self, **kwargs):
        """Create the layer; ``dtype`` defaults to float32 (see :class:`AMSoftmax`)."""
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)

    def build(self, input_shape) -> None:
        """Check the input is a batch of vectors."""
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(f"MirrorMean expects (batch, features) input, got {input_shape}")

    def call(self, embeddings):
        """Return the normalised sum of each image's and its mirror's normalised embedding."""
        embeddings = ops.cast(embeddings, "float32")
        pairs = ops.reshape(embeddings, (2, -1, ops.shape(embeddings)[-1]))
        return l2_normalize(ops.sum(l2_normalize(pairs, axis=-1), axis=0), axis=-1)

    def compute_output_shape(self, input_shape):
        """Return the input shape with the batch halved."""
        batch = None if input_shape[0] is None else input_shape[0] // 2
        return (batch, input_shape[-1])


@keras.saving.register_keras_serializable(package="faceverify")
class ZeroPadAdd(keras.layers.Layer):
    """Add two image batches of different sizes as dlib's ``add_prev`` does.

    Each input is zero-padded at its end (bottom rows, right columns, last channels) to the
    larger size in every dimension, then they are added: ``tt::add(dest, src1, src2)`` in
    dlib's ``dlib/cuda/tensor_tools.h`` ("missing elements are presumed to be equal to 0").
    dlib's face ResNet needs it where a strided block meets its pooled shortcut.
    """

    def build(self, input_shape) -> None:
        """Check there are two batches of images with known sizes."""
        shapes = list(input_shape) if isinstance(input_shape, (list, tuple)) else []
        if len(shapes) != 2 or any(len(s) != 4 or None in s[1:] for s in shapes):
            raise ValueError(f"ZeroPadAdd expects two (batch, h, w, c) inputs, got {input_shape}")

    def call(self, inputs):
        """Return the sum of the two inputs, each zero-padded to the larger size."""
        target = self.compute_output_shape([tuple(x.shape) for x in inputs])
        padded = [
            ops.pad(
                x, [[0, 0]] + [[0, t - s] for s, t in zip(x.shape[1:], target[1:], strict=True)]
            )
            for x in inputs
        ]
        return padded[0] + padded[1]

    def compute_output_shape(self, input_shape):
        """Return the larger of the two sizes in every dimension but the batch."""
        first, second = input_shape
        return (first[0], *(max(a, b) for a, b in zip(first[1:], second[1:], strict=True)))
