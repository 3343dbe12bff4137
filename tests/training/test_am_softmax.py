import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import pytest

from training.model.layers import AMSoftmax
from training.model.losses import AMSoftmaxLoss, am_softmax_logits, am_softmax_loss
from training.model.network import build_resnet18, feature_model, wrap_cnn

COSINES = np.array([[0.9, 0.1, -0.2], [0.2, 0.5, 0.3], [0.0, -0.4, 0.6]], dtype=np.float32)
LABELS = np.array([0, 2, 1], dtype=np.int32)  # targets 0.9 (> m), 0.3 (< m), -0.4 (< m)


def reference(cosines, labels, s, m, always_subtract):
    logits = s * cosines.astype(np.float64)
    for row, label in enumerate(labels):
        if always_subtract or cosines[row, label] > m:
            logits[row, label] -= s * m
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_softmax = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return logits, -log_softmax[np.arange(len(labels)), labels]


@pytest.mark.parametrize("always_subtract", [False, True])
def test_logits_and_loss_match_numpy_reference(always_subtract):
    ref_logits, ref_loss = reference(COSINES, LABELS, 30.0, 0.35, always_subtract)
    logits = am_softmax_logits(LABELS, COSINES, 30.0, 0.35, always_subtract)
    loss = am_softmax_loss(LABELS, COSINES, 30.0, 0.35, always_subtract)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(logits), ref_logits, rtol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loss), ref_loss, rtol=1e-5, atol=1e-5)


def test_margin_skipped_only_below_m():
    logits = keras.ops.convert_to_numpy(am_softmax_logits(LABELS, COSINES, 10.0, 0.35))
    assert logits[0, 0] == pytest.approx(10.0 * (0.9 - 0.35))  # above m: subtracted
    assert logits[1, 2] == pytest.approx(10.0 * 0.3)  # below m: left alone


def test_loss_class_reduces_to_mean_and_round_trips_config():
    loss = AMSoftmaxLoss(scale=16.0, margin=0.2, always_subtract=True)
    _, ref = reference(COSINES, LABELS, 16.0, 0.2, True)
    value = float(keras.ops.convert_to_numpy(loss(LABELS[:, None], COSINES)))
    assert value == pytest.approx(ref.mean(), rel=1e-5)
    clone = AMSoftmaxLoss.from_config(loss.get_config())
    assert (clone.scale, clone.margin, clone.always_subtract) == (16.0, 0.2, True)


def test_layer_outputs_cosines_against_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 5)).astype(np.float32)
    layer = AMSoftmax(3)
    out = keras.ops.convert_to_numpy(layer(x))
    w = keras.ops.convert_to_numpy(layer.kernel)
    expected = (x / np.linalg.norm(x, axis=1, keepdims=True)) @ (w / np.linalg.norm(w, axis=0))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    assert out.dtype == np.float32


def test_zero_features_and_zero_kernel_stay_finite():
    layer = AMSoftmax(3)
    layer.build((None, 4))
    layer.kernel.assign(np.zeros((4, 3), dtype=np.float32))
    cosines = layer(np.zeros((2, 4), dtype=np.float32))
    loss = AMSoftmaxLoss()(np.array([0, 1]), cosines)
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(cosines)))
    assert np.isfinite(float(keras.ops.convert_to_numpy(loss)))


def test_layer_is_float32_under_mixed_precision():
    keras.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        layer = AMSoftmax(3)
        out = layer(np.ones((2, 4), dtype="bfloat16"))
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert keras.backend.standardize_dtype(out.dtype) == "float32"


@pytest.mark.parametrize("units", [0, -1, 2.5, True])
def test_layer_rejects_bad_units(units):
    with pytest.raises(ValueError):
        AMSoftmax(units)


@pytest.mark.parametrize("kwargs", [{"scale": 0.0}, {"margin": -0.1}, {"margin": 1.0}])
def test_loss_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        AMSoftmaxLoss(**kwargs)


def test_training_and_feature_models_survive_save_and_load(tmp_path):
    model = wrap_cnn(build_resnet18((32, 32, 1), 4), 4)
    model.compile(optimizer="adam", loss=AMSoftmaxLoss(), metrics=["accuracy"])
    model.optimizer.build(model.trainable_variables)
    features = feature_model(model)
    x = np.random.default_rng(1).uniform(0, 255, size=(2, 32, 32, 1)).astype(np.float32)
    for original, name in ((model, "train.keras"), (features, "features.keras")):
        original.save(tmp_path / name)
        loaded = keras.models.load_model(tmp_path / name)
        np.testing.assert_allclose(
            loaded.predict(x, verbose=0), original.predict(x, verbose=0), rtol=1e-5, atol=1e-6
        )
    assert isinstance(keras.models.load_model(tmp_path / "train.keras").loss, AMSoftmaxLoss)
