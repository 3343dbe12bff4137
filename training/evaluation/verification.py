"""Verification metrics on similarity scores of genuine (same person) and impostor pairs.

A pair is accepted as the same person when ``score >= threshold``. ROC points come from
scikit-learn; everything else is read off them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score, roc_curve
from sklearn.model_selection import StratifiedKFold

from training.data.vectors import unit_rows


def cosine_similarities(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two (N, D) arrays of embeddings.

    A zero embedding (a model whose ReLU features are all off for an image) has similarity 0
    with everything, as the service computes it, rather than NaN.
    """
    return np.sum(unit_rows(first) * unit_rows(second), axis=1)


def roc(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return false and true accept rates and thresholds at every distinct score."""
    labels = np.asarray(labels, dtype=bool)
    if labels.all() or not labels.any():
        raise ValueError("need both genuine and impostor pairs")
    return roc_curve(labels, scores, drop_intermediate=False)


def equal_error_rate(labels: np.ndarray, scores: np.ndarray) -> float:
    """Error rate where false accepts equal false rejects, interpolated on the ROC.

    Args:
        labels: True for genuine pairs.
        scores: Similarity of each pair.

    Returns:
        The EER in [0, 1].
    """
    fpr, tpr, _ = roc(labels, scores)
    return eer_of_roc(fpr, tpr)


def eer_of_roc(fpr: np.ndarray, tpr: np.ndarray) -> float:
    """Return :func:`equal_error_rate` of a curve already computed by :func:`roc`."""
    gap = fpr - (1.0 - tpr)  # rises from -1 to +1 along the curve
    i = int(np.argmax(gap >= 0.0))
    if gap[i] == 0.0 or i == 0:
        return float(fpr[i])
    t = -gap[i - 1] / (gap[i] - gap[i - 1])
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def tar_at_far(labels: np.ndarray, scores: np.ndarray, far: float) -> tuple[float, float, float]:
    """Best true accept rate with a false accept rate at most ``far``.

    Args:
        labels: True for genuine pairs.
        scores: Similarity of each pair.
        far: The largest false accept rate allowed.

    Returns:
        ``(tar, threshold, achieved_far)``; the threshold is ``inf`` when no score can be
        accepted (then TAR is 0).
    """
    return tar_of_roc(*roc(labels, scores), far)


def tar_of_roc(
    fpr: np.ndarray, tpr: np.ndarray, thresholds: np.ndarray, far: float
) -> tuple[float, float, float]:
    """Return :func:`tar_at_far` of a curve already computed by :func:`roc`."""
    allowed = np.flatnonzero(fpr <= far)
    best = allowed[np.argmax(tpr[allowed])]
    return float(tpr[best]), float(thresholds[best]), float(fpr[best])


def best_accuracy_threshold(
    labels: np.ndarray, scores: np.ndarray, balanced: bool = False
) -> tuple[float, float]:
    """Find the threshold with the highest accuracy on these pairs.

    Args:
        labels: True for genuine pairs.
        scores: Similarity of each pair.
        balanced: Weigh genuine and impostor pairs equally (mean of TAR and 1 - FAR).

    Returns:
        ``(threshold, accuracy)``.
    """
    labels = np.asarray(labels, dtype=bool)
    fpr, tpr, thresholds = roc(labels, scores)
    if balanced:
        accuracy = (tpr + 1.0 - fpr) / 2.0
    else:
        positives = labels.sum()
        accuracy = (tpr * positives + (1.0 - fpr) * (labels.size - positives)) / labels.size
    best = int(np.argmax(accuracy))
    return float(thresholds[best]), float(accuracy[best])


@dataclass(frozen=True)
class FoldAccuracy:
    """k-fold accuracy, each fold scored at the threshold chosen on the other folds."""

    mean: float
    std: float
    accuracies: list[float]
    thresholds: list[float]


def kfold_accuracy(
    labels: np.ndarray,
    scores: np.ndarray,
    folds: np.ndarray | None = None,
    *,
    k: int = 10,
    seed: int = 0,
    balanced: bool = True,
) -> FoldAccuracy:
    """Pick the threshold on k-1 folds, measure accuracy on the last (LFW protocol).

    Args:
        labels: True for genuine pairs.
        scores: Similarity of each pair.
        folds: Fold index of each pair (e.g. from ``pairs.txt``); stratified seeded
            folds of ``k`` when None.
        k: Number of folds when ``folds`` is None (fewer when a class has fewer pairs).
        seed: Seed of the fold assignment when ``folds`` is None.
        balanced: Weigh genuine and impostor pairs equally, as LFW's 50/50 pairs do, so
            a sample with many more impostors is not scored high for rejecting everyone.

    Returns:
        Mean and standard deviation of the per-fold accuracies, with each fold's threshold.
    """
    labels = np.asarray(labels, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    if folds is None:
        k = min(k, int(labels.sum()), int((~labels).sum()))
        if k < 2:
            raise ValueError("k-fold accuracy needs at least 2 genuine and 2 impostor pairs")
        splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        folds = np.empty(labels.size, dtype=int)
        for index, (_, test) in enumerate(splitter.split(scores, labels)):
            folds[test] = index
    accuracies, thresholds = [], []
    for fold in np.unique(folds):
        test = folds == fold
        threshold, _ = best_accuracy_threshold(labels[~test], scores[~test], balanced)
        score = balanced_accuracy_score if balanced else accuracy_score
        accuracies.append(float(score(labels[test], scores[test] >= threshold)))
        thresholds.append(threshold)
    return FoldAccuracy(
        float(np.mean(accuracies)), float(np.std(accuracies)), accuracies, thresholds
    )


@dataclass(frozen=True)
class VerificationReport:
    """All verification figures of one set of scored pairs."""

    genuine_pairs: int
    impostor_pairs: int
    auc: float
    eer: float
    accuracy: FoldAccuracy
    tar_at_far: dict[str, float]
    operating_point: dict[str, float]
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Return the figures as a JSON-ready dict (infinite thresholds become None)."""
        return _finite(asdict(self))


def verification_report(
    labels: np.ndarray,
    scores: np.ndarray,
    *,
    folds: np.ndarray | None = None,
    far_targets: tuple[float, ...] = (1e-2, 1e-3),
    operating_far: float = 1e-3,
    seed: int = 0,
) -> VerificationReport:
    """Compute AUC, EER, k-fold accuracy, TAR at each FAR and the operating threshold.

    Args:
        labels: True for genuine pairs.
        scores: Similarity of each pair.
        folds: Fold index of each pair, or None for seeded stratified 10 folds.
        far_targets: FARs at which to report the TAR.
        operating_far: FAR of the operating point whose threshold is reported.
        seed: Seed of the fold assignment.

    Returns:
        The report.
    """
    labels = np.asarray(labels, dtype=bool)
    impostors = int((~labels).sum())
    curve = roc(labels, scores)  # one curve for every figure read off it
    tars = {f"{far:g}": tar_of_roc(*curve, far)[0] for far in far_targets}
    tar, threshold, achieved = tar_of_roc(*curve, operating_far)
    notes = [
        f"FAR {far:g} needs at least {int(np.ceil(1 / far))} impostor pairs to be measured; "
        f"only {impostors} were scored"
        for far in (*far_targets, operating_far)
        if far * impostors < 1.0
    ]
    return VerificationReport(
        genuine_pairs=int(labels.sum()),
        impostor_pairs=impostors,
        auc=float(roc_auc_score(labels, scores)),
        eer=eer_of_roc(curve[0], curve[1]),
        accuracy=kfold_accuracy(labels, scores, folds, seed=seed),
        tar_at_far=tars,
        operating_point={
            "far_target": operating_far,
            "far": achieved,
            "tar": tar,
            "threshold": threshold,
        },
        notes=sorted(set(notes)),
    )


def _finite(value):
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
