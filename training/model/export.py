"""The served graph cut out of a training model, and its export: ONNX, SavedModel, metadata.

:func:`embedding_model` joins the served layers, float32, with an optional mirror average;
warm start and open-set validation build the same graph to compare with an export or to
score new people. :func:`export_model` writes it with ``metadata.json``: the graph takes raw
pixel values (0..255, the model's first layer rescales them) and returns L2-normalised
embeddings, so the service only prepares the pixels (``facecore.preprocess.to_model_input``)
and compares embeddings by dot product. :func:`load_checkpoint` reads a checkpoint back.
"""

from __future__ import annotations

import contextlib
import importlib
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from facecore.metadata import EmbeddingSpec, InputSpec, ModelMetadata, Threshold
from training.data.run_info import terms_of_training

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


PLACEHOLDER_THRESHOLD = Threshold(
    cosine=0.5, operating_point="uncalibrated placeholder", calibrated=False
)


CUSTOM_OBJECT_MODULES = ("training.model.layers", "training.model.losses")


def export_model(
    model: Any,
    out_dir: str | Path,
    *,
    name: str,
    version: str,
    preprocess: dict[str, Any],
    training_info: dict[str, Any] | None = None,
    terms: str | None = None,
    threshold: Threshold = PLACEHOLDER_THRESHOLD,
    saved_model: bool = True,
    embedding_layers: Sequence[str] = (FEATURE_LAYER,),
    mirror_average: bool = False,
) -> ModelMetadata:
    """Write ``model.onnx``, ``saved_model/`` and ``metadata.json`` into ``out_dir``.

    Args:
        model: A Keras training model (cut at ``feature``) or feature model.
        out_dir: The export directory; created if missing, files in it are replaced.
        name: Model name for the metadata.
        version: Model version for the metadata.
        preprocess: ``PreprocessConfig.to_dict()`` of the pipeline that made the inputs.
        training_info: Preset, sets, people, images, command and any other facts.
        terms: Data terms text; derived from ``training_info["sets"]`` when None.
        threshold: Verification threshold; an uncalibrated placeholder by default.
        saved_model: Also write the TensorFlow SavedModel.
        embedding_layers: The layers served as the embedding (see :func:`embedding_model`).
        mirror_average: Serve the mean of each image's and its mirror image's embeddings.

    Returns:
        The metadata written.
    """
    embedder = embedding_model(model, embedding_layers, mirror_average)
    height, width, channels = embedder.inputs[0].shape[1:]
    out = Path(out_dir)
    _write_graphs(embedder, out, saved_model)
    info = training_info or {}
    metadata = ModelMetadata(
        name=name,
        version=version,
        git_commit=git_commit(),
        input=InputSpec(size=(height, width), channels=channels, name=INPUT_NAME),
        embedding=EmbeddingSpec(
            dimension=embedder.output[OUTPUT_NAME].shape[-1],
            mirror_averaged=mirror_average,
            layers=tuple(embedding_layers),
        ),
        preprocessing=preprocess,
        threshold=threshold,
        training=info or None,
        terms=terms if terms is not None else terms_of_training(info),
    )
    metadata.save(out / "metadata.json")
    return metadata


def _write_graphs(embedder: Any, out: Path, saved_model: bool) -> None:
    """Write ``model.onnx`` (batch dimension named) and, if asked, ``saved_model/``."""
    import tensorflow as tf

    height, width, channels = embedder.inputs[0].shape[1:]
    spec = tf.TensorSpec([None, height, width, channels], tf.float32, name=INPUT_NAME)
    out.mkdir(parents=True, exist_ok=True)
    embedder.export(str(out / "model.onnx"), format="onnx", input_signature=[spec], verbose=False)
    _name_batch_dimension(out / "model.onnx")
    if saved_model:
        embedder.export(
            str(out / "saved_model"), format="tf_saved_model", input_signature=[spec], verbose=False
        )


def _name_batch_dimension(onnx_path: Path) -> None:
    """Give the dynamic batch axis a readable name ("N") instead of tf2onnx's ``unk__12``."""
    import onnx

    graph_model = onnx.load(str(onnx_path))
    for value in (*graph_model.graph.input, *graph_model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    onnx.save(graph_model, str(onnx_path))


def git_commit() -> str | None:
    """Return the current git commit, or None outside a repository."""
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        )
        return done.stdout.strip()
    return None


def load_checkpoint(path: str | Path) -> Any:
    """Load a Keras checkpoint, registering the project's custom layers and losses first."""
    import keras

    for module_name in CUSTOM_OBJECT_MODULES:
        with contextlib.suppress(ModuleNotFoundError):
            importlib.import_module(module_name)
    return keras.saving.load_model(str(path), compile=False)
