"""Additive Margin Softmax loss.

Reference: F. Wang, J. Cheng, W. Liu and H. Liu, "Additive Margin Softmax for Face
Verification", IEEE Signal Processing Letters 25(7), 2018 (arXiv:1801.05599).
"""

from __future__ import annotations

import keras
from keras import ops


def am_softmax_logits(labels, cosines, scale: float, margin: float, always_subtract: bool = False):
    """Scaled logits with the additive margin taken off each target-class cosine.

    The authors' released code subtracts the margin only where the target cosine
    exceeds it (so a badly wrong sample is not pushed further); ``always_subtract``
    follows the paper's formula ``s * (cos(theta_y) - m)`` unconditionally.

    Args:
        labels: Integer class indices, shape (batch,) or (batch, 1).
        cosines: Cosines from :class:`training.model.layers.AMSoftmax`, shape (batch, classes).
        scale: The scale ``s``.
        margin: The additive margin ``m``.
        always_subtract: Subtract ``m`` even when the target cosine is below ``m``.

    Returns:
        float32 logits, shape (batch, classes).
    """
    cosines = ops.cast(cosines, "float32")
    labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
    target = ops.one_hot(labels, ops.shape(cosines)[-1], dtype="float32")
    if not always_subtract:
        target_cosine = ops.sum(cosines * target, axis=-1, keepdims=True)
        target = target * ops.cast(ops.greater(target_cosine, margin), "float32")
    return scale * (cosines - margin * target)


def am_softmax_loss(
    labels, cosines, scale: float = 30.0, margin: float = 0.35, always_subtract: bool = False
):
    """Per-sample AM-Softmax loss: softmax cross-entropy of :func:`am_softmax_logits`.

    Args:
        labels: Integer class indices, shape (batch,) or (batch, 1).
        cosines: Cosines, shape (batch, classes).
        scale: The scale ``s``.
        margin: The additive margin ``m``.
        always_subtract: See :func:`am_softmax_logits`.

    Returns:
        float32 losses, shape (batch,); 0 for a negative label (an image without an
        identity, which only the distillation terms use).
    """
    labels = ops.reshape(ops.cast(labels, "int32"), (-1,))
    labelled = ops.cast(ops.greater_equal(labels, 0), "float32")
    labels = ops.maximum(labels, 0)
    logits = am_softmax_logits(labels, cosines, scale, margin, always_subtract)
    losses = ops.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    return losses * labelled


@keras.saving.register_keras_serializable(package="faceverify")
class AMSoftmaxLoss(keras.losses.Loss):
    """Keras loss wrapping :func:`am_softmax_loss` (sparse integer labels)."""

    def __init__(
        self,
        scale: float = 30.0,
        margin: float = 0.35,
        always_subtract: bool = False,
        name: str = "am_softmax_loss",
        **kwargs,
    ):
        """Create the loss.

        Args:
            scale: The scale ``s`` (> 0).
            margin: The additive margin ``m`` (in [0, 1)).
            always_subtract: Use the paper's unconditional margin.
            name: Loss name.
            **kwargs: Standard ``keras.losses.Loss`` arguments (reduction, ...).

        Raises:
            ValueError: ``scale`` or ``margin`` is out of range.
        """
        if not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        if not 0.0 <= margin < 1.0:
            raise ValueError(f"margin must be in [0, 1), got {margin}")
        super().__init__(name=name, **kwargs)
        self.scale = float(scale)
        self.margin = float(margin)
        self.always_subtract = bool(always_subtract)

    def call(self, y_true, y_pred):
        """Return the per-sample loss."""
        return am_softmax_loss(y_true, y_pred, self.scale, self.margin, self.always_subtract)

    def get_config(self) -> dict:
        """Return the constructor arguments for serialisation."""
        config = super().get_config()
        config.update(scale=self.scale, margin=self.margin, always_subtract=self.always_subtract)
        return config
