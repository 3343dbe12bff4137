"""The served graph cut out of a training model: its layers joined, float32, mirror average.

:func:`embedding_model` is what ``training export`` writes to ONNX; warm start and open-set
validation build the same graph to compare with an export or to score new people.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

FEATURE_LAYER = "feature"
INPUT_NAME = "image"
OUTPUT_NAME = "embedding"


def embedding_model(
    model: Any, layers: Sequence[str] = (FEATURE_LAYER,), mirror_average: bool = False
) -> Any:
    """Cut the served sub-model out of ``model`` and append L2 normalisation.

    Args:
        model: A Keras training model with the named layers, or a feature model; mixed
            precision is turned back to float32.
        layers: The layers whose outputs are served: ``feature`` (the design's 512-d pooled
            feature), a distillation run's ``teacher_projection``, or several, whose unit
            outputs are concatenated (:func:`joined_layers`).
        mirror_average: Embed each image and its left-right mirror image in one batch and
            return the mean of their unit embeddings (:class:`training.model.layers.MirrorPair`).

    Returns:
        A float32 Keras model mapping raw pixels to ``{"embedding": unit-length vectors}``.

    Raises:
        ValueError: No layers, a layer the model lacks, or a model that does not start by
            rescaling raw pixels.
    """
    import keras

    feature = joined_layers(as_float32(model), layers)
    if not any(isinstance(layer, keras.layers.Rescaling) for layer in feature.layers):
        raise ValueError("the feature model has no Rescaling layer: it would not take raw pixels")
    if not mirror_average:
        normalised = keras.layers.UnitNormalization(name=OUTPUT_NAME)(feature.outputs[0])
        return keras.Model(feature.inputs[0], {OUTPUT_NAME: normalised}, name="embedder")
    from training.model.layers import MirrorMean, MirrorPair

    image = keras.Input(feature.inputs[0].shape[1:], name=INPUT_NAME)
    averaged = MirrorMean(name=OUTPUT_NAME)(feature(MirrorPair(name="mirror_pair")(image)))
    return keras.Model(image, {OUTPUT_NAME: averaged}, name="embedder")


def joined_layers(model: Any, layers: Sequence[str]) -> Any:
    """Return the sub-model from ``model``'s input to ``layers``' outputs, a vector per image.

    One layer is served as it is. Several are each scaled to unit length and concatenated,
    so that once the whole is normalised every layer weighs the same: the cosine of two such
    embeddings is the mean of the layers' cosines.
    """
    import keras

    from training.model.network import feature_model

    if not layers:
        raise ValueError("no embedding layer given")
    names = {each.name for each in model.layers}
    missing = [layer for layer in layers if layer not in names]
    if missing == [FEATURE_LAYER] == list(layers):
        return model  # already a feature model
    if missing:
        raise ValueError(f"the model has no layer {missing[0]!r}")
    if len(layers) == 1:
        return feature_model(model, layers[0])
    units = [
        keras.layers.UnitNormalization(name=f"{layer}_unit")(model.get_layer(layer).output)
        for layer in layers
    ]
    joined = keras.layers.Concatenate(name="joined_layers")(units)
    return keras.Model(model.inputs[0], joined, name="joined_features")


def as_float32(model: Any) -> Any:
    """Return ``model`` computing in float32: a mixed-precision model is rebuilt, same weights.

    Served graphs run on CPUs too, where float16 is slow and loses precision.
    """
    import keras

    if all(layer.dtype_policy.name == "float32" for layer in model.layers):
        return model

    def rebuild(layer: Any) -> Any:
        return layer.__class__.from_config({**layer.get_config(), "dtype": "float32"})

    clone = keras.models.clone_model(model, clone_function=rebuild)
    clone.set_weights(model.get_weights())
    return clone
