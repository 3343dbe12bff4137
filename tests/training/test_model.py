import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest

from training.model.network import FEATURE_LAYER, build_resnet18, feature_model, wrap_cnn


def expected_params(channels: int, classes: int, stage1_stride: int) -> int:
    """Count ResNet18 parameters from its definition (BN: 4 per channel, 2 trainable)."""

    def conv_bn(cin, cout, k):
        return k * k * cin * cout + 4 * cout

    total = conv_bn(channels, 64, 7)
    cin = 64
    for stage, cout in enumerate((64, 128, 256, 512), start=1):
        stride = stage1_stride if stage == 1 else 2
        if stride != 1 or cin != cout:
            total += conv_bn(cin, cout, 1)
        total += conv_bn(cin, cout, 3) + 3 * conv_bn(cout, cout, 3)
        cin = cout
    return total + 512 * classes + classes


# stem pool output side, then the side after each stage, for each (input, stage1_stride)
LAYOUTS = {
    (224, 2): [56, 28, 14, 7, 4],
    (224, 1): [56, 56, 28, 14, 7],
    (112, 2): [28, 14, 7, 4, 2],
    (112, 1): [28, 28, 14, 7, 4],
}


@pytest.mark.parametrize(("size", "stride"), list(LAYOUTS))
def test_layer_output_shapes(size, stride):
    model = build_resnet18((size, size, 1), 40, stage1_stride=stride)
    sides = LAYOUTS[(size, stride)]
    assert model.get_layer("stem_pool").output.shape == (None, sides[0], sides[0], 64)
    for stage, filters in enumerate((64, 128, 256, 512), start=1):
        side = sides[stage]
        for block in (1, 2):
            out = model.get_layer(f"stage{stage}_block{block}_out").output
            assert out.shape == (None, side, side, filters)
    assert model.get_layer(FEATURE_LAYER).output.shape == (None, 512)
    assert model.output.shape == (None, 40)


@pytest.mark.parametrize("stride", [1, 2])
def test_parameter_count(stride):
    model = build_resnet18((112, 112, 1), 40, stage1_stride=stride)
    assert model.count_params() == expected_params(1, 40, stride)


def test_projection_shortcut_only_where_needed():
    names = {layer.name for layer in build_resnet18((64, 64, 3), 5, stage1_stride=1).layers}
    assert "stage1_block1_proj_conv" not in names
    assert "stage2_block1_proj_conv" in names
    original = {layer.name for layer in build_resnet18((64, 64, 3), 5).layers}
    assert "stage1_block1_proj_conv" in original


def test_rescaling_is_the_first_layer():
    model = build_resnet18((32, 32, 1), 3)
    rescale = model.layers[1]
    assert type(rescale).__name__ == "Rescaling"
    assert rescale.scale == pytest.approx(1 / 127.5) and rescale.offset == -1.0


def test_wrap_and_feature_model():
    base = build_resnet18((32, 32, 3), 7)
    wrapped = wrap_cnn(base, 11)
    assert wrapped.get_layer("predictions").__class__.__name__ == "AMSoftmax"
    assert wrapped.output.shape == (None, 11)
    assert any(layer.__class__.__name__ == "Dropout" for layer in wrapped.layers)
    assert feature_model(wrapped).output.shape == (None, 512)


def test_bad_arguments():
    with pytest.raises(ValueError):
        build_resnet18((32, 32, 1), 3, stage1_stride=3)
    with pytest.raises(ValueError):
        build_resnet18((32, 32, 1), 0)
