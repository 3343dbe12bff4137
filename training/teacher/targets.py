"""Teacher targets of a distillation run (labels plus packed teacher vectors); suspect crops."""

from __future__ import annotations

import json
from collections import defaultdict
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


MIN_CROPS = 3  # a person needs this many crops with a vector for a median to mean anything


def suspects(identities: list[str], vectors: np.ndarray, mask: np.ndarray, below: float):
    """Rows whose median centred cosine to the same person's other rows is below ``below``.

    Args:
        identities: The person of each row.
        vectors: Teacher vectors (rows without one are zero).
        mask: 1 where a row has a vector.
        below: The median cosine under which a row is a suspect.

    Returns:
        ``[(row, median cosine, the person's rows with a vector), ...]``, lowest first.
    """
    unit, _ = centred(vectors, mask)
    rows_of = defaultdict(list)
    for row, identity in enumerate(identities):
        if mask[row] > 0:
            rows_of[identity].append(row)
    found = []
    for rows in (rows for rows in rows_of.values() if len(rows) >= MIN_CROPS):
        cosines = unit[rows] @ unit[rows].T
        for position, row in enumerate(rows):
            median = float(np.median(np.delete(cosines[position], position)))
            if median < below:
                found.append((row, median, len(rows)))
    return sorted(found, key=lambda item: item[1])


def read_suspects(report: Path) -> set[Path]:
    """Return the crops a report of :func:`run` names as suspects (absolute paths).

    Raises:
        ValueError: ``report`` is not such a report.
    """
    try:
        listed = json.loads(report.read_text(encoding="utf-8"))["suspects"]
        return {Path(item["crop"]).resolve() for item in listed}
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ValueError(f"{report} is not a `training audit` report: {error}") from error
