import numpy as np
import pytest
from metadata_factory import minimal_metadata

from facecore.metadata import ModelMetadata
from training.evaluation.calibration import far_upper_limit, operating_points, with_operating_points


def synthetic_scores(genuine: int = 400, impostors: int = 20_000, seed: int = 0):
    rng = np.random.default_rng(seed)
    scores = np.concatenate([rng.normal(0.6, 0.12, genuine), rng.normal(0.1, 0.1, impostors)])
    labels = np.concatenate([np.ones(genuine, bool), np.zeros(impostors, bool)])
    return labels, scores


def reference_best_balanced(labels, scores):
    """Brute force over every candidate threshold."""
    best = (-1.0, None)
    for threshold in np.unique(scores):
        accepted = scores >= threshold
        accuracy = (accepted[labels].mean() + 1.0 - accepted[~labels].mean()) / 2
        best = max(best, (accuracy, threshold), key=lambda item: item[0])
    return best


def test_points_match_a_brute_force_reference():
    labels, scores = synthetic_scores()
    points = {point.name: point for point in operating_points(labels, scores)}
    assert list(points) == ["best_accuracy", "far_0.01", "far_0.001", "far_0.0001"]  # not 1e-5
    accuracy, _ = reference_best_balanced(labels, scores)
    assert points["best_accuracy"].accuracy == pytest.approx(accuracy)
    for far in (1e-2, 1e-3, 1e-4):
        point = points[f"far_{far:g}"]
        assert point.far_target == far and point.far <= far
        accepted = scores >= point.cosine
        assert point.tar == pytest.approx(accepted[labels].mean())
        assert point.far == pytest.approx(accepted[~labels].mean())
    stricter = [points[name].cosine for name in ("far_0.01", "far_0.001", "far_0.0001")]
    assert stricter == sorted(stricter)
    for point in points.values():
        false_accepts = round(point.far * 20_000)
        assert point.far_upper == pytest.approx(far_upper_limit(false_accepts, 20_000))


def test_far_upper_limit_is_the_exact_binomial_bound():
    """Clopper-Pearson: at the limit p, seeing k or fewer accepts has probability 5%."""
    from scipy.stats import binom

    for accepts, impostors in ((0, 3000), (2, 20_000), (20, 200_000), (150, 1000)):
        upper = far_upper_limit(accepts, impostors)
        assert upper > accepts / impostors
        assert binom.cdf(accepts, impostors, upper) == pytest.approx(0.05, rel=1e-6)
    assert far_upper_limit(0, 3000) == pytest.approx(1 - 0.05 ** (1 / 3000))
    assert far_upper_limit(5, 5) == 1.0
    with pytest.raises(ValueError, match="false_accepts"):
        far_upper_limit(6, 5)


def test_far_1e5_is_calibrated_from_enough_impostor_pairs():
    labels, scores = synthetic_scores(impostors=300_000)
    strictest = operating_points(labels, scores)[-1]
    assert (strictest.name, strictest.far_target) == ("far_1e-05", 1e-5)
    assert strictest.far <= 1e-5 < strictest.far_upper
    assert (scores[~labels] >= strictest.cosine).sum() == round(strictest.far * 300_000)


def test_unmeasurable_far_targets_are_left_out():
    labels, scores = synthetic_scores(impostors=500)
    assert [p.name for p in operating_points(labels, scores)] == ["best_accuracy", "far_0.01"]


def test_metadata_default_is_the_best_accuracy_point(tmp_path):
    labels, scores = synthetic_scores()
    metadata = minimal_metadata()
    calibrated = with_operating_points(metadata, operating_points(labels, scores), "test pairs")
    calibrated.save(tmp_path)
    loaded = ModelMetadata.load(tmp_path)
    assert loaded.default_operating_point == "best_accuracy"
    assert loaded.threshold.cosine == loaded.operating_points[0].cosine
    assert loaded.far_targets == (1e-4, 1e-3, 1e-2)
    assert loaded.operating_point(0.001).name == "far_0.001"
    with pytest.raises(KeyError, match=r"allowed: \[0.0001, 0.001, 0.01\]"):
        loaded.operating_point(0.05)
