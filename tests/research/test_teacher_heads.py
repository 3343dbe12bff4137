"""``research.teacher_heads``: ridge heads to the teacher's space on frozen features, rescored."""

import json

import numpy as np
import pytest
from teacher_factory import embedded_cache, needs_dlib

from research.teacher_heads import fit_head, main, ridge_fits, served_join
from tests.training.test_evaluate import TINY_MODEL


def test_ridge_recovers_a_linear_map_when_barely_regularised():
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(500, 8))
    weights = rng.normal(size=(8, 3))
    fits = ridge_fits(inputs, inputs @ weights, [1e-9, 10.0])
    assert np.allclose(fits[1e-9], weights, atol=1e-6)
    assert np.linalg.norm(fits[10.0]) < np.linalg.norm(fits[1e-9])  # shrunk


def test_fit_head_predicts_the_teacher_direction_of_people_held_apart():
    rng = np.random.default_rng(1)
    mixing = rng.normal(size=(6, 4))
    faces = rng.normal(size=(400, 1, 6))
    features = faces + 5.0 + 0.05 * rng.normal(size=(400, 2, 6))  # two views, ReLU-like offset
    targets = faces[:, 0] @ mixing
    targets /= np.linalg.norm(targets, axis=1, keepdims=True)
    validation = np.arange(400) % 10 == 0
    head, chosen = fit_head(features, targets, validation)
    assert chosen["validation_cosine"] > 0.95
    predicted = served_join([head(features[validation])])
    assert np.mean(np.sum(predicted * targets[validation], axis=1)) > 0.95


def test_served_join_averages_views_of_unit_parts_side_by_side():
    first = np.array([[[3.0, 0.0], [0.0, 2.0]]])  # one image, two views
    second = np.array([[[0.0, 5.0], [0.0, 5.0]]])
    joined = served_join([first, second])
    expected = np.array([0.5, 0.5, 0.0, 1.0]) / np.sqrt(2)  # views' unit joins, averaged
    assert np.allclose(joined, expected / np.linalg.norm(expected))


@pytest.mark.slow
@needs_dlib
def test_end_to_end_on_the_tiny_model_and_a_teacher_cache(tmp_path):
    cache = embedded_cache(tmp_path)
    out = tmp_path / "result.json"
    flags = ["--model", str(TINY_MODEL), "--data", f"orl={cache / 'orl'}", "--teacher-cache"]
    flags += [str(cache), "--fit-data", f"celeba={cache / 'celeba'}", f"orl={cache / 'orl'}"]
    flags += ["--unlabelled", str(cache / "unlabelled"), "--impostors", "4", "--resamples", "50"]
    assert main([*flags, "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["fit_images"] == 5  # 3 CelebA + 2 unlabelled: the evaluated ORL people never
    assert set(result["variants_against_raw"]) == {
        "pooled_head",
        "served+pooled_head",
        "map_head",
        "served+map_head",
    }
    eer = result["variants_against_raw"]["served+map_head"]["eer"]
    assert 0.0 <= eer["b"] <= 1.0 and eer["ci95"][0] <= eer["difference"] <= eer["ci95"][1]
