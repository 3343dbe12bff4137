"""Starting a model from a checkpoint of another layout, by layer name."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from training.model.layer_transfer import copy_weights_by_name, load_weights_by_name
from training.model.network import build_resnet18, wrap_distillation

SHAPE = (32, 32, 3)


def distillation_model(classes: int = 5, stage1_stride: int = 2):
    return wrap_distillation(
        build_resnet18(SHAPE, classes, stage1_stride=stage1_stride), classes, 8
    )


def test_original_layout_checkpoint_starts_a_standard_layout_model(tmp_path):
    original = distillation_model(stage1_stride=2)
    original.save(tmp_path / "original.keras")
    standard = distillation_model(stage1_stride=1)

    transfer = load_weights_by_name(standard, tmp_path / "original.keras")

    # Only the stage-1 projection shortcut has no place in the standard layout.
    assert transfer.unused == ("stage1_block1_proj_bn", "stage1_block1_proj_conv")
    for name in transfer.copied:
        for got, want in zip(
            standard.get_layer(name).get_weights(),
            original.get_layer(name).get_weights(),
            strict=True,
        ):
            np.testing.assert_array_equal(got, want)
    assert {"stem_conv", "teacher_projection", "predictions"} <= set(transfer.copied)


def test_same_layout_reproduces_the_checkpoint(tmp_path):
    source = distillation_model()
    source.save(tmp_path / "source.keras")
    target = distillation_model()
    transfer = load_weights_by_name(target, tmp_path / "source.keras")
    assert transfer.unused == ()
    images = np.random.default_rng(0).uniform(0, 255, (2, *SHAPE)).astype("float32")
    np.testing.assert_allclose(
        target.predict(images, verbose=0)["embedding"],
        source.predict(images, verbose=0)["embedding"],
        atol=1e-5,
    )


def test_a_different_number_of_classes_is_refused_by_name():
    with pytest.raises(ValueError, match=r"layer predictions: the checkpoint's weights are"):
        copy_weights_by_name(distillation_model(classes=6), distillation_model(classes=5))


def test_a_layer_the_checkpoint_lacks_is_refused_by_name():
    # The original layout needs the projection shortcut a standard-layout checkpoint lacks.
    with pytest.raises(
        ValueError, match="no layer named stage1_block1_proj_bn, stage1_block1_proj_conv"
    ):
        copy_weights_by_name(
            distillation_model(stage1_stride=2), distillation_model(stage1_stride=1)
        )
