"""Teacher-mined batches: every batch holds groups of faces the teacher finds alike.

Most training people have one to three photos, so a random batch of 64 holds almost only
pairs of strangers the teacher already finds unrelated, and the similarity-matrix loss
(:mod:`training.model.distillation`) mostly teaches "far apart". Verification errors come from the
hard pairs: strangers who look alike and unlike photos of one person. Each group here is an
anchor image and some of its nearest training images in the teacher's space (same person or
not), so every batch carries such pairs to the loss: batch mining as in Schroff et al.,
"FaceNet", CVPR 2015 (arXiv:1503.03832), with the teacher's neighbours in place of the
student's.
"""

from __future__ import annotations

import numpy as np

from training.data.vectors import unit_rows


def teacher_neighbours(
    vectors: np.ndarray, mask: np.ndarray, pool: int, seed: int = 0, chunk: int = 2048
) -> np.ndarray:
    """Each image's ``pool`` nearest other images by teacher cosine.

    Args:
        vectors: Teacher vectors, (n, d); rows without one are ignored.
        mask: 1 where the row has a teacher vector, 0 where not.
        pool: Neighbours kept per image.
        seed: Seed of the random neighbours of rows without a teacher vector.
        chunk: Rows compared at a time (bounds memory at ``chunk * n`` floats).

    Returns:
        int64 indices, (n, pool): nearest first among rows with a vector; random rows for a
        row without one.

    Raises:
        ValueError: Fewer than ``pool + 1`` rows have a teacher vector.
    """
    known = np.flatnonzero(np.asarray(mask) > 0)
    if known.size < pool + 1:
        raise ValueError(f"{known.size} images with a teacher vector; {pool + 1} needed")
    rng = np.random.default_rng(seed)
    neighbours = known[rng.integers(0, known.size, size=(len(vectors), pool))]
    units = unit_rows(np.asarray(vectors, np.float32)[known])
    for start in range(0, known.size, chunk):
        rows = known[start : start + chunk]
        cosines = units[start : start + chunk] @ units.T
        cosines[np.arange(len(rows)), np.arange(start, start + len(rows))] = -np.inf
        nearest = np.argpartition(-cosines, pool, axis=1)[:, :pool]
        ranked = np.take_along_axis(cosines, nearest, axis=1).argsort(axis=1)[:, ::-1]
        neighbours[rows] = known[np.take_along_axis(nearest, ranked, axis=1)]
    return neighbours


def neighbour_order(neighbours: np.ndarray, group: int, length: int, seed: int) -> np.ndarray:
    """Return a training order of ``length`` image indices made of neighbour groups.

    Passes over the images in a fresh seeded shuffle each; every anchor is followed by
    ``group - 1`` of its neighbours, drawn without replacement.

    Args:
        neighbours: (n, pool) from :func:`teacher_neighbours`.
        group: Images per group (anchor included); batches should be a multiple of it.
        length: Indices wanted (``steps * batch``), a multiple of ``group``.
        seed: Seed of the anchors' order and the neighbours drawn.

    Returns:
        int64 indices, (length,).
    """
    count, pool = neighbours.shape
    if not 2 <= group <= pool + 1 or length % group:
        raise ValueError(f"group {group} needs 2..{pool + 1} and to divide length {length}")
    rng = np.random.default_rng(seed)
    anchors = np.concatenate([rng.permutation(count) for _ in range(-(-length // group // count))])[
        : length // group
    ]
    picks = rng.random((anchors.size, pool)).argsort(axis=1)[:, : group - 1]
    partners = np.take_along_axis(neighbours[anchors], picks, axis=1)
    return np.concatenate([anchors[:, None], partners], axis=1).reshape(-1)
