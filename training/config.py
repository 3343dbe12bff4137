"""Training configuration: one frozen dataclass, its allowed values and derived properties.

The named presets built from it live in :mod:`training.presets`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

SPLIT_KINDS = ("per_image", "identity")
SCHEDULES = ("constant", "cosine")
PRECISIONS = ("float32", "mixed")
DISTILL_KINDS = ("none", "projection", "similarity", "both")
VALIDATION_KINDS = ("images", "people")
# Stages whose output map can feed a hint head (``training.model.network.wrap_distillation``), each
# weighted by its ``stage<N>_hint_weight`` field.
HINT_STAGES = (2, 3)


def stage_hint_head(stage: int) -> str:
    """Name of the hint head on a stage's output map: its layer and its model output."""
    return f"stage{stage}_projection"


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (besides the data folders).

    Derive variants with ``dataclasses.replace``; instances are never mutated.
    """

    preset: str = "custom"
    input_size: int = 112
    channels: int = 3
    stage1_stride: int = 2
    scale: float = 30.0
    margin: float = 0.35
    always_subtract: bool = False
    dropout: float = 0.5
    bn_momentum: float = 0.9  # see training.model.network.BN_MOMENTUM
    epochs: int = 20
    batch_size: int = 64
    steps_per_epoch: int | None = None  # None: one pass over the training images
    learning_rate: float = 1e-3
    schedule: str = "cosine"
    warmup_epochs: float = 1.0
    weight_decay: float = 0.0  # > 0 switches Adam to AdamW
    split: str = "identity"
    validation: str = "images"  # images: new photos of training people; people: new people
    validation_fraction: float = 0.1  # share of the training people's images, or of the people
    holdout_fraction: float = 0.15  # share of people held out (identity split only)
    # Share of the people left after the hold-out (and of the unlabelled faces) that the run
    # uses at all, drawn with split_seed: < 1 for data-scaling studies (training.data.datasets).
    people_fraction: float = 1.0
    seed: int = 0  # weights, shuffling, augmentation
    split_seed: int = 0  # who is held out and who validates: replicate runs keep it, vary seed
    patience: int = 0  # early-stopping patience in epochs; 0 disables it
    precision: str = "float32"
    augment: bool = True
    client_augment: bool = False  # grey, JPEG, down-up scaling, rotation, colour (augment.py)
    erase: float = 0.0  # share of training images with a random rectangle erased (augment.py)
    distill: str = "none"  # teacher terms added to AM-Softmax (training.model.distillation)
    classifier_weight: float = 1.0  # weight of the AM-Softmax loss; 0 = teacher terms alone
    projection_weight: float = 10.0  # weight of ProjectionCosineLoss
    similarity_weight: float = 30.0  # weight of SimilarityMatrixLoss
    # > 0: the projection's hint gains an in-batch contrastive term of this weight
    # (training.model.distillation.ContrastiveHintLoss) at this softmax temperature.
    contrastive_weight: float = 0.0
    contrastive_temperature: float = 0.1
    # Weights of further hint losses, each from a stage's output map (training.model.network); 0 =
    # no
    # head on that stage.
    stage2_hint_weight: float = 0.0
    stage3_hint_weight: float = 0.0
    # Teacher-mined batches (training.teacher.neighbours): groups of an image and its nearest
    # training images in the teacher's space, drawn from its `neighbour_pool` nearest; 0 =
    # random batches.
    neighbour_group: int = 0
    neighbour_pool: int = 16

    def __post_init__(self) -> None:
        """Validate the fields.

        Raises:
            ValueError: A field is out of range or not one of its allowed values.
        """
        bad = [name for name, ok in self._field_checks().items() if not ok]
        if bad:
            values = ", ".join(f"{name}={getattr(self, name)!r}" for name in bad)
            raise ValueError(f"invalid training configuration: {values}")

    def _field_checks(self) -> dict[str, bool]:
        """Field name -> whether its value is allowed (given the other fields)."""
        return {
            "split": self.split in SPLIT_KINDS,
            "schedule": self.schedule in SCHEDULES,
            "precision": self.precision in PRECISIONS,
            "channels": self.channels in (1, 3),
            "stage1_stride": self.stage1_stride in (1, 2),
            "input_size": self.input_size >= 16,
            "epochs": self.epochs >= 1,
            "batch_size": self.batch_size >= 1,
            "learning_rate": self.learning_rate > 0,
            "validation_fraction": 0.0 <= self.validation_fraction < 1.0,
            "holdout_fraction": 0.0 <= self.holdout_fraction < 1.0,
            "people_fraction": 0.0 < self.people_fraction <= 1.0,
            # Validation people are taken from the people left after the identity hold-out.
            "validation": self.validation in VALIDATION_KINDS
            and (self.validation == "images" or self.split == "identity"),
            "steps_per_epoch": self.steps_per_epoch is None or self.steps_per_epoch >= 1,
            "distill": self.distill in DISTILL_KINDS,
            # Only distillation runs weigh their terms; without a teacher it must stay 1.
            "classifier_weight": self.classifier_weight >= 0
            and (self.distill != "none" or self.classifier_weight == 1.0),
            "projection_weight": self.projection_weight >= 0,
            "similarity_weight": self.similarity_weight >= 0,
            "contrastive_weight": self.contrastive_weight >= 0
            and (self.contrastive_weight == 0.0 or self.has_projection_hint),
            "contrastive_temperature": self.contrastive_temperature > 0,
            **{
                f"stage{stage}_hint_weight": weight >= 0
                and (self.distill != "none" or weight == 0.0)
                for stage, weight in self._stage_hint_weights.items()
            },
            "erase": 0.0 <= self.erase <= 1.0 and (self.augment or self.erase == 0.0),
            "neighbour_group": self.neighbour_group == 0
            or (
                2 <= self.neighbour_group <= self.neighbour_pool + 1
                and self.batch_size % self.neighbour_group == 0
                and self.distill != "none"
            ),
            "neighbour_pool": self.neighbour_pool >= 1,
        }

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """The model input shape ``(size, size, channels)``."""
        return (self.input_size, self.input_size, self.channels)

    @property
    def monitor(self) -> tuple[str, str]:
        """Validation metric that picks the best checkpoint, and its mode.

        Closed-set accuracy for the per-image split (the original run's figure); the
        margin loss for the identity split, where accuracy on the training people
        saturates long before the embedding stops improving; the verification EER on
        validation people training never saw (:mod:`training.run.people_validation`).
        """
        if self.validation == "people":
            return ("val_eer", "min")
        if self.split == "identity":
            return ("val_loss", "min")
        # A distillation model has several outputs: Keras prefixes the metric with its own.
        return ("val_predictions_accuracy" if self.distill != "none" else "val_accuracy", "max")

    @property
    def has_projection_hint(self) -> bool:
        """Whether the run trains the teacher projection's hint (``distill`` projection or both)."""
        return self.distill in ("projection", "both")

    @property
    def _stage_hint_weights(self) -> dict[int, float]:
        return {stage: getattr(self, f"stage{stage}_hint_weight") for stage in HINT_STAGES}

    @property
    def stage_hints(self) -> dict[int, float]:
        """Stage -> weight of each stage hint head the model has (``wrap_distillation``)."""
        return {stage: w for stage, w in self._stage_hint_weights.items() if w > 0}

    @property
    def loss_weights(self) -> dict[str, float]:
        """Weight of each output's loss in a distillation run (unused terms weigh 0)."""
        weights = {
            "predictions": self.classifier_weight,
            "projection": self.projection_weight if self.has_projection_hint else 0.0,
            "embedding": self.similarity_weight if self.distill in ("similarity", "both") else 0.0,
        }
        for stage, weight in self.stage_hints.items():
            weights[stage_hint_head(stage)] = weight
        return weights

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a JSON-ready dict."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build a config from :meth:`to_dict` output, ignoring keys that are not fields.

        ``config.json`` of a run holds the fields plus run facts (data, command, ...).
        """
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in names})
