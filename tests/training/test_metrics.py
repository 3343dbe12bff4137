import numpy as np
import pytest

from training.evaluation.verification import (
    best_accuracy_threshold,
    cosine_similarities,
    equal_error_rate,
    kfold_accuracy,
    tar_at_far,
    verification_report,
)


def scored(genuine, impostor):
    labels = np.array([True] * len(genuine) + [False] * len(impostor))
    return labels, np.array(genuine + impostor, dtype=float)


def test_cosine_similarities_ignore_length():
    a = np.array([[1.0, 0.0], [3.0, 4.0]])
    b = np.array([[5.0, 0.0], [-4.0, 3.0]])
    assert np.allclose(cosine_similarities(a, b), [1.0, 0.0])


def test_perfect_separation():
    labels, scores = scored([0.9, 0.8, 0.7], [0.3, 0.2, 0.1])
    report = verification_report(labels, scores, far_targets=(1e-2,))
    assert report.eer == 0.0
    assert report.auc == 1.0
    assert report.tar_at_far["0.01"] == 1.0
    assert 0.3 < report.operating_point["threshold"] <= 0.7


def test_overlapping_scores_have_the_known_eer():
    # At threshold 0.5 one genuine of four is rejected and one impostor of four accepted.
    labels, scores = scored([0.9, 0.8, 0.7, 0.4], [0.6, 0.3, 0.2, 0.1])
    assert equal_error_rate(labels, scores) == pytest.approx(0.25)


def test_eer_is_interpolated_between_roc_points():
    # Between thresholds 0.7 and 0.6 FRR stays 1/4 while FAR jumps 0 -> 1/2: no ROC
    # point has FAR 1/4, the linear interpolation crosses FRR there.
    labels, scores = scored([0.9, 0.8, 0.7, 0.4], [0.6, 0.1])
    assert equal_error_rate(labels, scores) == pytest.approx(0.25)


def test_tar_at_far_picks_the_best_threshold_within_the_far():
    genuine = [0.95, 0.9, 0.85, 0.5]
    impostor = [0.88] + [0.1] * 9  # one impostor of ten outscores two genuine pairs
    labels, scores = scored(genuine, impostor)
    assert tar_at_far(labels, scores, 0.0) == (0.5, 0.9, 0.0)
    tar, threshold, far = tar_at_far(labels, scores, 0.1)
    assert (tar, threshold, far) == (1.0, 0.5, 0.1)


def test_tar_is_zero_when_an_impostor_beats_every_genuine_pair():
    labels, scores = scored([0.5, 0.4], [0.9, 0.1])
    tar, threshold, far = tar_at_far(labels, scores, 0.0)
    assert (tar, far) == (0.0, 0.0)
    assert threshold == np.inf


def test_best_accuracy_threshold():
    labels, scores = scored([0.9, 0.8, 0.4], [0.5, 0.2, 0.1])
    threshold, accuracy = best_accuracy_threshold(labels, scores)
    assert accuracy == pytest.approx(5 / 6)
    assert threshold == 0.8


def test_balanced_accuracy_weighs_both_classes_equally():
    labels, scores = scored([0.5, 0.3], [0.4, 0.4, 0.4] + [0.1] * 7)
    assert best_accuracy_threshold(labels, scores) == (0.5, pytest.approx(11 / 12))
    assert best_accuracy_threshold(labels, scores, balanced=True) == (0.3, pytest.approx(0.85))


def test_kfold_accuracy_with_given_folds_uses_the_other_folds_threshold():
    # Fold 0 is scored at fold 1's threshold 0.8 (rejects its 0.6 genuine pair), fold 1 at
    # fold 0's threshold 0.6 (accepts its 0.7 impostor pair): 3/4 each, though each fold
    # alone is separable.
    labels = np.array([True, True, False, False, True, True, False, False])
    scores = np.array([0.9, 0.6, 0.5, 0.1, 0.9, 0.8, 0.7, 0.1])
    folds = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    result = kfold_accuracy(labels, scores, folds)
    assert result.thresholds == [0.8, 0.6]
    assert result.accuracies == [0.75, 0.75]
    assert result.mean == pytest.approx(0.75)


def test_kfold_accuracy_ten_seeded_folds_is_reproducible():
    rng = np.random.default_rng(0)
    labels = np.repeat([True, False], 200)
    scores = np.where(labels, rng.normal(0.6, 0.1, 400), rng.normal(0.2, 0.1, 400))
    first = kfold_accuracy(labels, scores, seed=3)
    assert len(first.accuracies) == 10
    assert first == kfold_accuracy(labels, scores, seed=3)
    assert 0.95 < first.mean <= 1.0


def test_report_notes_unmeasurable_far_and_serialises_infinity():
    labels, scores = scored([0.5, 0.4], [0.9, 0.1])
    report = verification_report(labels, scores)
    assert any("1000 impostor pairs" in note for note in report.notes)
    assert report.to_dict()["operating_point"]["threshold"] is None


def test_one_class_only_is_an_error():
    with pytest.raises(ValueError, match="both genuine and impostor"):
        equal_error_rate(np.array([True, True]), np.array([0.1, 0.2]))


def test_a_zero_embedding_has_similarity_zero_not_nan():
    first = np.array([[0.0, 0.0], [1.0, 0.0]])
    second = np.array([[1.0, 0.0], [2.0, 0.0]])
    assert cosine_similarities(first, second).tolist() == [0.0, 1.0]
