"""Distillation losses: the student's embedding learns from a teacher's embedding.

Both losses take ``y_true`` = the teacher vector with a last column of 1 (the image has a
teacher vector) or 0 (it has none; the row is ignored), shape (batch, teacher_dim + 1).

- :class:`ProjectionCosineLoss` — a hint loss (Romero et al., "FitNets: Hints for Thin Deep
  Nets", ICLR 2015, arXiv:1412.6550): a training-only linear regressor maps the student
  feature to the teacher's space, and the loss is ``1 - cos(projection, teacher)``.
- :class:`SimilarityMatrixLoss` — similarity-preserving distillation (Tung & Mori,
  "Similarity-Preserving Knowledge Distillation", ICCV 2019, arXiv:1907.09682; the
  pairwise view of Park et al., "Relational Knowledge Distillation", CVPR 2019): the
  batch's matrix of cosine similarities between student features is pulled towards the
  teacher's. It is dimension-free, so it acts on the served 512-d feature directly.
- :class:`ContrastiveHintLoss` — the hint loss plus contrastive representation distillation
  (Tian, Krishnan & Isola, "Contrastive Representation Distillation", ICLR 2020,
  arXiv:1910.10699), in-batch: each projection must be nearer its own image's teacher vector
  than the batch's other teacher vectors (InfoNCE over cosines / temperature).
"""

from __future__ import annotations

import keras
from keras import ops


def _split_target(y_true):
    """``(teacher vectors, mask)`` from the packed target."""
    y_true = ops.cast(y_true, "float32")
    return y_true[:, :-1], y_true[:, -1]


def _unit(x):
    """Rows scaled to unit L2 length (zero rows stay zero)."""
    x = ops.cast(x, "float32")
    return x / ops.maximum(ops.sqrt(ops.sum(x * x, axis=-1, keepdims=True)), 1e-12)


def projection_cosine_loss(y_true, y_pred):
    """Per-sample ``1 - cos(student projection, teacher)``, 0 where there is no teacher.

    Args:
        y_true: Teacher vectors plus the mask column, (batch, d + 1).
        y_pred: The student's projection, (batch, d).

    Returns:
        float32 losses, shape (batch,).
    """
    teacher, mask = _split_target(y_true)
    cosine = ops.sum(_unit(y_pred) * _unit(teacher), axis=-1)
    return (1.0 - cosine) * mask


def similarity_matrix_loss(y_true, y_pred):
    """Per-sample mean squared gap between student and teacher pairwise cosines.

    Only pairs where both images have a teacher vector count; the diagonal is excluded.

    Args:
        y_true: Teacher vectors plus the mask column, (batch, d + 1).
        y_pred: Student features, (batch, any width).

    Returns:
        float32 losses, shape (batch,): row ``i`` averages over its valid pairs ``(i, j)``.
    """
    teacher, mask = _split_target(y_true)
    student = _unit(y_pred)
    teacher = _unit(teacher)
    gap = ops.matmul(student, ops.transpose(student)) - ops.matmul(teacher, ops.transpose(teacher))
    size = ops.shape(mask)[0]
    pairs = ops.expand_dims(mask, 0) * ops.expand_dims(mask, 1) * (1.0 - ops.eye(size))
    per_row = ops.sum(gap * gap * pairs, axis=-1)
    return per_row / ops.maximum(ops.sum(pairs, axis=-1), 1.0)


def contrastive_hint_loss(y_true, y_pred, weight: float, temperature: float):
    """Per-sample ``1 - cos`` hint plus ``weight`` x in-batch InfoNCE against the teachers.

    Row ``i``'s InfoNCE is ``logsumexp_j(cos(p_i, t_j) / T) - cos(p_i, t_i) / T`` over the
    rows ``j`` with a teacher vector; rows without one contribute 0 and are no negatives.

    Args:
        y_true: Teacher vectors plus the mask column, (batch, d + 1).
        y_pred: The student's projection, (batch, d).
        weight: Weight of the InfoNCE term relative to the hint.
        temperature: Softmax temperature ``T`` of the cosines.

    Returns:
        float32 losses, shape (batch,).
    """
    teacher, mask = _split_target(y_true)
    cosines = ops.matmul(_unit(y_pred), ops.transpose(_unit(teacher)))
    own = ops.diagonal(cosines)
    logits = ops.where(ops.expand_dims(mask, 0) > 0, cosines / temperature, -1e9)
    info_nce = ops.logsumexp(logits, axis=-1) - own / temperature
    return projection_cosine_loss(y_true, y_pred) + weight * info_nce * mask


@keras.saving.register_keras_serializable(package="faceverify")
class ProjectionCosineLoss(keras.losses.Loss):
    """Keras loss wrapping :func:`projection_cosine_loss`."""

    def __init__(self, name: str = "projection_cosine_loss", **kwargs):
        """Create the loss (standard ``keras.losses.Loss`` arguments)."""
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        """Return the per-sample loss."""
        return projection_cosine_loss(y_true, y_pred)


@keras.saving.register_keras_serializable(package="faceverify")
class SimilarityMatrixLoss(keras.losses.Loss):
    """Keras loss wrapping :func:`similarity_matrix_loss`."""

    def __init__(self, name: str = "similarity_matrix_loss", **kwargs):
        """Create the loss (standard ``keras.losses.Loss`` arguments)."""
        super().__init__(name=name, **kwargs)

    def call(self, y_true, y_pred):
        """Return the per-sample loss."""
        return similarity_matrix_loss(y_true, y_pred)


@keras.saving.register_keras_serializable(package="faceverify")
class ContrastiveHintLoss(keras.losses.Loss):
    """Keras loss wrapping :func:`contrastive_hint_loss`."""

    def __init__(
        self,
        weight: float,
        temperature: float,
        name: str = "contrastive_hint_loss",
        **kwargs,
    ):
        """Create the loss.

        Raises:
            ValueError: ``weight`` < 0 or ``temperature`` <= 0.
        """
        if weight < 0 or temperature <= 0:
            raise ValueError(f"need weight >= 0 and temperature > 0, got {weight}, {temperature}")
        super().__init__(name=name, **kwargs)
        self.weight = float(weight)
        self.temperature = float(temperature)

    def call(self, y_true, y_pred):
        """Return the per-sample loss."""
        return contrastive_hint_loss(y_true, y_pred, self.weight, self.temperature)

    def get_config(self) -> dict:
        """Return the constructor arguments."""
        return {**super().get_config(), "weight": self.weight, "temperature": self.temperature}
