"""Strict operating points calibrated on every held-out set, with a margin measured across sets.

A FAR measured on one kind of photo does not carry over to another: on a public in-the-wild
set, the cosine calibrated for FAR 1e-5 let through about 3e-5. So the strict points (FAR
1e-3 .. 1e-5, those ``/identify`` builds its bound on) are calibrated on the impostor pairs of
all held-out sets pooled, and each gets a ``far_margin``: the points are calibrated on every
combination of sets and their FAR measured on a set left out; the margin is the worst
measured / target FAR (where both sides expect ``MIN_EXPECTED`` false accepts and the test set
has ``MIN_PEOPLE`` people), never below 1 nor below a more lenient point's margin (a tail
moves at least as much as the body of the distribution).

Pairs are formed within a set (both photos from one folder, as a gallery of one kind of photo
holds): pairs across sets differ in lighting, framing and resolution, easy impostors that
would make a lenient threshold look safe.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from facecore.metadata import FarCalibration, ModelMetadata, OperatingPoint
from training.evaluation.calibration import operating_points

STRICT_FAR_TARGETS = (1e-3, 1e-4, 1e-5)
MIN_EXPECTED = 5.0  # false accepts a set must expect at a FAR to calibrate or measure it
MIN_PEOPLE = 20  # people a set needs for its impostor pairs to measure a rate


@dataclass(frozen=True, eq=False)  # holds arrays: compare by identity
class SetPairs:
    """Cosine scores of every pair of photos within one set."""

    genuine: np.ndarray
    impostor: np.ndarray
    people: int


@dataclass(frozen=True)
class FoldShift:
    """A point calibrated without ``test_set``, measured on it."""

    far_target: float
    test_set: str
    calibrated_on: tuple[str, ...]
    cosine: float
    false_accepts: int
    ratio: float  # FAR measured on test_set / FAR target


def within_set_pairs(
    embeddings: np.ndarray, identities: list[str], sets: list[str]
) -> dict[str, SetPairs]:
    """Score every pair of photos that come from the same set (rows of unit embeddings)."""
    ids, names = np.asarray(identities), np.asarray(sets)
    result = {}
    for name in sorted(set(sets)):
        rows = np.flatnonzero(names == name)
        first, second = np.triu_indices(len(rows), k=1)
        scores = np.einsum("ij,ij->i", embeddings[rows[first]], embeddings[rows[second]])
        same = ids[rows[first]] == ids[rows[second]]
        result[name] = SetPairs(scores[same], scores[~same], len(set(ids[rows])))
    return result


def pooled(pairs: dict[str, SetPairs], names: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """Labels (True genuine) and scores of the pairs of ``names`` together."""
    chosen = [pairs[name] for name in names]
    scores = np.concatenate([p for s in chosen for p in (s.genuine, s.impostor)])
    labels = np.concatenate(
        [np.full(len(p), g) for s in chosen for p, g in ((s.genuine, True), (s.impostor, False))]
    )
    return labels.astype(bool), scores


def fold_shifts(
    pairs: dict[str, SetPairs],
    far_targets: tuple[float, ...] = STRICT_FAR_TARGETS,
    min_expected: float = MIN_EXPECTED,
    min_people: int = MIN_PEOPLE,
) -> list[FoldShift]:
    """Calibrate on every combination of sets and measure each point on each set left out.

    Only pairs that can measure a FAR count: ``min_expected`` false accepts expected at it on
    both sides, and a test set of ``min_people`` people (a few people's pairs are a handful of
    look-alikes, not a rate).
    """
    shifts = []
    for test in sorted(name for name, p in pairs.items() if p.people >= min_people):
        impostor = pairs[test].impostor
        others = sorted(name for name in pairs if name != test)
        for size in range(1, len(others) + 1):
            for calibration in combinations(others, size):
                labels, scores = pooled(pairs, calibration)
                measurable = [
                    far
                    for far in far_targets
                    if far * (~labels).sum() >= min_expected and far * len(impostor) >= min_expected
                ]
                if not measurable:
                    continue
                for point in operating_points(labels, scores, tuple(measurable)):
                    if point.far_target is None:
                        continue
                    accepted = int((impostor >= point.cosine).sum())
                    ratio = accepted / len(impostor) / point.far_target
                    shifts.append(
                        FoldShift(
                            point.far_target, test, calibration, point.cosine, accepted, ratio
                        )
                    )
    return shifts


def margins(shifts: list[FoldShift], far_targets: tuple[float, ...]) -> dict[float, float]:
    """Each target's margin: its worst measured ratio, at least 1 and a more lenient one's.

    Raises:
        ValueError: No left-out set could measure the most lenient target.
    """
    result: dict[float, float] = {}
    previous = None
    for far in sorted(far_targets, reverse=True):
        ratios = [s.ratio for s in shifts if s.far_target == far]
        if previous is None and not ratios:
            raise ValueError(f"no held-out set has the impostor pairs to measure FAR {far:g}")
        previous = max([1.0, *ratios, *([previous] if previous else [])])
        result[far] = previous
    return result


def calibrate_strict_points(
    pairs: dict[str, SetPairs],
    far_targets: tuple[float, ...] = STRICT_FAR_TARGETS,
    min_expected: float = MIN_EXPECTED,
    min_people: int = MIN_PEOPLE,
) -> tuple[tuple[OperatingPoint, ...], list[FoldShift]]:
    """Calibrate the strict points on all sets' pairs pooled, each with its ``far_margin``."""
    shifts = fold_shifts(pairs, far_targets, min_expected, min_people)
    margin = margins(shifts, far_targets)
    labels, scores = pooled(pairs, pairs)
    points = tuple(
        point.model_copy(update={"far_margin": round(margin[point.far_target], 3)})
        for point in operating_points(labels, scores, far_targets)
        if point.far_target is not None
    )
    return points, shifts


def with_strict_points(
    metadata: ModelMetadata, points: tuple[OperatingPoint, ...], calibration: FarCalibration
) -> ModelMetadata:
    """Return ``metadata`` with ``points`` replacing those of the same FAR target."""
    targets = {point.far_target for point in points}
    kept = [p for p in metadata.operating_points if p.far_target not in targets]
    ordered = sorted(
        [*kept, *points], key=lambda p: -1.0 if p.far_target is None else -p.far_target
    )
    updated = metadata.model_copy(
        update={"operating_points": tuple(ordered), "far_calibration": calibration}
    )
    ModelMetadata.model_validate(updated.model_dump())  # model_copy does not validate
    return updated  # keeps its precision (an int8 view folds back into its block)
