"""The ensembles that bench.seed_ensembles scores."""

from __future__ import annotations

import numpy as np

from bench.seed_ensembles import variant_embeddings
from training.metrics import cosine_similarities, unit_rows


def noisy_runs(people: int, runs: int, noise: float, seed: int = 0) -> list[np.ndarray]:
    """Unit embeddings of two photos per person by ``runs`` runs, each with its own noise."""
    rng = np.random.default_rng(seed)
    truth = np.repeat(rng.normal(size=(people, 32)), 2, axis=0)
    return [unit_rows(truth + noise * rng.normal(size=truth.shape)) for _ in range(runs)]


def test_variants_are_each_run_alone_with_the_reference_and_all_together():
    a, b, c = noisy_runs(people=4, runs=3, noise=0.5)
    variants = variant_embeddings({"a": a, "b": b, "c": c}, reference="a")
    assert sorted(variants) == ["+b", "+c", "all", "b alone", "c alone"]
    assert np.array_equal(variants["+b"], a + b) and np.array_equal(variants["c alone"], c)
    assert np.allclose(variants["all"], a + b + c)
    assert "all" not in variant_embeddings({"a": a, "b": b}, reference="a")


def test_runs_with_independent_errors_match_better_together():
    a, b = noisy_runs(people=200, runs=2, noise=1.5)
    ensemble = variant_embeddings({"a": a, "b": b}, reference="a")["+b"]
    first, second = np.arange(0, 400, 2), np.arange(1, 400, 2)  # the two photos of a person

    def genuine_margin(embeddings):  # genuine cosines above the other person's photo
        genuine = cosine_similarities(embeddings[first], embeddings[second])
        impostor = cosine_similarities(embeddings[first], np.roll(embeddings[second], 1, axis=0))
        return float((genuine - impostor).mean())

    assert genuine_margin(ensemble) > max(genuine_margin(a), genuine_margin(b))
