"""Weight decay shrinks the kernels of a training model and leaves its vectors alone."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

from training.model.build import build_training_model  # noqa: E402
from training.presets import get_preset  # noqa: E402

CLASSES, TEACHER_DIM = 3, 4


@pytest.mark.parametrize("distill", ["none", "both"])
def test_decay_shrinks_kernels_only(distill):
    """One step with zero gradients: Adam moves nothing, so only the decay acts."""
    keras.utils.set_random_seed(0)
    config = get_preset("smoke", distill=distill, weight_decay=0.5, learning_rate=0.01)
    model = build_training_model(config, CLASSES, 2, TEACHER_DIM if distill != "none" else None)
    before = [np.array(variable) for variable in model.trainable_variables]
    zeros = [np.zeros(variable.shape, np.float32) for variable in model.trainable_variables]
    model.optimizer.apply(zeros, model.trainable_variables)
    shrink = 1 - config.learning_rate * config.weight_decay
    for variable, old in zip(model.trainable_variables, before, strict=True):
        expected = old * shrink if len(variable.shape) >= 2 else old
        np.testing.assert_allclose(np.array(variable), expected, rtol=1e-6, atol=1e-8)
    assert any(len(v.shape) < 2 for v in model.trainable_variables)  # gamma, beta, biases


def test_no_decay_is_plain_adam():
    config = get_preset("smoke")
    model = build_training_model(config, CLASSES, 2)
    assert type(model.optimizer).__name__ == "Adam"
