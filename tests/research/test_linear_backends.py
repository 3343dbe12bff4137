"""``research.linear_backends``: linear maps fitted on training embeddings, scored on pairs."""

import json

import numpy as np

from research.linear_backends import class_scatter, fit_backends, main
from tests.training.test_evaluate import TINY_MODEL, write_faces


def labelled_points(people: int = 40, each: int = 5, size: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, size)) * np.linspace(1, 3, size)
    points = np.repeat(centres, each, axis=0) + rng.normal(size=(people * each, size)) * 0.3
    return points, np.repeat([f"p{i}" for i in range(people)], each)


def test_whitening_and_wccn_make_their_covariance_the_identity():
    points, labels = labelled_points()
    backends = fit_backends(points, labels, shrinkage=0.0)
    mean, whiten = backends["whiten"]
    assert np.allclose(np.cov(((points - mean) @ whiten).T, bias=True), np.eye(6), atol=1e-8)
    within, _ = class_scatter(points @ backends["wccn"][1], labels)
    assert np.allclose(within, np.eye(6), atol=1e-8)


def test_all_but_the_top_removes_the_principal_direction():
    points, labels = labelled_points()
    mean, projection = fit_backends(points, labels, shrinkage=0.0)["abtt1"]
    principal = np.linalg.svd(points - mean, full_matrices=False)[2][0]
    assert np.allclose((points - mean) @ projection @ principal, 0, atol=1e-8)


def test_lda_keeps_at_most_128_directions():
    points, labels = labelled_points(people=200, size=130)
    assert fit_backends(points, labels, shrinkage=0.1)["lda128"][1].shape == (130, 128)


def test_end_to_end_on_the_tiny_model(tmp_path):
    pairs_root, fit_root = write_faces(tmp_path / "pairs"), write_faces(tmp_path / "fit")
    out = tmp_path / "result.json"
    flags = ["--model", str(TINY_MODEL), "--data", f"a={pairs_root}", "--fit-data"]
    flags += [f"b={fit_root}", f"a={pairs_root}", "--impostors", "30", "--resamples", "100"]
    assert main([*flags, "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["fit_people"] == 4  # the evaluated people (a=...) are never fitted on
    assert set(result["variants_against_raw"]) == {"center", "wccn", "lda128", "whiten", "abtt1"}
    eer = result["variants_against_raw"]["wccn"]["eer"]
    assert 0.0 <= eer["a"] <= 1.0 and eer["ci95"][0] <= eer["difference"] <= eer["ci95"][1]
