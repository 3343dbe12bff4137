"""ResNet18 backbone, the AM-Softmax training head and the feature (embedding) model."""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from training.config import HINT_STAGES, stage_hint_head
from training.model.layers import AMSoftmax
from training.model.losses import AMSoftmaxLoss

FEATURE_LAYER = "feature"
STAGE_FILTERS = (64, 128, 256, 512)
BLOCKS_PER_STAGE = 2
# Keras's default 0.99 lets the moving statistics lag far behind the weights on small sets
# (ORL: 5 steps an epoch -> 33% accuracy in inference mode vs 100% with batch statistics);
# 0.9 is torchvision's ResNet value (its momentum=0.1).
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str, bn_momentum: float):
    """Convolution (no bias) followed by batch normalisation."""
    x = layers.Conv2D(
        filters,
        kernel,
        strides=stride,
        padding="same",
        use_bias=False,
        kernel_initializer="he_normal",
        name=f"{name}_conv",
    )(x)
    return layers.BatchNormalization(momentum=bn_momentum, epsilon=BN_EPSILON, name=f"{name}_bn")(x)


def _basic_block(x, filters: int, stride: int, name: str, bn_momentum: float):
    """Two 3x3 conv-BN layers with a residual connection (1x1 projection when needed)."""
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = _conv_bn(x, filters, 1, stride, f"{name}_proj", bn_momentum)
    y = _conv_bn(x, filters, 3, stride, f"{name}_1", bn_momentum)
    y = layers.ReLU(name=f"{name}_1_relu")(y)
    y = _conv_bn(y, filters, 3, 1, f"{name}_2", bn_momentum)
    y = layers.Add(name=f"{name}_add")([shortcut, y])
    return layers.ReLU(name=f"{name}_out")(y)


def build_resnet18(
    input_shape: tuple[int, int, int],
    num_classes: int,
    stage1_stride: int = 2,
    name: str = "resnet18",
    bn_momentum: float = BN_MOMENTUM,
) -> keras.Model:
    """Build ResNet18 with a softmax classifier on a 512-d pooled feature.

    The model takes raw 0..255 pixels and rescales them to [-1, 1] itself.

    Args:
        input_shape: ``(height, width, channels)``.
        num_classes: Number of softmax outputs.
        stage1_stride: Stride of stage 1's first block: 2 in the original layout (with a
            1x1 projection shortcut), 1 in the standard ResNet18.
        name: Model name.
        bn_momentum: Momentum of the batch-normalisation moving statistics.

    Returns:
        A functional model; its layer ``FEATURE_LAYER`` is the global-average-pooled feature.

    Raises:
        ValueError: ``stage1_stride`` is not 1 or 2, or ``num_classes`` < 1.
    """
    if stage1_stride not in (1, 2):
        raise ValueError(f"stage1_stride must be 1 or 2, got {stage1_stride}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    inputs = keras.Input(shape=input_shape, name="image")
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="rescale")(inputs)
    x = _conv_bn(x, 64, 7, 2, "stem", bn_momentum)
    x = layers.ReLU(name="stem_relu")(x)
    x = layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)
    for stage, filters in enumerate(STAGE_FILTERS, start=1):
        for block in range(1, BLOCKS_PER_STAGE + 1):
            first_stride = stage1_stride if stage == 1 else 2
            stride = first_stride if block == 1 else 1
            x = _basic_block(x, filters, stride, f"stage{stage}_block{block}", bn_momentum)
    features = layers.GlobalAveragePooling2D(name=FEATURE_LAYER)(x)
    outputs = layers.Dense(num_classes, activation="softmax", dtype="float32", name="predictions")(
        features
    )
    return keras.Model(inputs, outputs, name=name)


def wrap_cnn(
    model: keras.Model,
    num_classes: int,
    feature_layer: str = FEATURE_LAYER,
    dropout_rate: float = 0.5,
) -> keras.Model:
    """Cut a functional model at a named layer and put the AM-Softmax head on top.

    The head outputs cosines; scale and margin belong to
    :class:`training.model.losses.AMSoftmaxLoss`.

    Args:
        model: Any functional model with a layer called ``feature_layer``.
        num_classes: Number of training identities.
        feature_layer: Name of the layer whose output is the embedding.
        dropout_rate: Dropout before the cosine classifier.

    Returns:
        A model from ``model``'s input to the ``predictions`` cosines (float32).
    """
    features = model.get_layer(feature_layer).output
    x = layers.Dropout(dropout_rate, name="feature_dropout")(features)
    outputs = AMSoftmax(num_classes, name="predictions")(x)
    return keras.Model(model.inputs, outputs, name=f"{model.name}_amsoftmax")


TEACHER_PROJECTION = "teacher_projection"


def stage_output(stage: int) -> str:
    """Name the layer a stage ends with: the map a hint head reads (112 px: stage 2 8x8x128)."""
    return f"stage{stage}_block{BLOCKS_PER_STAGE}_out"


def has_teacher_projection(model: keras.Model) -> bool:
    """Return whether ``model`` is a distillation model (:func:`wrap_distillation`)."""
    return TEACHER_PROJECTION in {layer.name for layer in model.layers}


def wrap_distillation(
    model: keras.Model,
    num_classes: int,
    teacher_dim: int,
    feature_layer: str = FEATURE_LAYER,
    dropout_rate: float = 0.5,
    hint_stages: Sequence[int] = (),
) -> keras.Model:
    """:func:`wrap_cnn` plus the outputs the distillation losses need.

    The training-only ``teacher_projection`` (linear, no bias) maps the feature to the
    teacher's space for :class:`training.model.distillation.ProjectionCosineLoss`; ``embedding``
    is the feature itself for :class:`training.model.distillation.SimilarityMatrixLoss`. Export
    serves ``feature`` unless told to serve the projection too (``export --embedding-layer``).
    For each of ``hint_stages``, ``stage<N>_projection`` maps that stage's flattened output
    map to the teacher's space as well (a FitNets hint at a middle layer; Romero et al.,
    ICLR 2015), an output of the same name.

    Returns:
        A model with outputs ``{"predictions", "projection", "embedding"}`` and one per
        hint stage.

    Raises:
        ValueError: ``teacher_dim`` < 1, or a hint stage other than
            ``training.config.HINT_STAGES``.
    """
    if teacher_dim < 1:
        raise ValueError(f"teacher_dim must be >= 1, got {teacher_dim}")
    unknown = sorted(set(hint_stages) - set(HINT_STAGES))
    if unknown:
        raise ValueError(f"hint stages must be among {list(HINT_STAGES)}, got {unknown}")
    classifier = wrap_cnn(model, num_classes, feature_layer, dropout_rate)
    features = model.get_layer(feature_layer).output
    projection = layers.Dense(
        teacher_dim, use_bias=False, dtype="float32", name=TEACHER_PROJECTION
    )(features)
    outputs = {
        "predictions": classifier.outputs[0],
        "projection": projection,
        "embedding": features,
    }
    for stage in hint_stages:
        head = stage_hint_head(stage)
        stage_map = model.get_layer(stage_output(stage)).output
        flat = layers.Flatten(name=f"stage{stage}_flatten")(stage_map)
        outputs[head] = layers.Dense(teacher_dim, use_bias=False, dtype="float32", name=head)(flat)
    return keras.Model(model.inputs, outputs, name=f"{model.name}_distill")


def feature_model(model: keras.Model, feature_layer: str = FEATURE_LAYER) -> keras.Model:
    """Return the sub-model from ``model``'s (single) input to ``feature_layer`` (the embedding)."""
    return keras.Model(
        model.inputs[0], model.get_layer(feature_layer).output, name=f"{model.name}_features"
    )


def load_model(path) -> keras.Model:
    """Load a ``.keras`` file of this package (best/final/feature models).

    Importing this module registers ``AMSoftmax`` and ``AMSoftmaxLoss``; loading works
    with plain ``keras.models.load_model`` too once ``training.model.network`` is imported.
    """
    return keras.models.load_model(
        path, custom_objects={"AMSoftmax": AMSoftmax, "AMSoftmaxLoss": AMSoftmaxLoss}
    )
