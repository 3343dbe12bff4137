"""Batch-norm statistics measured again for a soup (bench/soup_batch_norm.py)."""

from __future__ import annotations

import keras
import numpy as np

from bench.soup_batch_norm import input_moments, remeasure


def _two_norm_model() -> keras.Model:
    inputs = keras.Input((3, 3, 2))
    first = keras.layers.BatchNormalization(name="first_bn")(inputs)
    scaled = keras.layers.Rescaling(2.0)(first)
    return keras.Model(inputs, keras.layers.BatchNormalization(name="second_bn")(scaled))


def test_each_batch_norm_gets_the_moments_of_its_input_over_all_batches() -> None:
    rng = np.random.default_rng(0)
    batches = [(rng.normal(5.0, 3.0, (8, 3, 3, 2)).astype("float32"), None) for _ in range(3)]
    model = _two_norm_model()

    moments = input_moments(model, batches)

    pixels = np.concatenate([images for images, _ in batches]).reshape(-1, 2)
    np.testing.assert_allclose(moments[0][0], pixels.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(moments[0][1], pixels.var(axis=0), rtol=1e-4)
    # Training mode: the first norm normalises each batch by its own statistics, so the
    # second norm's input has mean 0 and variance about 4 (the rescaling by 2 squared).
    np.testing.assert_allclose(moments[1][0], 0.0, atol=1e-4)
    np.testing.assert_allclose(moments[1][1], 4.0, rtol=1e-2)


def test_remeasure_sets_the_moving_statistics_and_reports_the_shift() -> None:
    model = _two_norm_model()
    moments = [(np.full(2, 3.0), np.full(2, 4.0)), (np.zeros(2), np.ones(2))]

    shifts = remeasure(model, moments)

    first = model.get_layer("first_bn")
    np.testing.assert_allclose(np.asarray(first.moving_mean), 3.0)
    np.testing.assert_allclose(np.asarray(first.moving_variance), 4.0)
    assert np.isclose(shifts[0], 3.0 / np.sqrt(1.0 + 1e-3))
    assert shifts[1] == 0.0
