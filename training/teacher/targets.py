"""Training targets of a distillation run: class labels plus packed teacher vectors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from training.data.folders import UNLABELLED, ImageRecord
from training.data.vectors import unit_rows
from training.teacher.cache import TeacherEmbeddings


def crop_keys(records: Sequence[ImageRecord], cache: Path) -> list[str]:
    """Each record's key in the teacher cache: its crop path relative to ``cache``.

    Raises:
        ValueError: A record is not a crop of that cache.
    """
    return path_keys([record.path for record in records], cache)


def path_keys(paths: Sequence[Path], cache: Path) -> list[str]:
    """Each crop path's key in the teacher cache: the path relative to ``cache``.

    Raises:
        ValueError: A path is not a crop of that cache.
    """
    root = Path(cache).resolve()
    keys = []
    for given in paths:
        path = Path(given).resolve()
        if not path.is_relative_to(root):
            raise ValueError(
                f"{given} is not inside the teacher's cache {cache}: train "
                "on the crops of the cache that `training teacher` embedded"
            )
        keys.append(str(path.relative_to(root)))
    return keys


def centred(vectors: np.ndarray, mask: np.ndarray, mean: np.ndarray | None = None):
    """Teacher vectors minus their mean (over rows with a vector), back to unit length.

    dlib's unit vectors share a large common direction (any two faces have cosine ~0.8);
    centring keeps every distance and spreads the cosines the similarity loss compares.

    Returns:
        ``(centred vectors, the mean used)``; rows without a vector stay zero.
    """
    if mean is None:
        mean = vectors[mask > 0].mean(axis=0) if mask.any() else np.zeros(vectors.shape[1])
    shifted = (vectors - mean) * mask[:, None]
    return unit_rows(shifted).astype(np.float32), mean.astype(np.float32)


def packed_teacher(
    records: Sequence[ImageRecord],
    teacher: TeacherEmbeddings,
    cache: Path,
    mean: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Centred teacher vectors with the has-a-vector mask as a last column.

    Returns:
        ``(packed (n, d + 1) float32, the centring mean)``.
    """
    vectors, mask = teacher.lookup(crop_keys(records, cache))
    vectors, mean = centred(vectors, mask, mean)
    return np.concatenate([vectors, mask[:, None]], axis=1), mean


def class_labels(records: Sequence[ImageRecord], labels: dict[str, int]) -> np.ndarray:
    """int32 class of each record; -1 for an unlabelled image.

    Raises:
        KeyError: A labelled record's identity has no class.
    """
    return np.asarray(
        [-1 if r.identity == UNLABELLED else labels[r.identity] for r in records], dtype=np.int32
    )


def distillation_targets(
    records: Sequence[ImageRecord],
    labels: dict[str, int],
    teacher: TeacherEmbeddings,
    cache: Path,
    mean: np.ndarray | None = None,
) -> tuple[dict, np.ndarray]:
    """Build the ``y`` dict of :func:`training.model.network.wrap_distillation`'s outputs.

    Returns:
        ``({"predictions", "projection", "embedding"}, the centring mean)``.
    """
    packed, mean = packed_teacher(records, teacher, cache, mean)
    return {
        "predictions": class_labels(records, labels),
        "projection": packed,
        "embedding": packed,
    }, mean
