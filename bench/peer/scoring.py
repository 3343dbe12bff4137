"""Pair scores for each system, with pairs a system could not embed scored "not verified"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bench.peer.embedders import Embedded
from training.data.folders import ImageRecord, group_by_identity
from training.data.pairs import genuine_pairs, impostor_pairs


@dataclass(frozen=True)
class PairSet:
    """Verification pairs as indices into one list of images."""

    first: np.ndarray  # int indices
    second: np.ndarray  # int indices
    same: np.ndarray  # bool, True for genuine pairs

    def subset(self, keep: np.ndarray) -> PairSet:
        """The pairs where ``keep`` (bool, one per pair) is True."""
        return PairSet(self.first[keep], self.second[keep], self.same[keep])

    def counts(self) -> dict[str, int]:
        """Numbers of genuine and impostor pairs."""
        genuine = int(self.same.sum())
        return {"pairs": len(self.same), "genuine": genuine, "impostor": len(self.same) - genuine}


def make_pairs(records: Sequence[ImageRecord], max_impostors: int, seed: int) -> PairSet:
    """Every genuine pair of the records plus up to ``max_impostors`` seeded impostor pairs.

    Args:
        records: The images, in the order their embeddings will be listed.
        max_impostors: Impostor pairs to sample (``training.data.pairs.impostor_pairs``).
        seed: Seed of the impostor sampling.

    Returns:
        The pairs as indices into ``records``.
    """
    groups = {name: [r.path for r in group] for name, group in group_by_identity(records).items()}
    pairs = genuine_pairs(groups) + impostor_pairs(groups, max_impostors, seed)
    index = {record.path: position for position, record in enumerate(records)}
    return PairSet(
        first=np.array([index[pair.first] for pair in pairs], dtype=int),
        second=np.array([index[pair.second] for pair in pairs], dtype=int),
        same=np.array([pair.same for pair in pairs], dtype=bool),
    )


def embedded_mask(results: Sequence[Embedded]) -> np.ndarray:
    """Bool per image: True where the system found a face and produced an embedding."""
    return np.array([result.embedding is not None for result in results], dtype=bool)


def pair_mask(pairs: PairSet, embedded: np.ndarray) -> np.ndarray:
    """Bool per pair: True where both images of the pair were embedded."""
    return embedded[pairs.first] & embedded[pairs.second]


def similarity(a: np.ndarray, b: np.ndarray, metric: str) -> float:
    """Higher = more alike: cosine similarity, or minus the euclidean distance."""
    if metric == "cosine":
        return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    if metric == "euclidean":
        return -float(np.linalg.norm(a - b))
    raise ValueError(f"unknown metric {metric!r}")


def pair_scores(results: Sequence[Embedded], pairs: PairSet, metric: str) -> np.ndarray:
    """Similarity of every pair; a pair with an image lacking an embedding is "not verified".

    Such pairs get a score below every real score of this run (the lowest real score
    minus one), so they are rejected at any threshold the metrics try, yet stay finite
    for ROC code that refuses infinities.

    Args:
        results: Embeddings of the images, None where no face was found.
        pairs: The pairs to score.
        metric: ``"cosine"`` or ``"euclidean"``.

    Returns:
        float64 scores, one per pair.
    """
    scores = np.full(len(pairs.same), np.nan)
    for k, (i, j) in enumerate(zip(pairs.first, pairs.second, strict=True)):
        a, b = results[i].embedding, results[j].embedding
        if a is not None and b is not None:
            scores[k] = similarity(a, b, metric)
    finite = scores[~np.isnan(scores)]
    floor = (finite.min() if finite.size else 0.0) - 1.0
    return np.where(np.isnan(scores), floor, scores)
