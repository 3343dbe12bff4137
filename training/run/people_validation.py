"""Open-set validation: verification EER on validation people training never saw.

Closed-set validation (new photos of the training people) rewards separating *those*
people, and keeps improving while the embedding gets worse for everyone else. With
``validation="people"`` the best checkpoint is the one that verifies new people best.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from training.data.pairs import impostor_index_pairs
from training.evaluation.verification import cosine_similarities, equal_error_rate
from training.model.export import joined_layers
from training.model.network import (
    FEATURE_LAYER,
    TEACHER_PROJECTION,
    feature_model,
    has_teacher_projection,
)

VAL_EER = "val_eer"
VAL_EER_JOINED = "val_eer_joined"  # feature + teacher projection, as `export` can serve them
GENUINE_PER_PERSON = 50  # at most this many genuine pairs per person: no person dominates
IMPOSTOR_PAIRS = 20_000


@dataclass(frozen=True)
class IndexPairs:
    """Pairs of image indices and whether each pair shows one person."""

    first: np.ndarray
    second: np.ndarray
    same: np.ndarray

    def __post_init__(self) -> None:
        """Reject pairs that cannot give an EER.

        Raises:
            ValueError: No genuine or no impostor pair.
        """
        if not self.same.any() or self.same.all():
            raise ValueError(
                "validation people need genuine and impostor pairs: at least two people, "
                "one of them with two images; raise the validation fraction"
            )


def index_pairs(
    identities: Sequence[str],
    seed: int,
    genuine_per_person: int = GENUINE_PER_PERSON,
    impostors: int = IMPOSTOR_PAIRS,
) -> IndexPairs:
    """Seeded genuine and impostor pairs over images labelled ``identities``.

    Args:
        identities: The identity of each image.
        seed: Seed of the sampling; the same seed and identities give the same pairs.
        genuine_per_person: Cap on each person's genuine pairs (sampled when over it).
        impostors: Impostor pairs wanted (distinct; fewer when fewer exist).

    Raises:
        ValueError: No genuine or no impostor pair can be formed.
    """
    rng = random.Random(seed)
    groups: dict[str, list[int]] = {}
    for index, identity in enumerate(identities):
        groups.setdefault(identity, []).append(index)
    genuine: list[tuple[int, int]] = []
    for images in groups.values():
        pairs = list(itertools.combinations(images, 2))
        genuine += rng.sample(pairs, min(genuine_per_person, len(pairs)))
    impostor = impostor_index_pairs(identities, impostors, rng)
    rows = np.asarray(genuine + impostor, dtype=np.int64).reshape(-1, 2)
    same = np.asarray([True] * len(genuine) + [False] * len(impostor))
    return IndexPairs(rows[:, 0], rows[:, 1], same)


def trained_before(validation_people: set[str], init_from: Path) -> int:
    """How many validation people the ``--init-from`` checkpoint's own run trained on.

    Reads ``labels.json`` beside a run's ``.keras`` checkpoint; 0 when there is none
    (an export directory, or a checkpoint outside a run directory).
    """
    labels = init_from.parent / "labels.json"
    if init_from.is_dir() or not labels.is_file():
        return 0
    return len(validation_people & set(json.loads(labels.read_text(encoding="utf-8"))))


class PeopleValidation(keras.callbacks.Callback):
    """Log ``val_eer``, the validation people's verification EER, after every epoch.

    A model with a teacher projection also gets ``val_eer_joined``: the EER of the feature and
    the projection served together with equal weight (``export --embedding-layer feature
    teacher_projection``), for the record; checkpoints are still chosen by ``val_eer``.

    Place it before the callbacks that read the epoch's logs (checkpoint, CSV log,
    early stopping): Keras hands every callback the same logs dict, in list order.
    """

    def __init__(self, pixels: np.ndarray, pairs: IndexPairs, batch_size: int) -> None:
        super().__init__()
        self.pixels = pixels
        self.pairs = pairs
        self.batch_size = batch_size

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        """Score the pairs on the feature layer, and with the projection where there is one."""
        if logs is None:
            return
        if not has_teacher_projection(self.model):
            logs[VAL_EER] = self.eer(self.embed(feature_model(self.model)))
            return

        joined = self.embed(joined_layers(self.model, (FEATURE_LAYER, TEACHER_PROJECTION)))
        width = self.model.get_layer(FEATURE_LAYER).output.shape[-1]
        logs[VAL_EER] = self.eer(joined[:, :width])  # the unit feature: the feature's cosines
        logs[VAL_EER_JOINED] = self.eer(joined)

    def eer(self, vectors: np.ndarray) -> float:
        """Return the validation pairs' EER on one vector per validation image."""
        scores = cosine_similarities(vectors[self.pairs.first], vectors[self.pairs.second])
        return equal_error_rate(self.pairs.same, scores)

    def embed(self, extractor: keras.Model) -> np.ndarray:
        """Return every validation image's vector, batch by batch (inference mode)."""
        batches = [
            keras.ops.convert_to_numpy(
                extractor(
                    self.pixels[start : start + self.batch_size].astype("float32"), training=False
                )
            )
            for start in range(0, len(self.pixels), self.batch_size)
        ]
        return np.concatenate(batches)
