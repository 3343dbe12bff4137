"""Operating points of an exported model, measured on held-out pairs, for ``metadata.json``.

The default point is the threshold of best balanced accuracy (genuine and impostor pairs
weighted equally, like LFW's 50/50 pairs): what a person posting two photos expects, the
way face_recognition's distance 0.6 is. Strict points hold the false-accept rate at
1e-2, 1e-3, 1e-4 and 1e-5 (the last two for 1:N search, whose per-comparison FAR must shrink
with the gallery) and are one ``far`` parameter away on ``/verify``.

Each point also records how far its measured FAR can be trusted: the one-sided 95% upper
confidence limit given the impostor pairs counted (Clopper & Pearson 1934), which is what the
service's FPIR bounds are built on. At FAR 1e-4 over 200,000 impostor pairs (20 false accepts)
that limit is about 1.5e-4.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import beta

from facecore.metadata import ModelMetadata, OperatingPoint, Threshold
from training.evaluation.verification import best_accuracy_threshold, tar_at_far

FAR_TARGETS = (1e-2, 1e-3, 1e-4, 1e-5)
DEFAULT_POINT = "best_accuracy"
CONFIDENCE = 0.95


def far_upper_limit(false_accepts: int, impostors: int, confidence: float = CONFIDENCE) -> float:
    """One-sided Clopper-Pearson upper confidence limit of a false-accept rate.

    The FAR ``p`` for which seeing ``false_accepts`` or fewer in ``impostors`` pairs has
    probability ``1 - confidence``; exact (beta quantile), valid for zero counts too.
    """
    if not 0 <= false_accepts <= impostors or impostors < 1:
        raise ValueError(
            f"need 0 <= false_accepts <= impostors >= 1, got {false_accepts}/{impostors}"
        )
    if false_accepts == impostors:
        return 1.0
    return float(beta.ppf(confidence, false_accepts + 1, impostors - false_accepts))


def _point_at(
    labels: np.ndarray,
    scores: np.ndarray,
    name: str,
    threshold: float,
    far_target: float | None = None,
) -> OperatingPoint:
    """Measure TAR, FAR (with its upper limit) and balanced accuracy of ``scores >= threshold``."""
    cosine = float(np.clip(threshold, -1.0, 1.0))  # inf (accept nothing) -> 1
    accepted = scores >= cosine
    tar = float(accepted[labels].mean())
    false_accepts = int(accepted[~labels].sum())
    impostors = int((~labels).sum())
    far = false_accepts / impostors
    return OperatingPoint(
        name=name,
        cosine=cosine,
        far_target=far_target,
        far=far,
        far_upper=max(far, far_upper_limit(false_accepts, impostors)),
        tar=tar,
        accuracy=(tar + 1.0 - far) / 2.0,
    )


def operating_points(
    labels, scores, far_targets: tuple[float, ...] = FAR_TARGETS
) -> tuple[OperatingPoint, ...]:
    """Return the best-accuracy point, then one point per measurable FAR target.

    A FAR target is measurable with at least 1/FAR impostor pairs; the others are left
    out of the table (``/verify`` then refuses them) rather than guessed.

    Args:
        labels: True for genuine pairs.
        scores: Cosine similarity of each pair.
        far_targets: False-accept rates to calibrate.
    """
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    impostors = int((~labels).sum())
    far_targets = tuple(far for far in far_targets if far * impostors >= 1.0)
    best, _ = best_accuracy_threshold(labels, scores, balanced=True)
    points = [_point_at(labels, scores, DEFAULT_POINT, best)]
    for far in far_targets:
        _, threshold, _ = tar_at_far(labels, scores, far)
        points.append(_point_at(labels, scores, f"far_{far:g}", threshold, far))
    return tuple(points)


def with_operating_points(
    metadata: ModelMetadata, points: tuple[OperatingPoint, ...], source: str
) -> ModelMetadata:
    """Return ``metadata`` whose default threshold is the best-accuracy point of ``points``."""
    default = next(point for point in points if point.name == DEFAULT_POINT)
    threshold = Threshold(
        cosine=default.cosine,
        far=default.far,
        tar=default.tar,
        operating_point=f"best balanced accuracy on {source}",
        calibrated=True,
    )
    return metadata.model_copy(update={"threshold": threshold, "operating_points": points})
