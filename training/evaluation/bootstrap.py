"""Is one model really better than another? A paired bootstrap over people.

Verification pairs are not independent: every pair of a person shares that person's photos, so
an interval that resamples pairs is too narrow. This resamples *people* with replacement (the
cluster bootstrap; Field & Welsh, "Bootstrapping clustered data", JRSS B 69(3), 2007) and
scores both models on the same resampled pairs each time: a person drawn k times counts each
of their genuine pairs k times, and an impostor pair of people drawn k and l times, k x l times.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from training.evaluation.verification import eer_of_roc, roc, tar_of_roc

if TYPE_CHECKING:
    from training.data.pairs import Pair

Metric = Callable[[np.ndarray, np.ndarray, np.ndarray], float]  # of (fpr, tpr, thresholds)
METRICS: dict[str, Metric] = {
    "eer": lambda fpr, tpr, _: eer_of_roc(fpr, tpr),
    "tar_at_far_0.001": lambda fpr, tpr, thresholds: tar_of_roc(fpr, tpr, thresholds, 1e-3)[0],
}
LOWER_IS_BETTER = {"eer": True, "tar_at_far_0.001": False}


@dataclass(frozen=True)
class PairOwners:
    """Who each pair belongs to: the index of each side's person, and whether it is genuine."""

    first: np.ndarray
    second: np.ndarray
    labels: np.ndarray

    @classmethod
    def from_identities(
        cls, first: Sequence[str], second: Sequence[str], labels: Sequence[bool]
    ) -> PairOwners:
        """Build the owners from each side's person name, numbering the people."""
        people = {name: index for index, name in enumerate(sorted({*first, *second}))}
        return cls(
            np.array([people[name] for name in first], np.int64),
            np.array([people[name] for name in second], np.int64),
            np.asarray(labels, dtype=bool),
        )

    @classmethod
    def of_pairs(cls, pairs: Sequence[Pair], identity_of: Mapping[Path, str]) -> PairOwners:
        """Build the owners of image pairs, looking up each image's person in ``identity_of``."""
        return cls.from_identities(
            [identity_of[pair.first] for pair in pairs],
            [identity_of[pair.second] for pair in pairs],
            [pair.same for pair in pairs],
        )

    @property
    def people(self) -> int:
        """How many distinct people the pairs involve."""
        return int(max(self.first.max(), self.second.max())) + 1

    def weights(self, draws: np.ndarray) -> np.ndarray:
        """Each pair's count in a resample where person i was drawn ``draws[i]`` times."""
        both = draws[self.first] * draws[self.second]
        return np.where(self.labels, draws[self.first], both)


def compare_models(
    owners: PairOwners,
    scores_a: np.ndarray,
    scores_b: np.ndarray,
    resamples: int,
    seed: int,
) -> dict[str, dict]:
    """Each metric of A and B, and B minus A, with 95% people-bootstrap intervals.

    Returns:
        Per metric: ``a`` and ``b`` with their intervals ``a_ci95`` and ``b_ci95``,
        ``difference`` (B - A) with ``ci95``, and ``share_b_better``, the share of resamples
        in which B is better.
    """
    if not len(scores_a) == len(scores_b) == len(owners.labels):
        raise ValueError(
            f"{len(owners.labels)} pairs but {len(scores_a)} and {len(scores_b)} scores"
        )
    rng = np.random.default_rng(seed)
    samples = {name: [] for name in METRICS}  # (A, B) of each resample
    for _ in range(resamples):
        draws = np.bincount(rng.integers(0, owners.people, owners.people), minlength=owners.people)
        chosen = np.repeat(np.arange(len(owners.labels)), owners.weights(draws))
        labels = owners.labels[chosen]
        if labels.all() or not labels.any():
            continue  # a resample without both kinds of pair measures nothing
        a, b = figures(labels, scores_a[chosen]), figures(labels, scores_b[chosen])
        for name in METRICS:
            samples[name].append((a[name], b[name]))
    a, b = figures(owners.labels, scores_a), figures(owners.labels, scores_b)
    return {
        name: summarise(name, a[name], b[name], np.array(samples[name]).reshape(-1, 2))
        for name in METRICS
    }


def figures(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    """Return every metric of one set of scores, from a single ROC curve."""
    curve = roc(labels, scores)
    return {name: metric(*curve) for name, metric in METRICS.items()}


def summarise(name: str, a: float, b: float, samples: np.ndarray) -> dict:
    """Report the observed figures and the bootstrap distributions (rows: A, B per resample)."""
    if samples.size == 0:
        raise ValueError("no resample held both genuine and impostor pairs")
    differences = samples[:, 1] - samples[:, 0]
    better = differences < 0 if LOWER_IS_BETTER[name] else differences > 0
    return {
        "a": float(a),
        "a_ci95": interval(samples[:, 0]),
        "b": float(b),
        "b_ci95": interval(samples[:, 1]),
        "difference": float(b - a),
        "ci95": interval(differences),
        "share_b_better": float(better.mean()),
        "resamples": len(samples),
    }


def interval(values: np.ndarray) -> list[float]:
    """Return the central 95% of ``values`` (2.5th and 97.5th percentiles)."""
    low, high = np.percentile(values, [2.5, 97.5])
    return [float(low), float(high)]
